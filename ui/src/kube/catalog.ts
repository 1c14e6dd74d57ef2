// The built-in Kubernetes kinds the cluster navigator shows, grouped like the
// original KubeSpace, and the rules that tell a custom kind from a built-in one.
// The cluster's discovery (`/kinds`) is the authority on versions and verbs;
// this catalog is the fallback while it loads or when a kind is missing there.
import type { KindInfo } from '@/api'

const ALL_VERBS = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete']

function k(resource: string, kind: string, group: string, version: string, namespaced = true): KindInfo {
  return { resource, kind, group, version, namespaced, verbs: ALL_VERBS }
}

/** Kinds known without discovery, by resource key ("plural" or "plural.group"). */
export const BUILTIN: KindInfo[] = [
  k('deployments', 'Deployment', 'apps', 'v1'),
  k('statefulsets', 'StatefulSet', 'apps', 'v1'),
  k('daemonsets', 'DaemonSet', 'apps', 'v1'),
  k('replicasets', 'ReplicaSet', 'apps', 'v1'),
  k('jobs', 'Job', 'batch', 'v1'),
  k('cronjobs', 'CronJob', 'batch', 'v1'),
  k('pods', 'Pod', '', 'v1'),
  k('services', 'Service', '', 'v1'),
  k('endpoints', 'Endpoints', '', 'v1'),
  k('ingresses', 'Ingress', 'networking.k8s.io', 'v1'),
  k('networkpolicies', 'NetworkPolicy', 'networking.k8s.io', 'v1'),
  k('configmaps', 'ConfigMap', '', 'v1'),
  k('secrets', 'Secret', '', 'v1'),
  k('horizontalpodautoscalers', 'HorizontalPodAutoscaler', 'autoscaling', 'v2'),
  k('persistentvolumes', 'PersistentVolume', '', 'v1', false),
  k('persistentvolumeclaims', 'PersistentVolumeClaim', '', 'v1'),
  k('storageclasses', 'StorageClass', 'storage.k8s.io', 'v1', false),
  k('serviceaccounts', 'ServiceAccount', '', 'v1'),
  k('roles', 'Role', 'rbac.authorization.k8s.io', 'v1'),
  k('rolebindings', 'RoleBinding', 'rbac.authorization.k8s.io', 'v1'),
  k('clusterroles', 'ClusterRole', 'rbac.authorization.k8s.io', 'v1', false),
  k('clusterrolebindings', 'ClusterRoleBinding', 'rbac.authorization.k8s.io', 'v1', false),
  k('customresourcedefinitions', 'CustomResourceDefinition', 'apiextensions.k8s.io', 'v1', false),
  k('namespaces', 'Namespace', '', 'v1', false),
  k('nodes', 'Node', '', 'v1', false),
  k('events', 'Event', '', 'v1'),
]

/** resourceKey names a kind the way the API paths do: "pods", "deployments.apps". */
export function resourceKey(kind: Pick<KindInfo, 'resource' | 'group'>): string {
  return kind.group ? `${kind.resource}.${kind.group}` : kind.resource
}

export const CRD_KEY = 'customresourcedefinitions.apiextensions.k8s.io'

/** A navigator entry: a resource key and the i18n key of its title (kube.kinds.<name>). */
export interface NavKind {
  key: string
  title: string
}
export interface NavGroup {
  key: string
  title: string
  kinds: NavKind[]
}

const nk = (key: string, name: string): NavKind => ({ key, title: `kube.kinds.${name}` })

/** The navigator's groups, in order; Overview, Namespaces, Nodes and Events stand alone. */
export const NAV_GROUPS: NavGroup[] = [
  {
    key: 'workloads',
    title: 'cluster.nav.workloads',
    kinds: [
      nk('deployments.apps', 'deployments'),
      nk('statefulsets.apps', 'statefulsets'),
      nk('daemonsets.apps', 'daemonsets'),
      nk('jobs.batch', 'jobs'),
      nk('cronjobs.batch', 'cronjobs'),
      nk('pods', 'pods'),
    ],
  },
  {
    key: 'network',
    title: 'cluster.nav.network',
    kinds: [
      nk('services', 'services'),
      nk('ingresses.networking.k8s.io', 'ingresses'),
      nk('networkpolicies.networking.k8s.io', 'networkpolicies'),
    ],
  },
  {
    key: 'config',
    title: 'cluster.nav.config',
    kinds: [
      nk('configmaps', 'configmaps'),
      nk('secrets', 'secrets'),
      nk('horizontalpodautoscalers.autoscaling', 'horizontalpodautoscalers'),
    ],
  },
  {
    key: 'storage',
    title: 'cluster.nav.storage',
    kinds: [
      nk('persistentvolumes', 'persistentvolumes'),
      nk('persistentvolumeclaims', 'persistentvolumeclaims'),
      nk('storageclasses.storage.k8s.io', 'storageclasses'),
    ],
  },
  {
    key: 'access',
    title: 'cluster.nav.access',
    kinds: [
      nk('serviceaccounts', 'serviceaccounts'),
      nk('roles.rbac.authorization.k8s.io', 'roles'),
      nk('rolebindings.rbac.authorization.k8s.io', 'rolebindings'),
      nk('clusterroles.rbac.authorization.k8s.io', 'clusterroles'),
      nk('clusterrolebindings.rbac.authorization.k8s.io', 'clusterrolebindings'),
    ],
  },
]

/** Standalone navigator entries after the groups. */
export const NAV_TAIL: NavKind[] = [nk('namespaces', 'namespaces'), nk('nodes', 'nodes'), nk('events', 'events')]

/** The i18n title key of a built-in kind, if it has one. */
const TITLES = new Map<string, string>([...NAV_GROUPS.flatMap((g) => g.kinds), ...NAV_TAIL, nk(CRD_KEY, 'crds'), nk('replicasets.apps', 'replicasets'), nk('endpoints', 'endpoints')].map((n) => [n.key, n.title]))
export function kindTitleKey(key: string): string | undefined {
  return TITLES.get(key)
}

// API groups that ship with Kubernetes: the core group, the unsuffixed
// historic ones, and every group under *.k8s.io (reserved for Kubernetes).
const BUILTIN_GROUPS = new Set(['', 'apps', 'batch', 'autoscaling', 'policy', 'extensions'])

/** isCustom tells whether a kind comes from a CustomResourceDefinition (or an aggregated API). */
export function isCustom(kind: Pick<KindInfo, 'group'>): boolean {
  return !BUILTIN_GROUPS.has(kind.group) && !kind.group.endsWith('.k8s.io')
}

/** The kinds whose pods are found by the object's label selector (workloads and services). */
export const SELECTS_PODS = new Set([
  'deployments.apps',
  'statefulsets.apps',
  'daemonsets.apps',
  'replicasets.apps',
  'jobs.batch',
  'services',
])
export const SCALABLE = new Set(['deployments.apps', 'statefulsets.apps', 'replicasets.apps'])
export const RESTARTABLE = new Set(['deployments.apps', 'statefulsets.apps', 'daemonsets.apps'])
