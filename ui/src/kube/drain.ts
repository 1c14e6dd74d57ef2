// Draining a node the way `kubectl drain` does: which of its pods are
// skipped, which refuse the drain, and the eviction of the rest (retried
// while a PodDisruptionBudget says 429).
import { ApiError, kubeApi, type KubeList, type KubeObject } from '@/api'

export interface DrainOptions {
  ignoreDaemonSets: boolean
  deleteEmptyDir: boolean
  /** Also evict pods no controller manages (they are not recreated). */
  force: boolean
  /** Seconds; negative means each pod's own terminationGracePeriodSeconds. */
  gracePeriod: number
}

export type PodVerdict = 'evict' | 'mirror' | 'daemonset' | 'emptyDir' | 'unmanaged' | 'daemonsetRefused'

export interface DrainPod {
  namespace: string
  name: string
  uid?: string
  verdict: PodVerdict
  /** pending, evicting, retrying, evicted, gone, failed, skipped, refused */
  state: string
  message: string
}

const controller = (p: KubeObject) => (p.metadata.ownerReferences ?? []).find((r) => r.controller)
const finished = (p: KubeObject) => ['Succeeded', 'Failed'].includes(p.status?.phase)

/** classify tells what a drain does with one pod under the options. */
export function classify(p: KubeObject, o: DrainOptions): PodVerdict {
  if (p.metadata.annotations?.['kubernetes.io/config.mirror']) return 'mirror'
  const owner = controller(p)
  if (owner?.kind === 'DaemonSet') return o.ignoreDaemonSets ? 'daemonset' : 'daemonsetRefused'
  if (!owner && !finished(p) && !o.force) return 'unmanaged'
  const emptyDir = ((p.spec?.volumes ?? []) as { emptyDir?: unknown }[]).some((v) => v.emptyDir)
  if (emptyDir && !o.deleteEmptyDir && !finished(p)) return 'emptyDir'
  return 'evict'
}

/** isRefusal tells the verdicts that stop a drain before it evicts anything. */
export const isRefusal = (v: PodVerdict) => v === 'emptyDir' || v === 'unmanaged' || v === 'daemonsetRefused'

/** nodePods lists the pods bound to a node, live through the proxy. */
export async function nodePods(clusterId: number, node: string): Promise<KubeObject[]> {
  const list = await kubeApi.get<KubeList>(clusterId, '/api/v1/pods', { fieldSelector: `spec.nodeName=${node}` })
  return (list.items ?? []).sort((a, b) => `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`))
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const podPath = (p: DrainPod) => `/api/v1/namespaces/${encodeURIComponent(p.namespace)}/pods/${encodeURIComponent(p.name)}`

/**
 * evict posts the pod's Eviction; a 429 (a PodDisruptionBudget forbids it for
 * now) is retried with backoff, `attempts` times in all. A pod already gone counts as evicted.
 */
export async function evict(clusterId: number, p: DrainPod, gracePeriod: number, attempts = 5, onRetry?: (n: number) => void): Promise<void> {
  const body: Record<string, unknown> = {
    apiVersion: 'policy/v1',
    kind: 'Eviction',
    metadata: { name: p.name, namespace: p.namespace },
  }
  if (gracePeriod >= 0) body.deleteOptions = { gracePeriodSeconds: gracePeriod }
  for (let i = 1; ; i++) {
    try {
      await kubeApi.post(clusterId, `${podPath(p)}/eviction`, body)
      return
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return
      if (!(err instanceof ApiError) || err.status !== 429 || i >= attempts) throw err
      onRetry?.(i)
      await sleep(Math.min(err.retryAfter ? err.retryAfter * 1000 : 1000 * 2 ** (i - 1), 10_000))
    }
  }
}

/** waitGone polls until the pod is deleted (or replaced by another of the same name), up to timeoutMs. */
export async function waitGone(clusterId: number, p: DrainPod, timeoutMs: number): Promise<boolean> {
  const uid = p.uid
  const end = Date.now() + timeoutMs
  while (Date.now() < end) {
    try {
      const cur = await kubeApi.get(clusterId, podPath(p))
      if (uid && cur.metadata.uid !== uid) return true
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return true
    }
    await sleep(1000)
  }
  return false
}
