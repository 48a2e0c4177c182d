// The booking in progress, kept on the device: the idempotency key is made once per booking
// intent (a slot and an item) and survives retries, a double tap and a page reload, so the
// server returns the same appointment instead of booking twice.
const KEY = 'servicemap.bookingDraft'

function newKey(random) {
  if (random) return random()
  if (globalThis.crypto?.randomUUID) return globalThis.crypto.randomUUID()
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`
}

export function loadDraft(storage) {
  try {
    return JSON.parse(storage.getItem(KEY) || 'null')
  } catch {
    return null
  }
}

export function saveDraft(storage, draft) {
  if (draft) storage.setItem(KEY, JSON.stringify(draft))
  else storage.removeItem(KEY)
  return draft
}

// Start or continue a booking at a place for an item (the screen before a slot is chosen).
export function beginDraft(storage, { placeId, serviceItemId }) {
  const current = loadDraft(storage)
  if (current && current.placeId === placeId && current.serviceItemId === serviceItemId) {
    return current
  }
  return saveDraft(storage, { placeId, serviceItemId, slotId: null, key: null, appointment: null })
}

// The key to send for this slot: the same one as before if the slot (and the guide answers
// sent with it: they are part of the request, the server refuses a key resent with others)
// did not change.
export function keyFor(storage, { placeId, serviceItemId, slotId, answers = null }, random) {
  const current = loadDraft(storage)
  if (current && current.placeId === placeId && current.serviceItemId === serviceItemId &&
      current.slotId === slotId && current.key && !current.appointment &&
      JSON.stringify(current.answers || null) === JSON.stringify(answers)) {
    return current.key
  }
  const draft = { placeId, serviceItemId, slotId, answers, key: newKey(random), appointment: null }
  saveDraft(storage, draft)
  return draft.key
}

// The server answered with an appointment: keep it (a reload shows the result, not a form).
export function completeDraft(storage, appointment) {
  const current = loadDraft(storage) || {}
  return saveDraft(storage, { ...current, appointment })
}

// A refusal that needs another choice (slot full …): the next slot gets a new key.
export function releaseSlot(storage) {
  const current = loadDraft(storage)
  if (current) saveDraft(storage, { ...current, slotId: null, key: null })
}

export function clearDraft(storage) {
  saveDraft(storage, null)
}

// The resident picked a slot (not yet confirmed): kept, so a reload or a sign-in on the way
// comes back to it. Another slot than the one a key was made for drops that key.
export function rememberSlot(storage, { placeId, serviceItemId, slotId }) {
  const current = loadDraft(storage)
  if (!current || current.placeId !== placeId || current.serviceItemId !== serviceItemId ||
      current.appointment || current.slotId === slotId) return current
  return saveDraft(storage, { ...current, slotId, key: null })
}

// The resident's answers to an item's guide questions (Guide.vue), kept on the device so that
// booking the item afterwards sends them: the window then sees the resident's materials list.
const ANSWERS = 'servicemap.guideAnswers'

export function rememberAnswers(storage, serviceItemId, answers) {
  let all = {}
  try { all = JSON.parse(storage.getItem(ANSWERS) || '{}') } catch { all = {} }
  all[serviceItemId] = answers
  storage.setItem(ANSWERS, JSON.stringify(all))
}

// The answers to send with a booking of the item, in question order; null when none.
export function answersFor(storage, serviceItemId) {
  try {
    const list = JSON.parse(storage.getItem(ANSWERS) || '{}')[serviceItemId]
    return Array.isArray(list) && list.length ? list : null
  } catch {
    return null
  }
}
