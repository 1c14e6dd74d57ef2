// Live updates of runs, stages, jobs and spacelets from GET /api/v1/events (Server-Sent Events).
//
// An event only says *that* something changed (kind, id, status): the page re-fetches what it
// shows (debounced), so what is on screen is always the server's view. The browser's EventSource
// reconnects by itself and resumes with Last-Event-ID; when the server cannot resume it sends
// `reset` and closes, and the page reloads and subscribes afresh. No polling anywhere.
import { onBeforeUnmount, ref, watch } from 'vue'
import { API_BASE, buildQuery } from '@/api/client'

/** One live update, as the server sends it. */
export interface LiveEvent {
  id: string
  kind: 'run' | 'stage' | 'job' | 'spacelet'
  object_id: number
  run_id?: number
  pipeline_id?: number
  workspace_id?: number
  status?: string
  time: string
}

export type LiveState = 'off' | 'connecting' | 'live' | 'failed'

const KINDS = ['run', 'stage', 'job', 'spacelet'] as const

/**
 * useLiveEvents follows the topics (e.g. "run:12", "pipeline:3", "workspace:1", "spacelets")
 * while the component lives. onEvent gets every event; onChange runs at most once per
 * debounceMs after events, and after a reset.
 */
export function useLiveEvents(
  topics: () => string | null,
  onChange: () => void,
  onEvent?: (ev: LiveEvent) => void,
  debounceMs = 150,
) {
  const state = ref<LiveState>('off')
  let source: EventSource | null = null
  let timer: ReturnType<typeof setTimeout> | undefined
  let retry: ReturnType<typeof setTimeout> | undefined
  let failures = 0

  function changed(): void {
    if (timer !== undefined) return
    timer = setTimeout(() => {
      timer = undefined
      onChange()
    }, debounceMs)
  }

  function close(): void {
    source?.close()
    source = null
    clearTimeout(retry)
    retry = undefined
  }

  function open(t: string): void {
    close()
    state.value = 'connecting'
    const es = new EventSource(`${API_BASE}/events${buildQuery({ topics: t })}`)
    source = es
    es.onopen = () => {
      failures = 0
      state.value = 'live'
    }
    for (const kind of KINDS) {
      es.addEventListener(kind, (msg) => {
        try {
          onEvent?.(JSON.parse((msg as MessageEvent<string>).data) as LiveEvent)
        } catch {
          // A malformed event still means something changed.
        }
        changed()
      })
    }
    // The server could not resume this stream: reload, then start a fresh one.
    es.addEventListener('reset', () => {
      changed()
      open(t)
    })
    es.onerror = () => {
      if (source !== es) return
      if (es.readyState === EventSource.CONNECTING) {
        state.value = 'connecting'
        return
      }
      // Closed for good (an error status): try again later, and reload meanwhile.
      state.value = 'failed'
      failures++
      es.close()
      retry = setTimeout(() => open(t), Math.min(30_000, 1000 * 2 ** Math.min(failures, 5)))
      changed()
    }
  }

  watch(
    topics,
    (t) => {
      close()
      state.value = 'off'
      if (t) open(t)
    },
    { immediate: true },
  )
  onBeforeUnmount(() => {
    close()
    clearTimeout(timer)
  })
  return { state }
}
