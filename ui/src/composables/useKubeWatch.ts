// Live updates by Kubernetes watch through the proxy.
//
// The watch only says *that* something changed: the caller re-fetches its
// list (debounced) instead of patching it locally, which keeps filtering,
// sorting and paging exactly the server's. A watch that ends (the API server
// closes them after a few minutes) is resumed from the last resourceVersion
// seen; an expired one (410) asks the caller to reload and starts again from
// the list's new resourceVersion.
import { onBeforeUnmount, ref, watch } from 'vue'
import { ApiError, kubeApi, readLines, type WatchEvent } from '@/api'
import type { Query } from '@/api/client'

export interface WatchTarget {
  clusterId: number
  /** The Kubernetes collection path, e.g. /api/v1/namespaces/ns/pods. */
  path: string
  /** Where to start: the resourceVersion of the list on screen. */
  resourceVersion?: string
  /** Extra query (labelSelector, fieldSelector). */
  query?: Query
}

export type WatchState = 'off' | 'connecting' | 'live' | 'failed'

export function useKubeWatch(source: () => WatchTarget | null, onChange: () => void, debounceMs = 400) {
  const state = ref<WatchState>('off')
  let controller: AbortController | null = null
  let timer: ReturnType<typeof setTimeout> | undefined

  // At most one re-fetch per debounceMs, and always one after the last change:
  // a busy cluster (changes every few ms) must not postpone it forever.
  function changed(): void {
    if (timer !== undefined) return
    timer = setTimeout(() => {
      timer = undefined
      onChange()
    }, debounceMs)
  }

  const sleep = (ms: number, signal: AbortSignal) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms)
      signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true })
    })

  async function run(target: WatchTarget, signal: AbortSignal): Promise<void> {
    let rv: string | undefined = target.resourceVersion
    let failures = 0
    while (!signal.aborted) {
      // After an expiry, start from whatever the (reloaded) list says now.
      rv ??= source()?.resourceVersion
      state.value = 'connecting'
      let expired = false
      try {
        const query: Query = { ...target.query, watch: 1, allowWatchBookmarks: true, resourceVersion: rv }
        const res = await kubeApi.stream(target.clusterId, target.path, query, signal)
        state.value = 'live'
        failures = 0
        await readLines(res, (line) => {
          if (!line.trim()) return
          let ev: WatchEvent
          try {
            ev = JSON.parse(line) as WatchEvent
          } catch {
            return
          }
          if (ev.type === 'ERROR') {
            expired = true
            return
          }
          rv = ev.object?.metadata?.resourceVersion ?? rv
          if (ev.type !== 'BOOKMARK') changed()
        })
      } catch (err) {
        if (signal.aborted) return
        // Not allowed or not there: retrying will not help.
        if (err instanceof ApiError && (err.status === 403 || err.status === 404 || err.status === 401)) {
          state.value = 'failed'
          return
        }
        failures++
      }
      if (signal.aborted) return
      if (expired) {
        rv = undefined
        changed()
        failures++
      }
      state.value = 'connecting'
      await sleep(Math.min(30_000, failures === 0 ? 200 : 1000 * 2 ** Math.min(failures, 5)), signal)
    }
  }

  function stop(): void {
    controller?.abort()
    controller = null
    clearTimeout(timer)
    timer = undefined
    state.value = 'off'
  }

  // Restart whenever what is watched changes (not when only the list's resourceVersion moves on).
  const key = () => {
    const t = source()
    return t ? JSON.stringify([t.clusterId, t.path, t.query ?? {}, !!t.resourceVersion]) : ''
  }
  watch(
    key,
    () => {
      stop()
      const target = source()
      if (!target || !target.resourceVersion) return
      controller = new AbortController()
      void run(target, controller.signal)
    },
    { immediate: true },
  )
  onBeforeUnmount(stop)

  return { state, stop }
}
