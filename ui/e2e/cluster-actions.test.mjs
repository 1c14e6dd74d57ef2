// Cluster actions end to end against the real test cluster (hack/kube-testenv.sh):
// a Deployment's rollout history and a roll back to its first revision, draining a
// (kwok) node whose pods are evicted and recreated on another one, and deleting
// ConfigMaps by label selector. Run with ui/e2e/run.sh <server-binary>, which
// starts the test cluster when KUBESPACE_E2E_KUBECONFIG is unset.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { dialog, flow, launch, rowWith, screenshot, target } from './lib.mjs'

const ADMIN = { username: 'admin', email: 'admin@example.com', password: 'Adm1n-e2e-Passw0rd' }
const CLUSTER = 'e2e-actions'
const CONTEXT = 'kubespace-testenv-default'
const NS = `e2e-act-${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`
// Marks what this suite creates in the shared cluster, so a run that died is swept by a later one.
const E2E_LABEL = 'kubespace.io/e2e'
// Two kwok nodes of this run only: draining them disturbs no other suite's pods.
const POOL_LABEL = 'e2e.kubespace.io/pool'
const NODES = [`${NS}-a`, `${NS}-b`]
const IMAGES = ['docker.io/library/busybox:rev1', 'docker.io/library/busybox:rev2', 'docker.io/library/busybox:rev3']
const shots = process.env.KUBESPACE_E2E_SHOTS === '1'

function kubeconfig() {
  const path = process.env.KUBESPACE_E2E_KUBECONFIG
  if (!path || !existsSync(path)) {
    throw new Error('KUBESPACE_E2E_KUBECONFIG does not name a kubeconfig: run ui/e2e/run.sh (it starts hack/kube-testenv.sh up default)')
  }
  return readFileSync(path, 'utf8')
}

const node = (name) => ({
  apiVersion: 'v1',
  kind: 'Node',
  metadata: {
    name,
    annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
    labels: { type: 'kwok', [E2E_LABEL]: 'actions', [POOL_LABEL]: NS, 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux' },
  },
  spec: { taints: [{ key: POOL_LABEL, value: NS, effect: 'NoSchedule' }] },
  status: {
    addresses: [{ type: 'InternalIP', address: '127.0.0.1' }, { type: 'Hostname', address: 'localhost' }],
    allocatable: { cpu: '32', memory: '256Gi', pods: '110' },
    capacity: { cpu: '32', memory: '256Gi', pods: '110' },
  },
})

const deployment = (name, replicas, image, pool = false) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: NS, labels: { app: name } },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: {
        ...(pool
          ? { nodeSelector: { [POOL_LABEL]: NS }, tolerations: [{ key: POOL_LABEL, operator: 'Equal', value: NS, effect: 'NoSchedule' }] }
          : { nodeSelector: { 'kubespace.io/testenv-node': 'kwok' } }),
        terminationGracePeriodSeconds: 0,
        containers: [{ name: 'main', image, imagePullPolicy: 'Never' }],
      },
    },
  },
})

