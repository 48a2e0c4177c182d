// The resident's accessibility settings, kept on the device (长辈模式 is one switch).
import { reactive, watch } from 'vue'

const KEY = 'servicemap.settings'

function stored() {
  try {
    return { elder: false, ...JSON.parse(localStorage.getItem(KEY) || '{}') }
  } catch {
    return { elder: false }
  }
}

export const settings = reactive(stored())

export function applySettings() {
  document.documentElement.classList.toggle('elder', settings.elder)
}

watch(settings, () => {
  localStorage.setItem(KEY, JSON.stringify(settings))
  applySettings()
})
