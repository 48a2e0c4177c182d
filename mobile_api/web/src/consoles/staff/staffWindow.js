// The window a clerk works at: one of the windows they are granted (ConsoleShell's grant
// scopes are window ids), remembered on the device for the next visit. Shared by the screens.
import { computed, inject, ref, watch } from 'vue'
import { gql } from '../../lib/api.js'
import './operations.js'

const KEY = 'servicemap.staffWindow'
const windows = ref([])
const chosenId = ref(localStorage.getItem(KEY))
let loadedFor = null

export function useStaffWindow() {
  const grants = inject('consoleGrants')
  const problem = ref(null)

  async function load() {
    const ids = [...(grants?.value?.scopes || [])]
    const key = ids.join(',')
    if (loadedFor === key) return
    problem.value = null
    try {
      const answers = await Promise.all(ids.map((id) => gql('StaffWindow', { id }, { auth: true })))
      windows.value = answers.map((data) => data.window).filter(Boolean)
      loadedFor = key
      if (!windows.value.some((w) => w.id === chosenId.value)) choose(windows.value[0]?.id || null)
    } catch (error) {
      problem.value = error
    }
  }

  function choose(id) {
    chosenId.value = id
    if (id) localStorage.setItem(KEY, id)
    else localStorage.removeItem(KEY)
  }

  watch(() => grants?.value?.scopes?.join(','), load, { immediate: true })

  return {
    windows,
    // only a window of the clerk's grants (a stale or edited choice on the device asks nothing)
    windowId: computed(() => (windows.value.some((w) => w.id === chosenId.value) ? chosenId.value : null)),
    current: computed(() => windows.value.find((w) => w.id === chosenId.value) || null),
    choose,
    problem,
  }
}

// Today in Beijing as YYYY-MM-DD (the API's business days are Beijing dates).
export function beijingDate(now = new Date(), plusDays = 0) {
  const shifted = new Date(now.getTime() + 8 * 3600_000 + plusDays * 86_400_000)
  return shifted.toISOString().slice(0, 10)
}

export const WEEKDAY_NAMES = ['', '周一', '周二', '周三', '周四', '周五', '周六', '周日']
export const FORM_NAMES = { ORIGINAL: '原件', COPY: '复印件', ORIGINAL_AND_COPY: '原件和复印件', ELECTRONIC: '电子材料' }

// A payload's first refusal in words: the API's own Chinese message (it names the slot, the
// count …), else the app's words for its code.
export function refusalText(errors, fallback) {
  const [first] = errors || []
  return first ? (first.message || fallback(first.code)) : null
}
