// The Kubernetes API of one cluster, reached through KubeSpace's proxy
// (`/api/v1/clusters/{id}/proxy/<kubernetes path>`): single objects, patches,
// watches, logs and the exec websocket. Lists for pages come from the cached
// `/resources` endpoint instead (see clustersApi.resources).
import { http, stream, API_BASE, type Query } from './client'
import type { KindInfo } from './types'

/** The parts of a Kubernetes object the console reads generically. */
export interface ObjectMeta {
  name: string
  namespace?: string
  uid?: string
  resourceVersion?: string
  creationTimestamp?: string
  deletionTimestamp?: string
  labels?: Record<string, string>
  annotations?: Record<string, string>
  ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean }[]
  managedFields?: unknown
  generation?: number
}

/** Any Kubernetes object; kind-specific code reads spec/status loosely. */
export interface KubeObject {
  apiVersion?: string
  kind?: string
  metadata: ObjectMeta
  // Loosely typed on purpose: every kind has its own spec and status.
  spec?: any
  status?: any
  [key: string]: unknown
}

export interface KubeList<T = KubeObject> {
  metadata: { resourceVersion?: string; continue?: string }
  items: T[]
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR'
export interface WatchEvent {
  type: WatchEventType
  object: KubeObject & { code?: number; message?: string }
}

/** What a path needs to know about a kind. */
export type KindRef = Pick<KindInfo, 'group' | 'version' | 'resource' | 'namespaced'>

/** collectionPath is the Kubernetes path of a kind's objects, in one namespace or all. */
export function collectionPath(kind: KindRef, namespace?: string): string {
  const base = kind.group ? `/apis/${kind.group}/${kind.version}` : `/api/${kind.version}`
  const ns = kind.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : ''
  return `${base}${ns}/${kind.resource}`
}

/** objectPath is the Kubernetes path of one object. */
export function objectPath(kind: KindRef, name: string, namespace?: string): string {
  return `${collectionPath(kind, namespace)}/${encodeURIComponent(name)}`
}

const proxyBase = (clusterId: number) => `/clusters/${clusterId}/proxy`

export const MERGE_PATCH = 'application/merge-patch+json'
export const STRATEGIC_PATCH = 'application/strategic-merge-patch+json'
export const JSON_PATCH = 'application/json-patch+json'

export const kubeApi = {
  get: <T = KubeObject>(clusterId: number, path: string, query?: Query) =>
    http.get<T>(`${proxyBase(clusterId)}${path}`, query),
  put: <T = KubeObject>(clusterId: number, path: string, body: unknown) =>
    http.put<T>(`${proxyBase(clusterId)}${path}`, body),
  post: <T = KubeObject>(clusterId: number, path: string, body: unknown) =>
    http.post<T>(`${proxyBase(clusterId)}${path}`, body),
  patch: <T = KubeObject>(clusterId: number, path: string, body: unknown, contentType = MERGE_PATCH) =>
    http.patch<T>(`${proxyBase(clusterId)}${path}`, body, contentType),
  /** del deletes one object, or a collection when the query holds a labelSelector (deletecollection). */
  del: (clusterId: number, path: string, query?: Query) => http.del(`${proxyBase(clusterId)}${path}`, query),
  /** stream opens a watch or a followed log; read the response body. */
  stream: (clusterId: number, path: string, query: Query, signal: AbortSignal) =>
    stream(`${proxyBase(clusterId)}${path}`, query, signal),
}

/** execURL is the websocket address of an interactive shell in a pod's container. */
export function execURL(clusterId: number, namespace: string, pod: string, container: string, command: string[]): string {
  const params = new URLSearchParams({ container, stdin: 'true', stdout: 'true', tty: 'true' })
  for (const c of command) params.append('command', c)
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:'
  const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod)}/exec`
  return `${scheme}//${location.host}${API_BASE}${proxyBase(clusterId)}${path}?${params}`
}

/**
 * readLines reads a streamed body line by line until it ends or the signal
 * aborts; a partial last line is delivered at the end.
 */
export async function readLines(res: Response, onLine: (line: string) => void): Promise<void> {
  if (!res.body) return
  const reader = res.body.getReader()
  const decoder = new TextDecoder()
  let rest = ''
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      rest += decoder.decode(value, { stream: true })
      const lines = rest.split('\n')
      rest = lines.pop() ?? ''
      for (const line of lines) onLine(line)
    }
    rest += decoder.decode()
    if (rest) onLine(rest)
  } finally {
    reader.releaseLock()
  }
}
