// The kind-specific columns of the generic list page (name, namespace and age
// are always there). A kind without an entry — every custom resource — shows
// just those three. Labels are i18n keys under kube.col.
import type { KubeObject } from '@/api'
import { condition, formatAge, mapText, nodeRoles, nodeStatus, podReady, podRestarts, podStatus, podTone, type Tone } from './format'

/** A cell: plain text, or a tag with a tone and an optional tooltip. */
export interface Cell {
  text: string
  tone?: Tone
  tip?: string
}

export interface Column {
  key: string
  width?: number
  mono?: boolean
  value: (o: KubeObject) => string | number | Cell
}

const num = (v: unknown) => (typeof v === 'number' ? v : 0)
const ratio = (ready: unknown, want: unknown): Cell => {
  const r = num(ready)
  const w = num(want)
  return { text: `${r}/${w}`, tone: r >= w ? 'success' : 'warning' }
}
const col = (key: string, value: Column['value'], width?: number, mono?: boolean): Column => ({ key, value, width, mono })

function images(o: KubeObject): string {
  const spec = o.spec?.template?.spec ?? o.spec?.jobTemplate?.spec?.template?.spec ?? o.spec ?? {}
  return ((spec.containers ?? []) as { image: string }[]).map((c) => c.image).join(', ')
}

