// A list loaded page by page by cursor (van-list's infinite scroll): `fetchPage(after)` returns
// { nodes, pageInfo }. restart() starts over (new search or filters); an answer that arrives
// after a restart is dropped.
import { ref } from 'vue'

export function usePaged(fetchPage) {
  const items = ref([])
  const cursor = ref(null)
  const finished = ref(false)
  const loading = ref(false)
  const error = ref(null)
  let generation = 0

  async function load() {
    const mine = generation
    loading.value = true
    error.value = null
    try {
      const { nodes, pageInfo } = await fetchPage(cursor.value)
      if (mine !== generation) return
      items.value.push(...nodes)
      cursor.value = pageInfo.endCursor
      finished.value = !pageInfo.hasNextPage
    } catch (caught) {
      if (mine === generation) error.value = caught
    } finally {
      if (mine === generation) loading.value = false
    }
  }

  function restart() {
    generation += 1
    items.value = []
    cursor.value = null
    finished.value = false
    loading.value = false
    return load()
  }

  return { items, finished, loading, error, load, restart }
}
