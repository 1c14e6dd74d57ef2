// The routes inside one cluster: not menu entries of the shell, but pages of
// the cluster's own navigator (ClusterLayout). List and detail pages are
// generic over the kind, named by its resource key ("pods", "deployments.apps").
import type { RouteLocationRaw, RouteRecordRaw } from 'vue-router'

export const clusterRoutes: RouteRecordRaw[] = [
  {
    path: 'clusters/:id(\\d+)',
    name: 'cluster',
    component: () => import('./ClusterLayout.vue'),
    redirect: (to) => ({ name: 'cluster-overview', params: { id: to.params.id } }),
    meta: { title: 'nav.clusters', ownNav: true },
    children: [
      { path: 'overview', name: 'cluster-overview', component: () => import('./ClusterOverview.vue') },
      { path: 'resources/:resource', name: 'cluster-resources', component: () => import('./ResourceList.vue') },
      { path: 'resources/:resource/:name', name: 'cluster-object', component: () => import('./ResourceDetail.vue') },
      { path: 'resources/:resource/:namespace/:name', name: 'cluster-object-ns', component: () => import('./ResourceDetail.vue') },
    ],
  },
]

/** listRoute links to the list page of a kind. */
export function listRoute(clusterId: number, resource: string, namespace?: string): RouteLocationRaw {
  return { name: 'cluster-resources', params: { id: clusterId, resource }, query: namespace ? { namespace } : {} }
}

/** objectRoute links to the detail page of one object. */
export function objectRoute(clusterId: number, resource: string, name: string, namespace?: string, tab?: string): RouteLocationRaw {
  const query = tab ? { tab } : {}
  return namespace
    ? { name: 'cluster-object-ns', params: { id: clusterId, resource, namespace, name }, query }
    : { name: 'cluster-object', params: { id: clusterId, resource, name }, query }
}