function servicePorts(o: KubeObject): string {
  return ((o.spec?.ports ?? []) as { port: number; protocol?: string; nodePort?: number }[])
    .map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol ?? 'TCP'}`)
    .join(', ')
}

function jobStatus(o: KubeObject): Cell {
  if (condition(o, 'Complete') === 'True') return { text: 'Complete', tone: 'success' }
  if (condition(o, 'Failed') === 'True') return { text: 'Failed', tone: 'danger' }
  if (o.spec?.suspend) return { text: 'Suspended', tone: 'info' }
  return { text: 'Running', tone: 'warning' }
}

function phase(o: KubeObject, good: string[]): Cell {
  const p: string = o.status?.phase ?? 'Unknown'
  return { text: p, tone: good.includes(p) ? 'success' : ['Pending', 'Available', 'Terminating', 'Released'].includes(p) ? 'warning' : 'danger' }
}

const roleRef = (o: KubeObject) => (o.roleRef ? `${(o.roleRef as { kind: string }).kind}/${(o.roleRef as { name: string }).name}` : '')
const subjects = (o: KubeObject) =>
  ((o.subjects as { kind: string; name: string }[] | undefined) ?? []).map((s) => `${s.kind}/${s.name}`).join(', ')
const dataCount = (o: KubeObject) => Object.keys((o.data as object) ?? {}).length + Object.keys((o.binaryData as object) ?? {}).length

export const COLUMNS: Record<string, Column[]> = {
  'deployments.apps': [
    col('ready', (o) => ratio(o.status?.readyReplicas, o.spec?.replicas ?? 1), 100),
    col('upToDate', (o) => num(o.status?.updatedReplicas), 110),
    col('available', (o) => num(o.status?.availableReplicas), 100),
    col('images', images, undefined, true),
  ],
  'statefulsets.apps': [col('ready', (o) => ratio(o.status?.readyReplicas, o.spec?.replicas ?? 1), 100), col('images', images, undefined, true)],
  'replicasets.apps': [col('ready', (o) => ratio(o.status?.readyReplicas, o.spec?.replicas ?? 1), 100), col('images', images, undefined, true)],
  'daemonsets.apps': [
    col('desired', (o) => num(o.status?.desiredNumberScheduled), 90),
    col('ready', (o) => ratio(o.status?.numberReady, o.status?.desiredNumberScheduled), 100),
    col('images', images, undefined, true),
  ],
  'jobs.batch': [
    col('status', jobStatus, 110),
    col('completions', (o) => `${num(o.status?.succeeded)}/${o.spec?.completions ?? 1}`, 120),
    col('images', images, undefined, true),
  ],
  'cronjobs.batch': [
    col('schedule', (o) => o.spec?.schedule ?? '', 140, true),
    col('suspend', (o) => (o.spec?.suspend ? { text: 'True', tone: 'info' } : 'False'), 100),
    col('active', (o) => (o.status?.active ?? []).length, 80),
    col('lastSchedule', (o) => formatAge(o.status?.lastScheduleTime), 130),
  ],
  pods: [
    col('status', (o) => {
      const s = podStatus(o)
      return { text: s, tone: podTone(s), tip: o.status?.message }
    }, 150),
    col('ready', (o) => podReady(o), 80),
    col('restarts', (o) => podRestarts(o), 90),
    col('node', (o) => o.spec?.nodeName ?? '', 150),
    col('podIP', (o) => o.status?.podIP ?? '', 130, true),
  ],
  services: [
    col('type', (o) => o.spec?.type ?? 'ClusterIP', 110),
    col('clusterIP', (o) => o.spec?.clusterIP ?? '', 130, true),
    col('ports', servicePorts, undefined, true),
  ],
  'ingresses.networking.k8s.io': [
    col('ingressClass', (o) => o.spec?.ingressClassName ?? '', 130),
    col('hosts', (o) => ((o.spec?.rules ?? []) as { host?: string }[]).map((r) => r.host ?? '*').join(', ')),
  ],
  'networkpolicies.networking.k8s.io': [col('podSelector', (o) => mapText(o.spec?.podSelector?.matchLabels) || '<all>', undefined, true)],
  configmaps: [col('data', dataCount, 80)],
  secrets: [col('type', (o) => String(o.type ?? ''), 260, true), col('data', dataCount, 80)],
  'horizontalpodautoscalers.autoscaling': [
    col('reference', (o) => `${o.spec?.scaleTargetRef?.kind}/${o.spec?.scaleTargetRef?.name}`),
    col('minMax', (o) => `${o.spec?.minReplicas ?? 1}-${o.spec?.maxReplicas}`, 110),
    col('replicas', (o) => num(o.status?.currentReplicas), 100),
  ],
  persistentvolumes: [
    col('capacity', (o) => o.spec?.capacity?.storage ?? '', 100),
    col('accessModes', (o) => (o.spec?.accessModes ?? []).join(', '), 150),
    col('status', (o) => phase(o, ['Bound', 'Available']), 100),
    col('claim', (o) => (o.spec?.claimRef ? `${o.spec.claimRef.namespace}/${o.spec.claimRef.name}` : '')),
    col('storageClass', (o) => o.spec?.storageClassName ?? '', 140),
  ],
  persistentvolumeclaims: [
    col('status', (o) => phase(o, ['Bound']), 100),
    col('volume', (o) => o.spec?.volumeName ?? ''),
    col('capacity', (o) => o.status?.capacity?.storage ?? '', 100),
    col('storageClass', (o) => o.spec?.storageClassName ?? '', 140),
  ],
  'storageclasses.storage.k8s.io': [
    col('provisioner', (o) => String(o.provisioner ?? ''), undefined, true),
    col('reclaimPolicy', (o) => String(o.reclaimPolicy ?? 'Delete'), 130),
  ],
  serviceaccounts: [col('secrets', (o) => ((o.secrets as unknown[]) ?? []).length, 90)],
  'rolebindings.rbac.authorization.k8s.io': [col('role', roleRef), col('subjects', subjects)],
  'clusterrolebindings.rbac.authorization.k8s.io': [col('role', roleRef), col('subjects', subjects)],
  'customresourcedefinitions.apiextensions.k8s.io': [
    col('group', (o) => o.spec?.group ?? '', undefined, true),
    col('kind', (o) => o.spec?.names?.kind ?? '', 180),
    col('scope', (o) => o.spec?.scope ?? '', 120),
    col('versions', (o) => ((o.spec?.versions ?? []) as { name: string }[]).map((v) => v.name).join(', '), 120),
  ],
  namespaces: [col('status', (o) => phase(o, ['Active']), 110)],
  nodes: [
    col('status', (o) => {
      const s = nodeStatus(o)
      return { text: s, tone: s === 'Ready' ? 'success' : s.startsWith('Ready') ? 'warning' : 'danger' }
    }, 200),
    col('roles', nodeRoles, 120),
    col('version', (o) => o.status?.nodeInfo?.kubeletVersion ?? '', 110),
    col('internalIP', (o) => ((o.status?.addresses ?? []) as { type: string; address: string }[]).find((a) => a.type === 'InternalIP')?.address ?? '', 130, true),
  ],
  events: [
    col('type', (o) => ({ text: String(o.type ?? ''), tone: o.type === 'Warning' ? 'warning' : 'info' }), 100),
    col('reason', (o) => String(o.reason ?? ''), 150),
    col('object', (o) => `${(o.involvedObject as { kind: string })?.kind}/${(o.involvedObject as { name: string })?.name}`),
    col('message', (o) => String(o.message ?? '')),
    col('count', (o) => num(o.count) || 1, 80),
  ],
}

/** columnsFor returns the extra columns of a kind (none for unknown kinds). */
export function columnsFor(key: string): Column[] {
  return COLUMNS[key] ?? []
}

/** asCell normalises a column value. */
export function asCell(v: string | number | Cell): Cell {
  return typeof v === 'object' ? v : { text: String(v) }
}
