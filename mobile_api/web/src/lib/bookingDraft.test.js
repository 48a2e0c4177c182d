import { beforeEach, describe, expect, it } from 'vitest'
import {
  answersFor, beginDraft, clearDraft, completeDraft, keyFor, loadDraft, rememberAnswers, releaseSlot, rememberSlot,
} from './bookingDraft.js'

class MemoryStorage {
  constructor() { this.data = new Map() }
  getItem(k) { return this.data.has(k) ? this.data.get(k) : null }
  setItem(k, v) { this.data.set(k, String(v)) }
  removeItem(k) { this.data.delete(k) }
}

let storage
let counter
const random = () => `key-${++counter}`
const intent = { placeId: '1', serviceItemId: '17', slotId: '40' }

beforeEach(() => {
  storage = new MemoryStorage()
  counter = 0
})

describe('the idempotency key of a booking', () => {
  it('is the same for a retry and a double tap', () => {
    const first = keyFor(storage, intent, random)
    expect(keyFor(storage, intent, random)).toBe(first)
    expect(keyFor(storage, intent, random)).toBe(first)
  })

  it('survives a page reload (a new storage reader over the same data)', () => {
    const first = keyFor(storage, intent, random)
    const reloaded = new MemoryStorage()
    reloaded.data = new Map(storage.data)
    expect(keyFor(reloaded, intent, random)).toBe(first)
  })

  it('changes when another slot is chosen or after a refusal', () => {
    const first = keyFor(storage, intent, random)
    expect(keyFor(storage, { ...intent, slotId: '41' }, random)).not.toBe(first)
    const second = keyFor(storage, intent, random)
    releaseSlot(storage)
    expect(keyFor(storage, intent, random)).not.toBe(second)
  })

  it('is new for the next booking once one succeeded', () => {
    const first = keyFor(storage, intent, random)
    completeDraft(storage, { id: '9', code: 'ABCD2345' })
    expect(loadDraft(storage).appointment.id).toBe('9')
    expect(keyFor(storage, intent, random)).not.toBe(first)
  })

  it('keeps the draft when the same place and item are opened again, not for another item', () => {
    keyFor(storage, intent, random)
    expect(beginDraft(storage, { placeId: '1', serviceItemId: '17' }).slotId).toBe('40')
    expect(beginDraft(storage, { placeId: '1', serviceItemId: '18' }).slotId).toBeNull()
  })

  it('is forgotten on clear, and a broken stored value is ignored', () => {
    keyFor(storage, intent, random)
    clearDraft(storage)
    expect(loadDraft(storage)).toBeNull()
    storage.setItem('servicemap.bookingDraft', '{not json')
    expect(loadDraft(storage)).toBeNull()
  })

  it('remembers the chosen slot before confirming, and keeps the key for that slot', () => {
    beginDraft(storage, { placeId: '1', serviceItemId: '17' })
    rememberSlot(storage, intent)
    expect(loadDraft(storage).slotId).toBe('40')
    const key = keyFor(storage, intent, random)
    rememberSlot(storage, intent)
    expect(keyFor(storage, intent, random)).toBe(key)
    rememberSlot(storage, { ...intent, slotId: '41' })
    expect(loadDraft(storage).key).toBeNull()
  })
})

describe('the guide answers sent with a booking', () => {
  const spouse = [{ questionId: 'spouse', answer: true }]

  it('are remembered per item, none when the guide was not answered', () => {
    expect(answersFor(storage, '17')).toBe(null)
    rememberAnswers(storage, '17', spouse)
    expect(answersFor(storage, '17')).toEqual(spouse)
    expect(answersFor(storage, '18')).toBe(null)
    rememberAnswers(storage, '17', [])
    expect(answersFor(storage, '17')).toBe(null)
  })

  it('keep the key for a retry with the same answers, and change it with other answers', () => {
    const first = keyFor(storage, { ...intent, answers: spouse }, random)
    expect(keyFor(storage, { ...intent, answers: spouse }, random)).toBe(first)
    expect(loadDraft(storage).answers).toEqual(spouse)
    expect(keyFor(storage, { ...intent, answers: null }, random)).not.toBe(first)
  })
})