test('cluster actions', { timeout: 600_000 }, async (t) => {
  const { url, setupToken } = target()
  const config = kubeconfig()
  const browser = await launch()
  const { page } = browser
  page.setDefaultTimeout(20_000)
  let clusterId = 0
  const errors = []
  page.on('pageerror', (err) => errors.push(err.message))
  const api = (path, init) =>
    page.evaluate(
      async ([p, i]) => {
        const r = await fetch(`/api/v1${p}`, i)
        return { status: r.status, body: await r.text() }
      },
      [path, init],
    )
  const json = (method, body, type = 'application/json') => ({ method, headers: { 'Content-Type': type }, body: JSON.stringify(body) })
  const kube = async (path, init) => {
    const res = await api(`/clusters/${clusterId}/proxy${path}`, init)
    assert.ok(res.status < 300, `${init?.method ?? 'GET'} ${path}: ${res.status} ${res.body}`)
    return JSON.parse(res.body || '{}')
  }
  /** until polls fn until it returns a truthy value. */
  const until = async (what, fn, timeoutMs = 60_000) => {
    const end = Date.now() + timeoutMs
    for (;;) {
      const v = await fn()
      if (v) return v
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
      await page.waitForTimeout(500)
    }
  }
  const snap = async (name) => {
    if (!shots) return
    await page.waitForTimeout(400)
    console.log(`screenshot: ${await screenshot(page, name)}`)
  }
  t.after(async () => {
    if (clusterId) {
      const proxy = `/api/v1/clusters/${clusterId}/proxy`
      for (const path of [`${proxy}/api/v1/namespaces/${NS}`, ...NODES.map((n) => `${proxy}/api/v1/nodes/${n}`)]) {
        await page.evaluate(async (p) => fetch(p, { method: 'DELETE' }).then((r) => r.status), path).catch(() => undefined)
      }
      await page.evaluate(async (p) => fetch(p, { method: 'DELETE' }).then((r) => r.status), `/api/v1/clusters/${clusterId}?force=true`).catch(() => undefined)
    }
    await browser.close()
  })
  const step = flow(t, page)

  await step('set up, sign in and import the test cluster', async () => {
    const res = await fetch(`${url}/api/v1/setup`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ ...ADMIN, setup_token: setupToken }),
    })
    assert.equal(res.status, 201, await res.text())
    await page.goto(`${url}/login`)
    const login = page.locator('.login-card')
    await login.locator('input[name="username"]').fill(ADMIN.username)
    await login.locator('input[name="password"]').fill(ADMIN.password)
    await login.locator('button[type="submit"]').click()
    await page.waitForURL(/\/clusters$/)
    const created = await api('/clusters', json('POST', { name: CLUSTER, description: 'cluster actions e2e', kubeconfig: config, context: CONTEXT }))
    assert.equal(created.status, 201, created.body)
    clusterId = JSON.parse(created.body).id
    await until('the cluster to connect', async () => JSON.parse((await api(`/clusters/${clusterId}`)).body).status === 'connected')
  })

  await step('sweep what crashed earlier runs left, then create the namespace and two kwok nodes', async () => {
    const old = (o) => Date.now() - Date.parse(o.metadata.creationTimestamp) > 30 * 60_000
    for (const path of ['/api/v1/namespaces', '/api/v1/nodes']) {
      const list = await kube(`${path}?labelSelector=${encodeURIComponent(`${E2E_LABEL}=actions`)}`)
      for (const o of list.items.filter(old)) {
        t.diagnostic(`deleting ${path}/${o.metadata.name}, left by an earlier run`)
        await api(`/clusters/${clusterId}/proxy${path}/${o.metadata.name}`, { method: 'DELETE' })
      }
    }
    await kube('/api/v1/namespaces', json('POST', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS, labels: { [E2E_LABEL]: 'actions' } } }))
    for (const n of NODES) await kube('/api/v1/nodes', json('POST', node(n)))
    await until('both kwok nodes to be ready', async () => {
      const list = await kube(`/api/v1/nodes?labelSelector=${encodeURIComponent(`${POOL_LABEL}=${NS}`)}`)
      return list.items.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length === 2
    })
  })

  const deployPath = `/apis/apps/v1/namespaces/${NS}/deployments`
  const revisionOf = async (name) => (await kube(`${deployPath}/${name}`)).metadata.annotations?.['deployment.kubernetes.io/revision']

  await step('a Deployment changed twice has three revisions in its History tab', async () => {
    await kube(deployPath, json('POST', deployment('web', 2, IMAGES[0])))
    await until('revision 1', async () => (await revisionOf('web')) === '1')
    for (const [i, image] of IMAGES.slice(1).entries()) {
      const patch = { spec: { template: { spec: { containers: [{ name: 'main', image }] } } } }
      await kube(`${deployPath}/web`, json('PATCH', patch, 'application/strategic-merge-patch+json'))
      await until(`revision ${i + 2}`, async () => (await revisionOf('web')) === String(i + 2))
    }
    await page.goto(`${url}/clusters/${clusterId}/resources/deployments.apps/${NS}/web`)
    await page.locator('[data-test="object-summary"]').waitFor()
    await page.locator('.el-tabs__item', { hasText: 'History' }).click()
    const row = (n) => rowWith(page, 'history-table', `${n}`, IMAGES[n - 1])
    for (const n of [1, 2, 3]) await row(n)
    await (await row(3)).locator('[data-test="revision-current"]').waitFor()
    assert.equal(await (await row(3)).locator('[data-test="rollback-3"]').count(), 0, 'the current revision offers no roll back')
    await snap('a01-history')
  })

  await step('roll back to revision 1: the first image is back as revision 4', async () => {
    await page.locator('[data-test="rollback-1"]').click()
    await page.locator('.el-message-box').getByRole('button', { name: 'Roll back' }).click()
    await page.getByText('web is rolling back to revision 1').waitFor()
    const obj = await kube(`${deployPath}/web`)
    assert.equal(obj.spec.template.spec.containers[0].image, IMAGES[0])
    assert.equal(obj.spec.template.metadata.labels['pod-template-hash'], undefined)
    // Kubernetes reuses revision 1's ReplicaSet and numbers it 4: the table follows by itself.
    const four = await rowWith(page, 'history-table', '4', IMAGES[0])
    await four.locator('[data-test="revision-current"]').waitFor()
    await page.locator('[data-test="revision-1"]').waitFor({ state: 'detached' })
    assert.equal(await revisionOf('web'), '4')
    await snap('a02-history-rolled-back')
  })

  await step('a StatefulSet rolls back through its ControllerRevisions', async () => {
    const sts = deployment('db', 1, IMAGES[0], true)
    sts.kind = 'StatefulSet'
    sts.spec.serviceName = 'db'
    const path = `/apis/apps/v1/namespaces/${NS}/statefulsets`
    await kube(path, json('POST', sts))
    await until('revision 1 of db', async () => (await kube(path + '/db')).status?.updateRevision)
    const patch = { spec: { template: { spec: { containers: [{ name: 'main', image: IMAGES[1] }] } } } }
    await kube(`${path}/db`, json('PATCH', patch, 'application/strategic-merge-patch+json'))
    await page.goto(`${url}/clusters/${clusterId}/resources/statefulsets.apps/${NS}/db?tab=history`)
    await (await rowWith(page, 'history-table', '2', IMAGES[1])).locator('[data-test="revision-current"]').waitFor()
    await page.locator('[data-test="rollback-1"]').click()
    await page.locator('.el-message-box').getByRole('button', { name: 'Roll back' }).click()
    await page.getByText('db is rolling back to revision 1').waitFor()
    assert.equal((await kube(`${path}/db`)).spec.template.spec.containers[0].image, IMAGES[0])
    await (await rowWith(page, 'history-table', '3', IMAGES[0])).locator('[data-test="revision-current"]').waitFor()
    await snap('a02b-statefulset-history')
  })

  let drained = ''
  let evicted = []
  await step('drain a kwok node: it is cordoned and its pods are recreated on the other', async () => {
    await kube(deployPath, json('POST', deployment('spread', 4, IMAGES[0], true)))
    const podsOf = async () => (await kube(`/api/v1/namespaces/${NS}/pods?labelSelector=app%3Dspread`)).items
    const running = (p) => p.spec.nodeName && p.status?.phase === 'Running' && !p.metadata.deletionTimestamp
    const pods = await until('4 running pods', async () => {
      const list = (await podsOf()).filter(running)
      return list.length === 4 && list
    })
    // The node holding the most of them (the scheduler spreads them; one node may hold all).
    const count = (n) => pods.filter((p) => p.spec.nodeName === n).length
    drained = count(NODES[0]) >= count(NODES[1]) ? NODES[0] : NODES[1]
    evicted = pods.filter((p) => p.spec.nodeName === drained).map((p) => p.metadata.name)
    assert.ok(evicted.length > 0)
    await page.goto(`${url}/clusters/${clusterId}/resources/nodes/${drained}`)
    await page.locator('[data-test="object-summary"]').waitFor()
    await page.locator('[data-test="action-drain"]').click()
    const d = dialog(page, 'drain-dialog')
    await d.waitFor({ state: 'visible' })
    assert.equal(await d.locator('[data-test="drain-ignore-daemonsets"]').getAttribute('class').then((c) => c.includes('is-checked')), true, 'DaemonSet pods are ignored by default')
    await snap('a03-drain-options')
    await d.locator('[data-test="drain-submit"]').click()
    await d.locator('[data-test="drain-summary"][data-phase="done"]').waitFor({ timeout: 90_000 })
    for (const name of evicted) await d.locator('[data-test="drain-pods"] .el-table__row', { hasText: name }).locator('[data-state="gone"]').waitFor()
    await snap('a04-drain-done')
    await d.getByRole('button', { name: 'Close', exact: true }).click()
    assert.equal((await kube(`/api/v1/nodes/${drained}`)).spec.unschedulable, true, 'the node is cordoned')
    await page.locator('[data-field="status"]', { hasText: 'SchedulingDisabled' }).waitFor()
    const after = await until('4 running pods elsewhere', async () => {
      const list = (await podsOf()).filter(running)
      return list.length === 4 && list
    })
    assert.deepEqual(after.filter((p) => p.spec.nodeName === drained || evicted.includes(p.metadata.name)), [], 'no pod is left on the drained node')
  })

  await step('uncordon the drained node', async () => {
    await page.locator('[data-test="action-uncordon"]').click()
    await page.locator('[data-test="action-cordon"]').waitFor()
    assert.ok(!(await kube(`/api/v1/nodes/${drained}`)).spec.unschedulable, 'the node takes pods again')
  })

  await step('a drain stops at emptyDir data, and a disruption budget fails the eviction after retries', async () => {
    const guarded = deployment('guarded', 1, IMAGES[0], true)
    guarded.spec.template.spec.volumes = [{ name: 'scratch', emptyDir: {} }]
    await kube(deployPath, json('POST', guarded))
    await kube(`/apis/policy/v1/namespaces/${NS}/poddisruptionbudgets`, json('POST', {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: { name: 'guarded', namespace: NS },
      spec: { minAvailable: 1, selector: { matchLabels: { app: 'guarded' } } },
    }))
    const pod = await until('the guarded pod to run', async () => {
      const list = (await kube(`/api/v1/namespaces/${NS}/pods?labelSelector=app%3Dguarded`)).items
      return list.find((p) => p.status?.phase === 'Running')
    })
    await until('the budget to allow no disruption', async () => {
      const pdb = await kube(`/apis/policy/v1/namespaces/${NS}/poddisruptionbudgets/guarded`)
      return pdb.status?.observedGeneration && pdb.status.currentHealthy === 1 && pdb.status.disruptionsAllowed === 0
    })
    const host = pod.spec.nodeName
    await page.goto(`${url}/clusters/${clusterId}/resources/nodes/${host}`)
    await page.locator('[data-test="action-drain"]').click()
    const d = dialog(page, 'drain-dialog')
    await d.waitFor({ state: 'visible' })
    await d.locator('[data-test="drain-submit"]').click()
    await d.locator('[data-test="drain-refused"]').waitFor()
    await d.locator('[data-test="drain-pods"] .el-table__row', { hasText: pod.metadata.name }).getByText('Uses emptyDir').waitFor()
    assert.equal((await kube(`/api/v1/namespaces/${NS}/pods/${pod.metadata.name}`)).metadata.deletionTimestamp, undefined, 'nothing was evicted')
    await snap('a04b-drain-refused')
    await d.locator('[data-test="drain-delete-emptydir"]').click()
    await d.locator('[data-test="drain-submit"]').click()
    const row = d.locator('[data-test="drain-pods"] .el-table__row', { hasText: pod.metadata.name })
    await row.locator('[data-state="retrying"]').waitFor()
    await d.locator('[data-test="drain-summary"][data-phase="failed"]').waitFor({ timeout: 90_000 })
    await row.locator('[data-state="failed"]').waitFor()
    assert.match(await row.innerText(), /disruption budget/i)
    await snap('a04c-drain-budget')
    await d.getByRole('button', { name: 'Close', exact: true }).click()
    await page.locator('[data-test="action-uncordon"]').click()
    await page.locator('[data-test="action-cordon"]').waitFor()
  })

  await step('delete ConfigMaps by label selector: exactly the matching ones go', async () => {
    for (const [name, labels] of [['batch-1', { batch: 'x' }], ['batch-2', { batch: 'x' }], ['batch-3', { batch: 'x' }], ['keeper', { batch: 'y' }]]) {
      await kube(`/api/v1/namespaces/${NS}/configmaps`, json('POST', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: NS, labels }, data: { k: 'v' } }))
    }
    await page.goto(`${url}/clusters/${clusterId}/resources/configmaps?namespace=${NS}`)
    for (const name of ['batch-1', 'batch-2', 'batch-3', 'keeper']) await rowWith(page, 'resources-table', name)
    await page.locator('[data-test="delete-by-selector"]').click()
    const d = dialog(page, 'selector-dialog')
    await d.waitFor({ state: 'visible' })
    await d.locator('input[name="labelSelector"]').fill('batch=x')
    await d.locator('[data-test="selector-preview-button"]').click()
    await d.locator('[data-test="selector-count"]', { hasText: '3 objects match' }).waitFor()
    for (const name of ['batch-1', 'batch-2', 'batch-3']) await d.locator(`[data-test="match-${name}"]`).waitFor()
    assert.equal(await d.locator('[data-test="match-keeper"]').count(), 0)
    await snap('a05-selector-preview')
    await d.locator('[data-test="selector-delete"]').click()
    await page.locator('.el-message-box').getByRole('button', { name: 'Delete' }).click()
    await d.locator('[data-test="selector-result"]', { hasText: '3 objects deleted' }).waitFor()
    await snap('a06-selector-deleted')
    const names = (await kube(`/api/v1/namespaces/${NS}/configmaps`)).items.map((c) => c.metadata.name).sort()
    assert.deepEqual(names.filter((n) => n !== 'kube-root-ca.crt'), ['keeper'])
    await d.getByRole('button', { name: 'Close', exact: true }).click()
    await page.locator('[data-test="resources-table"] .el-table__row', { hasText: 'batch-1' }).waitFor({ state: 'detached' })
    await rowWith(page, 'resources-table', 'keeper')
  })

  await step('across all namespaces, delete by selector goes object by object', async () => {
    for (const name of ['sweep-1', 'sweep-2']) {
      await kube(`/api/v1/namespaces/${NS}/configmaps`, json('POST', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: NS, labels: { 'e2e-run': NS } } }))
    }
    await page.locator('[data-test="namespace-select"]').click()
    await page.locator('.el-select-dropdown__item:visible', { hasText: 'All namespaces' }).click()
    await rowWith(page, 'resources-table', 'sweep-2')
    await page.locator('[data-test="delete-by-selector"]').click()
    const d = dialog(page, 'selector-dialog')
    await d.waitFor({ state: 'visible' })
    await d.getByText('In all namespaces').waitFor()
    await d.getByText('deleted one by one').waitFor()
    await d.locator('input[name="labelSelector"]').fill(`e2e-run=${NS}`)
    await d.locator('input[name="labelSelector"]').press('Enter')
    await d.locator('[data-test="selector-count"]', { hasText: '2 objects match' }).waitFor()
    await d.locator('[data-test="selector-delete"]').click()
    await page.locator('.el-message-box').getByRole('button', { name: 'Delete' }).click()
    await d.locator('[data-test="selector-result"]', { hasText: '2 objects deleted' }).waitFor()
    const names = (await kube(`/api/v1/namespaces/${NS}/configmaps`)).items.map((c) => c.metadata.name).sort()
    assert.deepEqual(names.filter((n) => n !== 'kube-root-ca.crt'), ['keeper'])
    await snap('a07-selector-one-by-one')
    await d.getByRole('button', { name: 'Close', exact: true }).click()
  })

  await step('clean up: the namespace, the nodes and the cluster', async () => {
    await kube(`/api/v1/namespaces/${NS}`, { method: 'DELETE' })
    for (const n of NODES) await kube(`/api/v1/nodes/${n}`, { method: 'DELETE' })
    const res = await api(`/clusters/${clusterId}?force=true`, { method: 'DELETE' })
    assert.ok(res.status < 300, res.body)
    clusterId = 0
  })

  await step('no uncaught page errors', async () => {
    assert.deepEqual(errors, [])
  })
})
