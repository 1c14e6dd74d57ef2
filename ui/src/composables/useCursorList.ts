// Cursor-paged lists (`limit` + opaque `continue`), the way every list endpoint pages.
//
// Pages already visited are remembered by their cursors, so "previous" goes
// back without the server supporting backward cursors.
import { ref, shallowRef } from 'vue'
import { ApiError, type List } from '@/api'
import type { Query } from '@/api/client'

export function useCursorList<T>(fetchPage: (query: Query) => Promise<List<T>>, pageSize = 20) {
  const items = shallowRef<T[]>([])
  const total = ref(0)
  const loading = ref(false)
  const limit = ref(pageSize)
  const page = ref(0)
  const hasNext = ref(false)
  /** The server's message when the list itself was refused (403) or failed. */
  const error = ref<ApiError | null>(null)
  let cursors: string[] = [''] // cursors[i] fetches page i
  let seq = 0

  async function load(): Promise<void> {
    const mine = ++seq
    loading.value = true
    try {
      const res = await fetchPage({ limit: limit.value, continue: cursors[page.value] })
      if (mine !== seq) return
      items.value = res.items ?? []
      total.value = res.total ?? items.value.length
      const next = res.continue ?? ''
      hasNext.value = next !== ''
      cursors = cursors.slice(0, page.value + 1)
      if (hasNext.value) cursors.push(next)
      error.value = null
    } catch (err) {
      if (mine !== seq) return
      items.value = []
      total.value = 0
      hasNext.value = false
      error.value = err instanceof ApiError ? err : new ApiError(0, 'error', String(err))
    } finally {
      if (mine === seq) loading.value = false
    }
  }

  /** reload restarts from the first page (after a filter change). */
  function reload(): Promise<void> {
    page.value = 0
    cursors = ['']
    return load()
  }

  function next(): Promise<void> {
    if (!hasNext.value) return Promise.resolve()
    page.value += 1
    return load()
  }

  function prev(): Promise<void> {
    if (page.value === 0) return Promise.resolve()
    page.value -= 1
    return load()
  }

  function setLimit(n: number): Promise<void> {
    limit.value = n
    return reload()
  }

  return { items, total, loading, limit, page, hasNext, error, load, reload, next, prev, setLimit }
}

/** CursorList is what useCursorList returns (CursorPager takes one). */
export type CursorList<T = unknown> = ReturnType<typeof useCursorList<T>>
