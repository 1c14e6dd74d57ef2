// Rollout history the way `kubectl rollout history/undo` reads it: a
// Deployment's revisions are the ReplicaSets it owns (annotation
// deployment.kubernetes.io/revision); a StatefulSet's or DaemonSet's are its
// ControllerRevisions. Rolling back writes the revision's pod template back.
import { kubeApi, JSON_PATCH, STRATEGIC_PATCH, type KubeList, type KubeObject } from '@/api'
import { selectorString } from './format'

export const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision'
export const CHANGE_CAUSE = 'kubernetes.io/change-cause'

/** The kinds with a History tab. */
export const HAS_HISTORY = new Set(['deployments.apps', 'statefulsets.apps', 'daemonsets.apps'])

export interface Revision {
  revision: number
  /** The ReplicaSet or ControllerRevision holding it. */
  name: string
  created?: string
  /** Pods of a ReplicaSet; undefined for ControllerRevisions. */
  replicas?: number
  images: string[]
  changeCause: string
  current: boolean
  source: KubeObject
}

const ns = (o: KubeObject) => encodeURIComponent(o.metadata.namespace ?? '')
const owned = (o: KubeObject, owner: KubeObject) => (o.metadata.ownerReferences ?? []).some((r) => r.uid === owner.metadata.uid)
const imagesOf = (tpl: any): string[] => ((tpl?.spec?.containers ?? []) as { image: string }[]).map((c) => c.image)

/** revisionsPath is the collection holding a workload's revisions (for listing and watching). */
export function revisionsPath(resource: string, o: KubeObject): string {
  const kind = resource === 'deployments.apps' ? 'replicasets' : 'controllerrevisions'
  return `/apis/apps/v1/namespaces/${ns(o)}/${kind}`
}

/** loadRevisions lists a workload's revisions, newest first, and the list's resourceVersion. */
export async function loadRevisions(clusterId: number, resource: string, o: KubeObject): Promise<{ items: Revision[]; rv: string }> {
  const list = await kubeApi.get<KubeList>(clusterId, revisionsPath(resource, o), { labelSelector: selectorString(o.spec?.selector) })
  const mine = (list.items ?? []).filter((x) => owned(x, o))
  let items: Revision[]
  if (resource === 'deployments.apps') {
    const current = o.metadata.annotations?.[REVISION_ANNOTATION]
    items = mine
      .filter((rs) => rs.metadata.annotations?.[REVISION_ANNOTATION])
      .map((rs) => ({
        revision: Number(rs.metadata.annotations?.[REVISION_ANNOTATION]),
        name: rs.metadata.name,
        created: rs.metadata.creationTimestamp,
        replicas: rs.status?.replicas ?? 0,
        images: imagesOf(rs.spec?.template),
        changeCause: rs.metadata.annotations?.[CHANGE_CAUSE] ?? '',
        current: rs.metadata.annotations?.[REVISION_ANNOTATION] === current,
        source: rs,
      }))
  } else {
    const data = (cr: KubeObject) => (cr as { data?: any }).data
    items = mine.map((cr) => ({
      revision: Number((cr as { revision?: number }).revision ?? 0),
      name: cr.metadata.name,
      created: cr.metadata.creationTimestamp,
      images: imagesOf(data(cr)?.spec?.template),
      changeCause: cr.metadata.annotations?.[CHANGE_CAUSE] ?? '',
      current: false,
      source: cr,
    }))
    // A StatefulSet names its revision; a DaemonSet's newest one is current.
    const updated = o.status?.updateRevision
    if (updated) items.forEach((r) => (r.current = r.name === updated))
    else if (items.length) items.reduce((a, b) => (b.revision > a.revision ? b : a)).current = true
  }
  items.sort((a, b) => b.revision - a.revision)
  return { items, rv: list.metadata?.resourceVersion ?? '' }
}

/**
 * rollback writes a revision's pod template back into the workload, as
 * `kubectl rollout undo --to-revision` does: for a Deployment the ReplicaSet's
 * template without its pod-template-hash label (and its change-cause), for the
 * others the ControllerRevision's stored patch.
 */
export async function rollback(clusterId: number, resource: string, o: KubeObject, path: string, r: Revision): Promise<void> {
  if (resource !== 'deployments.apps') {
    await kubeApi.patch(clusterId, path, (r.source as { data?: unknown }).data ?? {}, STRATEGIC_PATCH)
    return
  }
  const template = JSON.parse(JSON.stringify(r.source.spec?.template ?? {}))
  if (template.metadata?.labels) delete template.metadata.labels['pod-template-hash']
  const ops: unknown[] = [{ op: 'replace', path: '/spec/template', value: template }]
  const cause = '/metadata/annotations/' + CHANGE_CAUSE.replace(/~/g, '~0').replace(/\//g, '~1')
  if (!o.metadata.annotations) ops.push({ op: 'add', path: '/metadata/annotations', value: {} })
  if (r.changeCause) ops.push({ op: 'add', path: cause, value: r.changeCause })
  else if (o.metadata.annotations?.[CHANGE_CAUSE] !== undefined) ops.push({ op: 'remove', path: cause })
  await kubeApi.patch(clusterId, path, ops, JSON_PATCH)
}
