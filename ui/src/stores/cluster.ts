// The cluster being browsed: its record, its kinds (discovery, with the
// built-in catalog as fallback), its namespaces and the namespace filter the
// list pages share while moving between kinds.
import { defineStore } from 'pinia'
import { computed, ref, shallowRef } from 'vue'
import { ApiError, clustersApi, type Cluster, type KindInfo } from '@/api'
import { BUILTIN, isCustom, resourceKey } from '@/kube/catalog'

export const useClusterStore = defineStore('cluster', () => {
  const id = ref(0)
  const cluster = ref<Cluster | null>(null)
  const error = ref<ApiError | null>(null)
  /** Discovered kinds by resource key; empty until /kinds answers. */
  const discovered = shallowRef<Map<string, KindInfo>>(new Map())
  const kindsError = ref<ApiError | null>(null)
  /** Discovery answered (or failed): a kind missing now is really unknown. */
  const kindsReady = ref(false)
  const namespaces = ref<string[]>([])
  /** The namespace filter of the list pages ('' = all namespaces). */
  const namespace = ref('')
  let seq = 0

  const builtin = new Map(BUILTIN.map((k) => [resourceKey(k), k]))

  /** kind resolves a resource key: discovery first, then the built-in catalog. */
  function kind(key: string): KindInfo | undefined {
    return discovered.value.get(key) ?? builtin.get(key)
  }

  /** The custom kinds (CRDs) that can be listed, sorted by kind then group. */
  const customKinds = computed(() =>
    [...discovered.value.values()]
      .filter((k) => isCustom(k) && k.verbs.includes('list'))
      .sort((a, b) => a.kind.localeCompare(b.kind) || a.group.localeCompare(b.group)),
  )

  /** open switches to a cluster (no-op when it is the current one). */
  async function open(clusterId: number): Promise<void> {
    if (clusterId === id.value && cluster.value) return
    const mine = ++seq
    id.value = clusterId
    cluster.value = null
    error.value = null
    discovered.value = new Map()
    kindsReady.value = false
    namespaces.value = []
    namespace.value = ''
    await Promise.all([loadCluster(mine), loadKinds(mine), loadNamespaces(mine)])
  }

  async function loadCluster(mine = seq): Promise<void> {
    try {
      const c = await clustersApi.get(id.value)
      if (mine === seq) cluster.value = c
    } catch (err) {
      if (mine === seq) error.value = err instanceof ApiError ? err : new ApiError(0, 'error', String(err))
    }
  }

  async function loadKinds(mine = seq): Promise<void> {
    try {
      const res = await clustersApi.kinds(id.value)
      if (mine !== seq) return
      discovered.value = new Map((res.items ?? []).map((k) => [resourceKey(k), k]))
      kindsError.value = null
    } catch (err) {
      if (mine === seq) kindsError.value = err instanceof ApiError ? err : null
    } finally {
      if (mine === seq) kindsReady.value = true
    }
  }

  async function loadNamespaces(mine = seq): Promise<void> {
    try {
      const res = await clustersApi.resources(id.value, 'namespaces', { limit: 1000, sort: 'name' })
      if (mine === seq) namespaces.value = res.items.map((n) => n.metadata.name)
    } catch {
      // The namespace filter then offers free text only; the list page shows the error.
    }
  }

  let kindsTimer: ReturnType<typeof setTimeout> | undefined
  /**
   * refreshKinds reloads discovery after CRDs changed: now, and once more a
   * little later, since the server refreshes its discovery cache at most every
   * ten seconds and a new CRD takes a moment to be served.
   */
  function refreshKinds(): void {
    void loadKinds()
    clearTimeout(kindsTimer)
    kindsTimer = setTimeout(() => void loadKinds(), 12_000)
  }

  /** Reload the lists that change with the cluster's content (after a namespace is created). */
  function refresh(): Promise<unknown> {
    return Promise.all([loadCluster(), loadNamespaces()])
  }

  return { id, cluster, error, kindsError, kindsReady, namespaces, namespace, kind, customKinds, open, refresh, refreshKinds }
})
