// How Kubernetes objects read in tables: ages, pod and node status the way
// kubectl shows them, label selectors, sizes.
import type { KubeObject } from '@/api'

/** formatAge renders the time since an RFC 3339 timestamp like kubectl: 45s, 12m, 5h, 3d. */
export function formatAge(since?: string, now = Date.now()): string {
  if (!since) return ''
  const t = Date.parse(since)
  if (Number.isNaN(t)) return ''
  const s = Math.max(0, Math.floor((now - t) / 1000))
  if (s < 120) return `${s}s`
  const m = Math.floor(s / 60)
  if (m < 120) return `${m}m`
  const h = Math.floor(m / 60)
  if (h < 48) return `${h}h`
  const d = Math.floor(h / 24)
  return d < 730 ? `${d}d` : `${Math.floor(d / 365)}y`
}

/** The type of an Element Plus tag. */
export type Tone = 'success' | 'warning' | 'danger' | 'info' | 'primary'

interface ContainerStatus {
  name: string
  ready?: boolean
  restartCount?: number
  state?: { waiting?: { reason?: string }; terminated?: { reason?: string; exitCode?: number }; running?: object }
}

/** podStatus is the one-word status kubectl prints for a pod. */
export function podStatus(pod: KubeObject): string {
  if (pod.metadata.deletionTimestamp) return 'Terminating'
  const status = pod.status ?? {}
  let reason: string = status.reason || status.phase || 'Unknown'
  const init: ContainerStatus[] = status.initContainerStatuses ?? []
  for (const c of init) {
    const w = c.state?.waiting?.reason
    const term = c.state?.terminated
    if (term && term.exitCode === 0) continue
    if (w && w !== 'PodInitializing') return `Init:${w}`
    if (term) return `Init:${term.reason || 'Error'}`
    return `Init:0/${init.length}`
  }
  for (const c of (status.containerStatuses ?? []) as ContainerStatus[]) {
    if (c.state?.waiting?.reason) reason = c.state.waiting.reason
    else if (c.state?.terminated?.reason && !c.ready) reason = c.state.terminated.reason
  }
  return reason
}

export function podTone(status: string): Tone {
  if (status === 'Running' || status === 'Succeeded' || status === 'Completed') return 'success'
  if (status === 'Pending' || status.startsWith('Init:') || status === 'ContainerCreating' || status === 'Terminating') return 'warning'
  if (status === 'Unknown') return 'info'
  return 'danger'
}

/** podReady is "ready/total" containers. */
export function podReady(pod: KubeObject): string {
  const statuses: ContainerStatus[] = pod.status?.containerStatuses ?? []
  const total = (pod.spec?.containers ?? []).length || statuses.length
  return `${statuses.filter((c) => c.ready).length}/${total}`
}

export function podRestarts(pod: KubeObject): number {
  return ((pod.status?.containerStatuses ?? []) as ContainerStatus[]).reduce((n, c) => n + (c.restartCount ?? 0), 0)
}

/** condition returns the status of a condition type ("True", "False", "Unknown" or undefined). */
export function condition(obj: KubeObject, type: string): string | undefined {
  const list: { type: string; status: string }[] = obj.status?.conditions ?? []
  return list.find((c) => c.type === type)?.status
}

/** nodeStatus reads like kubectl: "Ready", "NotReady", plus ",SchedulingDisabled" when cordoned. */
export function nodeStatus(node: KubeObject): string {
  const ready = condition(node, 'Ready')
  const base = ready === 'True' ? 'Ready' : ready === 'False' ? 'NotReady' : 'Unknown'
  return node.spec?.unschedulable ? `${base},SchedulingDisabled` : base
}

export function nodeRoles(node: KubeObject): string {
  const roles = Object.keys(node.metadata.labels ?? {})
    .filter((l) => l.startsWith('node-role.kubernetes.io/'))
    .map((l) => l.slice('node-role.kubernetes.io/'.length))
  return roles.join(',') || '<none>'
}

interface Selector {
  matchLabels?: Record<string, string>
  matchExpressions?: { key: string; operator: string; values?: string[] }[]
}

/** selectorString turns a label selector (or a plain map, as Services have) into its query form. */
export function selectorString(sel?: Selector | Record<string, string>): string {
  if (!sel) return ''
  const isStructured = 'matchLabels' in sel || 'matchExpressions' in sel
  const labels = (isStructured ? (sel as Selector).matchLabels : (sel as Record<string, string>)) ?? {}
  const parts = Object.entries(labels).map(([k, v]) => `${k}=${v}`)
  for (const e of (isStructured ? (sel as Selector).matchExpressions : undefined) ?? []) {
    const op = e.operator
    if (op === 'In' || op === 'NotIn') parts.push(`${e.key} ${op.toLowerCase()} (${(e.values ?? []).join(',')})`)
    else if (op === 'Exists') parts.push(e.key)
    else if (op === 'DoesNotExist') parts.push(`!${e.key}`)
  }
  return parts.join(',')
}

/** formatBytes renders bytes in binary units: 15.6 GiB. */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB']
  let i = 0
  let v = n
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return `${v >= 100 || i === 0 ? Math.round(v) : v.toFixed(1)} ${units[i]}`
}

/** formatCores renders CPU cores without needless decimals: 4, 3.5, 0.25. */
export function formatCores(n: number): string {
  return String(Math.round(n * 100) / 100)
}

/** A readable summary of a map: "a=1, b=2". */
export function mapText(map?: Record<string, string>): string {
  return Object.entries(map ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(', ')
}
