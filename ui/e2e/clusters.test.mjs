// The Clusters area end to end against a real Kubernetes (hack/kube-testenv.sh):
// import a cluster through the dialog, browse it, create a Deployment from YAML
// and watch it become ready, edit its YAML, scale it, then follow a real
// container's log and run commands in its terminal, resize included.
// Run with ui/e2e/run.sh <server-binary>; it starts the test cluster when
// KUBESPACE_E2E_KUBECONFIG is unset.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { dump, load } from 'js-yaml'
import { dialog, flow, launch, rowWith, screenshot, skipUnless, target, userMenu } from './lib.mjs'

const ADMIN = { username: 'admin', email: 'admin@example.com', password: 'Adm1n-e2e-Passw0rd' }
const VIEWER = { username: 'vera', email: 'vera@example.com', password: 'V3ra-e2e-Passw0rd', display_name: 'Vera Viewer' }
const CLUSTER = 'e2e-cluster'
const CONTEXT = 'kubespace-testenv-default'
const NS = `e2e-${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`
// A custom resource kind unique to this run (CRDs are cluster-wide).
const CRD_GROUP = `${NS}.e2e.kubespace.io`
// Marks what this suite creates in the shared cluster, so a run that died before its
// clean-up is swept by a later one.
const E2E_LABEL = 'kubespace.io/e2e'
const shots = process.env.KUBESPACE_E2E_SHOTS === '1'

/** The test cluster's kubeconfig and whether its real node (real containers) is up. */
function testCluster() {
  const path = process.env.KUBESPACE_E2E_KUBECONFIG
  if (!path || !existsSync(path)) {
    throw new Error('KUBESPACE_E2E_KUBECONFIG does not name a kubeconfig: run ui/e2e/run.sh (it starts hack/kube-testenv.sh up default)')
  }
  const statusFile = join(dirname(path), 'real-node-status')
  const realNode = existsSync(statusFile) ? readFileSync(statusFile, 'utf8').trim() : 'missing: no real-node-status file'
  return { kubeconfig: readFileSync(path, 'utf8'), realNode }
}

const deploymentYaml = (replicas) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: ${NS}
  labels:
    app: web
spec:
  replicas: ${replicas}
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: web
        image: docker.io/library/busybox:testenv
        imagePullPolicy: Never
`

// A pod on the real node that writes a numbered line every second.
const tickerYaml = `apiVersion: v1
kind: Pod
metadata:
  name: ticker
  namespace: ${NS}
spec:
  nodeSelector:
    kubespace.io/testenv-node: real
  tolerations:
  - key: kubespace.io/real-node
    operator: Exists
    effect: NoSchedule
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: docker.io/library/busybox:testenv
    imagePullPolicy: Never
    command: ["sh", "-c", "i=0; while true; do echo tick-$i; i=$((i+1)); sleep 1; done"]
`

test('clusters', { timeout: 600_000 }, async (t) => {
  const { url, setupToken } = target()
  const env = testCluster()
  const browser = await launch()
  const { page } = browser
  page.setDefaultTimeout(20_000)
  let clusterId = 0
  t.after(async () => {
    // Leave no namespace behind, whatever failed.
    if (clusterId) {
      const proxy = `/api/v1/clusters/${clusterId}/proxy`
      const leftovers = [
        `${proxy}/api/v1/namespaces/${NS}`,
        `${proxy}/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gadgets.${CRD_GROUP}`,
      ]
      for (const path of leftovers) {
        await page.evaluate(async (p) => fetch(p, { method: 'DELETE' }).then((r) => r.status), path).catch(() => undefined)
      }
      // A node cordoned by a failed step must take pods again: other suites share the cluster.
      await page
        .evaluate(
          async (p) => fetch(p, { method: 'PATCH', headers: { 'Content-Type': 'application/merge-patch+json' }, body: '{"spec":{"unschedulable":null}}' }),
          `${proxy}/api/v1/nodes/kwok-node-1`,
        )
        .catch(() => undefined)
    }
    await browser.close()
  })
  const step = flow(t, page)
  const snap = async (name) => {
    if (!shots) return
    await page.waitForTimeout(400)
    console.log(`screenshot: ${await screenshot(page, name)}`)
  }
  const errors = []
  page.on('pageerror', (err) => errors.push(err.message))
  const api = (path, init) =>
    page.evaluate(async ([p, i]) => {
      const r = await fetch(`/api/v1${p}`, i)
      return { status: r.status, body: await r.text() }
    }, [path, init])

  /** Types text into a CodeMirror editor as one insertion (no auto-indent per key). */
  const fillEditor = async (editor, text) => {
    await editor.locator('.cm-content').click()
    await page.keyboard.press('ControlOrMeta+a')
    await page.keyboard.press('Delete')
    await page.keyboard.insertText(text)
  }
  const nav = (key) => page.locator(`[data-nav="kind-${key}"]`).click()
  const applyYaml = async (text, { dryRun = false } = {}) => {
    await page.locator('[data-test="apply-open"]').click()
    const d = dialog(page, 'apply-dialog')
    await d.waitFor({ state: 'visible' })
    await fillEditor(d.locator('[data-test="apply-editor"]'), text)
    if (dryRun) {
      await d.locator('[data-test="apply-dry-run"]').click()
      await d.getByText('Dry run: nothing was changed').waitFor()
    }
    await d.locator('[data-test="apply-submit"]').click()
    await d.locator('[data-test="apply-results"] .el-table__row').first().waitFor()
    return d
  }
  const runInTerminal = async (command, expect) => {
    await page.locator('[data-test="terminal"] .xterm-screen').click()
    await page.keyboard.type(`${command}\n`)
    await page.waitForFunction(
      ([re]) => new RegExp(re, 'm').test((document.querySelector('[data-test="terminal"] .xterm-rows')?.innerText ?? '').replace(/\u00a0/g, ' ')),
      [expect.source],
      { timeout: 20_000 },
    )
  }

  const signIn = async (user) => {
    const login = page.locator('.login-card')
    await login.locator('input[name="username"]').fill(user.username)
    await login.locator('input[name="password"]').fill(user.password)
    await login.locator('button[type="submit"]').click()
    await page.waitForURL(/\/clusters$/)
    await page.locator('[data-test="clusters-table"]').waitFor()
  }

  await step('sign in as the first administrator', async () => {
    const res = await fetch(`${url}/api/v1/setup`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ ...ADMIN, setup_token: setupToken }),
    })
    assert.equal(res.status, 201, await res.text())
    await page.goto(`${url}/login`)
    await signIn(ADMIN)
  })

  await step('import the cluster; several contexts offer a picker', async () => {
    await page.locator('[data-test="cluster-import"]').click()
    const d = dialog(page, 'cluster-dialog')
    await d.waitFor({ state: 'visible' })
    await d.locator('input[name="name"]').fill(CLUSTER)
    await d.locator('input[name="description"]').fill('kube-testenv, imported by the e2e suite')
    // The same file with a second context and no current-context: the server needs a choice.
    const cfg = load(env.kubeconfig)
    const ctx = cfg.contexts.find((c) => c.name === CONTEXT) ?? cfg.contexts[0]
    cfg.contexts.push({ name: 'another-context', context: { ...ctx.context, namespace: 'kube-system' } })
    delete cfg['current-context']
    await d.locator('textarea[name="kubeconfig"]').fill(dump(cfg))
    const picker = d.locator('[data-test="cluster-context"]')
    await picker.waitFor({ state: 'visible' })
    await snap('c01-import-context-picker')
    await picker.click()
    await page.locator('.el-select-dropdown__item:visible', { hasText: ctx.name }).click()
    await d.locator('[data-test="cluster-save"]').click()
    await d.waitFor({ state: 'hidden', timeout: 30_000 })
  })

  await step('the cluster is listed as connected', async () => {
    const row = await rowWith(page, 'clusters-table', CLUSTER)
    await row.locator('.cluster-status[data-status="connected"]').waitFor()
    assert.match(await row.innerText(), /v1\.\d+/, 'the version is shown')
    const list = JSON.parse((await api('/clusters?q=' + CLUSTER)).body)
    clusterId = list.items.find((c) => c.name === CLUSTER).id
    await snap('c02-clusters')
  })

  await step('edit the cluster description', async () => {
    await page.locator(`[data-test="cluster-edit-${CLUSTER}"]`).click()
    const d = dialog(page, 'cluster-dialog')
    await d.waitFor({ state: 'visible' })
    assert.equal(await d.locator('textarea[name="kubeconfig"]').count(), 0, 'credentials stay unless replaced')
    await d.locator('input[name="description"]').fill('kube-testenv (edited)')
    await d.locator('[data-test="cluster-save"]').click()
    await d.waitFor({ state: 'hidden' })
    await rowWith(page, 'clusters-table', CLUSTER, 'kube-testenv (edited)')
  })

  await step('sweep what crashed earlier runs left in the cluster', async () => {
    const proxy = `/clusters/${clusterId}/proxy`
    const old = (o) => Date.now() - Date.parse(o.metadata.creationTimestamp) > 30 * 60_000
    for (const path of ['/api/v1/namespaces', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions']) {
      const res = await api(`${proxy}${path}?labelSelector=${encodeURIComponent(`${E2E_LABEL}=console`)}`)
      assert.equal(res.status, 200, res.body)
      for (const o of JSON.parse(res.body).items.filter(old)) {
        t.diagnostic(`deleting ${path}/${o.metadata.name}, left by an earlier run`)
        await api(`${proxy}${path}/${o.metadata.name}`, { method: 'DELETE' })
      }
    }
  })

  await step('download a kubeconfig for the cluster', async () => {
    await page.locator(`[data-test="cluster-kubeconfig-${CLUSTER}"]`).click()
    const d = dialog(page, 'kubeconfig-dialog')
    await d.waitFor({ state: 'visible' })
    const download = page.waitForEvent('download')
    await d.locator('[data-test="kubeconfig-download"]').click()
    const file = await download
    assert.equal(file.suggestedFilename(), `kubespace-${CLUSTER}.yaml`)
    const text = readFileSync(await file.path(), 'utf8')
    assert.match(text, /token: /, 'the kubeconfig carries a token')
    assert.match(text, new RegExp(`/api/v1/clusters/${clusterId}/proxy`), 'it points at the proxy')
    await d.locator('[data-test="kubeconfig-note"]').waitFor()
    await snap('c03-kubeconfig')
    await d.getByRole('button', { name: 'Close', exact: true }).click()
  })

  await step('open the cluster overview', async () => {
    await page.locator(`[data-test="cluster-open-${CLUSTER}"]`).click()
    await page.waitForURL(new RegExp(`/clusters/${clusterId}/overview$`))
    await page.locator('[data-test="overview-nodes"]').waitFor()
    assert.match(await page.locator('[data-test="overview-nodes"]').innerText(), /\d+ \/ \d+/)
    await page.locator('[data-test="overview-counts"] [data-count="namespaces"]').waitFor()
    await snap('c04-overview')
  })

  await step('create a namespace from YAML, with a dry run first', async () => {
    await nav('namespaces')
    await page.waitForURL(/\/resources\/namespaces/)
    const d = await applyYaml(`apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${NS}\n  labels:\n    ${E2E_LABEL}: console\n`, { dryRun: true })
    await d.locator('[data-test="apply-results"] .el-table__row', { hasText: NS }).getByText('Created').waitFor()
    await snap('c05-apply-namespace')
    await d.getByRole('button', { name: 'Close', exact: true }).click()
    await rowWith(page, 'resources-table', NS, 'Active')
  })

  await step('create a Deployment from YAML and see it become ready live', async () => {
    await nav('deployments.apps')
    await page.waitForURL(/\/resources\/deployments\.apps/)
    await page.locator('[data-test="namespace-select"]').click()
    await page.locator('.el-select-dropdown__item:visible', { hasText: NS }).click()
    await page.waitForURL(new RegExp(`namespace=${NS}`))
    await page.locator('[data-live="live"]').waitFor()
    const d = await applyYaml(deploymentYaml(1))
    await d.locator('[data-test="apply-results"]').getByText('Created').waitFor()
    await d.getByRole('button', { name: 'Close', exact: true }).click()
    // No refresh: the watch brings the ready count from 0/1 to 1/1.
    const row = await rowWith(page, 'resources-table', 'web')
    await row.locator('td.col-ready', { hasText: '1/1' }).waitFor({ timeout: 60_000 })
    await snap('c06-deployments')
  })

  await step('edit the Deployment YAML: add a label and save', async () => {
    await page.locator('[data-test="object-web"]').click()
    await page.waitForURL(new RegExp(`/resources/deployments\\.apps/${NS}/web`))
    await page.locator('[data-test="object-summary"]').waitFor()
    await page.locator('.el-tabs__item', { hasText: 'YAML' }).click()
    const editor = page.locator('[data-test="yaml-editor"]')
    await editor.locator('.cm-content').waitFor()
    const res = await api(`/clusters/${clusterId}/proxy/apis/apps/v1/namespaces/${NS}/deployments/web`)
    const obj = JSON.parse(res.body)
    delete obj.metadata.managedFields
    obj.metadata.labels.tier = 'frontend-e2e'
    await fillEditor(editor, dump(obj))
    await snap('c07-yaml-edit')
    await page.locator('[data-test="yaml-save"]').click()
    await page.getByText('web saved').waitFor()
    const saved = JSON.parse((await api(`/clusters/${clusterId}/proxy/apis/apps/v1/namespaces/${NS}/deployments/web`)).body)
    assert.equal(saved.metadata.labels.tier, 'frontend-e2e')
    await page.locator('.el-tabs__item', { hasText: 'Summary' }).click()
    await page.locator('[data-test="object-labels"]', { hasText: 'tier=frontend-e2e' }).waitFor()
  })

  await step('a stale save is refused with the server message', async () => {
    // Someone else changes the object; the editor still holds the old resourceVersion.
    await page.locator('.el-tabs__item', { hasText: 'YAML' }).click()
    const editor = page.locator('[data-test="yaml-editor"]')
    const before = JSON.parse((await api(`/clusters/${clusterId}/proxy/apis/apps/v1/namespaces/${NS}/deployments/web`)).body)
    delete before.metadata.managedFields
    before.metadata.labels.tier = 'stale'
    await fillEditor(editor, dump(before))
    await api(`/clusters/${clusterId}/proxy/apis/apps/v1/namespaces/${NS}/deployments/web`, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/merge-patch+json' },
      body: JSON.stringify({ metadata: { annotations: { 'e2e/touched': 'yes' } } }),
    })
    await page.locator('[data-test="yaml-save"]').click()
    await page.locator('[data-test="yaml-error"]', { hasText: /modified|conflict/i }).waitFor()
    await snap('c08-yaml-conflict')
    await page.locator('[data-test="yaml-reset"]').click()
  })

  await step('scale to 3 and see 3 pods', async () => {
    await page.locator('[data-test="action-scale"]').click()
    const d = dialog(page, 'scale-dialog')
    await d.waitFor({ state: 'visible' })
    await d.locator('[data-test="scale-replicas"] input').fill('3')
    await d.locator('[data-test="scale-replicas"] input').press('Tab')
    await d.locator('[data-test="scale-submit"]').click()
    await d.waitFor({ state: 'hidden' })
    await page.locator('.el-tabs__item', { hasText: 'Pods' }).click()
    await page.locator('[data-test="related-pods-count"]', { hasText: '3 pods' }).waitFor({ timeout: 60_000 })
    await page.waitForFunction(
      () => [...document.querySelectorAll('[data-test="related-pods"] td.col-status')].filter((td) => td.textContent.includes('Running')).length === 3,
      undefined,
      { timeout: 60_000 },
    )
    await snap('c09-related-pods')
    await page.locator('.el-tabs__item', { hasText: 'Summary' }).click()
    await page.locator('[data-field="ready"]', { hasText: '3/3' }).waitFor({ timeout: 60_000 })
  })

  await step('restart the Deployment', async () => {
    await page.locator('[data-test="action-restart"]').click()
    await page.locator('.el-message-box').getByRole('button', { name: 'Restart' }).click()
    await page.getByText('Rollout restart of web started').waitFor()
    const obj = JSON.parse((await api(`/clusters/${clusterId}/proxy/apis/apps/v1/namespaces/${NS}/deployments/web`)).body)
    assert.ok(obj.spec.template.metadata.annotations?.['kubectl.kubernetes.io/restartedAt'], 'the pod template carries restartedAt')
  })

  await step('select several ConfigMaps and delete them together', async () => {
    await nav('configmaps')
    await page.waitForURL(/\/resources\/configmaps/)
    const cm = (name) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: ${NS}\ndata:\n  key: value\n`
    const d = await applyYaml(`${cm('settings-a')}---\n${cm('settings-b')}`)
    await d.locator('[data-test="apply-results"] .el-table__row').nth(1).waitFor()
    await d.getByRole('button', { name: 'Close', exact: true }).click()
    for (const name of ['settings-a', 'settings-b']) {
      const row = await rowWith(page, 'resources-table', name)
      await row.locator('.el-checkbox').click()
    }
    await page.locator('[data-test="delete-selected"]', { hasText: '(2)' }).click()
    await page.locator('.el-message-box').getByRole('button', { name: 'Delete' }).click()
    await page.getByText('2 objects deleted').waitFor()
    await page.locator('[data-test="resources-table"] .el-table__row', { hasText: 'settings-a' }).waitFor({ state: 'detached' })
    assert.equal(await page.locator('[data-test="resources-table"] .el-table__row', { hasText: 'settings-b' }).count(), 0)
  })

  await step('a custom resource kind gets its own page', async () => {
    await nav('customresourcedefinitions.apiextensions.k8s.io')
    await page.waitForURL(/\/resources\/customresourcedefinitions/)
    const crd = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gadgets.${CRD_GROUP}
  labels:
    ${E2E_LABEL}: console
spec:
  group: ${CRD_GROUP}
  names: {kind: Gadget, plural: gadgets, singular: gadget, listKind: GadgetList}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
`
    const d = await applyYaml(crd)
    await d.locator('[data-test="apply-results"]').getByText('Created').waitFor()
    await d.getByRole('button', { name: 'Close', exact: true }).click()
    await rowWith(page, 'resources-table', `gadgets.${CRD_GROUP}`, 'Gadget')
    // The API serves the new kind once the CRD is established.
    const cr = { apiVersion: `${CRD_GROUP}/v1`, kind: 'Gadget', metadata: { name: 'gizmo', namespace: NS }, spec: { size: 3 } }
    let status = 0
    for (let i = 0; i < 40 && status !== 201; i++) {
      if (i) await page.waitForTimeout(500)
      status = (
        await api(`/clusters/${clusterId}/proxy/apis/${CRD_GROUP}/v1/namespaces/${NS}/gadgets`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify(cr),
        })
      ).status
    }
    assert.equal(status, 201, 'the custom resource was created')
    // The navigator picks the new kind up from discovery by itself (the server's discovery
    // cache is refreshed within ten seconds).
    const entry = page.locator(`[data-nav="kind-gadgets.${CRD_GROUP}"]`)
    await entry.waitFor({ timeout: 30_000 })
    await entry.click()
    await rowWith(page, 'resources-table', 'gizmo', NS)
    await snap('c10-custom-kind')
  })

  await step('cordon and uncordon a node', async () => {
    await nav('nodes')
    await page.waitForURL(/\/resources\/nodes/)
    await page.locator('[data-test="object-kwok-node-1"]').click()
    await page.locator('[data-test="action-cordon"]').click()
    await page.locator('[data-field="status"]', { hasText: 'SchedulingDisabled' }).waitFor()
    await snap('c11-node-cordoned')
    await page.locator('[data-test="action-uncordon"]').click()
    await page.locator('[data-test="action-cordon"]').waitFor()
    await page.waitForFunction(() => !document.querySelector('[data-field="status"]')?.textContent?.includes('SchedulingDisabled'))
  })

  const realNodeReady = env.realNode.startsWith('ready')
  // Without the real node these steps skip locally and fail under KUBESPACE_REQUIRE_ALL=1.
  const needsRealNode = async (name, fn) =>
    step(name, async (st) => {
      if (skipUnless(st, realNodeReady, `the real node is not ready (${env.realNode})`)) return
      await fn()
    })

  await needsRealNode('follow the log of a real container', async () => {
    await nav('pods')
    await page.waitForURL(/\/resources\/pods/)
    const d = await applyYaml(tickerYaml)
    await d.locator('[data-test="apply-results"]').getByText('Created').waitFor()
    await d.getByRole('button', { name: 'Close', exact: true }).click()
    const row = await rowWith(page, 'resources-table', 'ticker', NS)
    await row.locator('td.col-status', { hasText: 'Running' }).waitFor({ timeout: 90_000 })
    await row.locator('[data-test="object-ticker"]').click()
    await page.locator('.el-tabs__item', { hasText: 'Logs' }).click()
    const logs = page.locator('[data-test="pod-logs"]')
    await logs.getByText(/tick-\d+/).first().waitFor({ timeout: 30_000 })
    const last = async () => Math.max(...[...(await logs.innerText()).matchAll(/tick-(\d+)/g)].map((m) => Number(m[1])))
    const first = await last()
    // Following: lines written after the page opened keep arriving.
    await page.waitForFunction(
      (n) => [...(document.querySelector('[data-test="pod-logs"]')?.textContent ?? '').matchAll(/tick-(\d+)/g)].some((m) => Number(m[1]) >= n),
      first + 3,
      { timeout: 30_000 },
    )
    assert.match(await logs.innerText(), /^\d{4}-\d\d-\d\dT\S+ tick-\d+$/m, 'timestamps are on')
    await snap('c12-logs')
    const download = page.waitForEvent('download')
    await page.locator('[data-test="logs-download"]').click()
    const file = await download
    assert.equal(file.suggestedFilename(), 'ticker-main.log')
    assert.match(readFileSync(await file.path(), 'utf8'), /tick-\d+/)
  })

  await needsRealNode('run a command in the terminal', async () => {
    await page.locator('.el-tabs__item', { hasText: 'Terminal' }).click()
    await page.locator('[data-test="terminal-state"][data-state="open"]').waitFor({ timeout: 30_000 })
    const a = 1000 + Math.floor(Math.random() * 9000)
    const b = 1000 + Math.floor(Math.random() * 9000)
    await runInTerminal(`echo hello-$((${a}+${b}))`, new RegExp(`^hello-${a + b}\\s*$`))
    await snap('c13-terminal')
  })

  await needsRealNode('resizing the browser resizes the terminal', async () => {
    const size = page.locator('[data-test="terminal-size"]')
    const read = async () => ({ cols: Number(await size.getAttribute('data-cols')), rows: Number(await size.getAttribute('data-rows')) })
    const before = await read()
    await runInTerminal('stty size', new RegExp(`^${before.rows} ${before.cols}\\s*$`))
    await page.setViewportSize({ width: 1100, height: 760 })
    await page.waitForFunction(
      ([c, r]) => {
        const el = document.querySelector('[data-test="terminal-size"]')
        return el && (Number(el.getAttribute('data-cols')) !== c || Number(el.getAttribute('data-rows')) !== r)
      },
      [before.cols, before.rows],
    )
    const after = await read()
    assert.ok(after.cols < before.cols, `narrower terminal (${before.cols} -> ${after.cols} columns)`)
    await runInTerminal('stty size', new RegExp(`^${after.rows} ${after.cols}\\s*$`))
    await snap('c14-terminal-resized')
    await page.setViewportSize({ width: 1440, height: 900 })
  })

  await step('a cluster viewer sees no write actions', async () => {
    const user = await api('/users', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(VIEWER),
    })
    assert.equal(user.status, 201, user.body)
    const grant = await api('/role-bindings', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ user_id: JSON.parse(user.body).id, scope: 'cluster', scope_id: clusterId, role: 'viewer' }),
    })
    assert.equal(grant.status, 201, grant.body)
    await userMenu(page, 'menu-logout')
    await page.locator('.login-card').waitFor()
    await signIn(VIEWER)
    const row = await rowWith(page, 'clusters-table', CLUSTER)
    assert.equal(await page.locator('[data-test="cluster-import"]').count(), 0, 'no import')
    assert.equal(await row.locator(`[data-test="cluster-edit-${CLUSTER}"], [data-test="cluster-delete-${CLUSTER}"]`).count(), 0, 'no edit or delete')
    await row.locator(`[data-test="cluster-kubeconfig-${CLUSTER}"]`).waitFor()
    await page.goto(`${url}/clusters/${clusterId}/resources/deployments.apps?namespace=${NS}`)
    await rowWith(page, 'resources-table', 'web')
    assert.equal(await page.locator('[data-test="apply-open"], [data-test="delete-selected"], [data-test="delete-web"]').count(), 0)
    await page.locator('[data-test="object-web"]').click()
    await page.locator('[data-test="object-summary"]').waitFor()
    assert.equal(await page.locator('[data-test^="action-"]').count(), 0, 'no actions')
    await page.locator('.el-tabs__item', { hasText: 'YAML' }).click()
    await page.locator('[data-test="object-yaml"]').getByText('Read only').waitFor()
    assert.equal(await page.locator('[data-test="yaml-save"]').count(), 0)
    await snap('c15-viewer-read-only')
    await userMenu(page, 'menu-logout')
    await page.locator('.login-card').waitFor()
    await signIn(ADMIN)
  })

  await step('delete the custom resource definition and the namespace', async () => {
    await page.locator(`[data-test="cluster-open-${CLUSTER}"]`).click()
    await nav('customresourcedefinitions.apiextensions.k8s.io')
    const crd = await rowWith(page, 'resources-table', `gadgets.${CRD_GROUP}`)
    await crd.locator(`[data-test="delete-gadgets.${CRD_GROUP}"]`).click()
    await page.locator('.el-message-box').getByRole('button', { name: 'Delete' }).click()
    await page.locator('[data-test="resources-table"] .el-table__row', { hasText: `gadgets.${CRD_GROUP}` }).waitFor({ state: 'detached' })
    await nav('namespaces')
    await page.waitForURL(/\/resources\/namespaces/)
    const row = await rowWith(page, 'resources-table', NS)
    await row.locator(`[data-test="delete-${NS}"]`).click()
    await page.locator('.el-message-box').getByRole('button', { name: 'Delete' }).click()
    await page.getByText('1 object deleted').last().waitFor()
    await rowWith(page, 'resources-table', NS, 'Terminating')
    await snap('c16-namespace-terminating')
  })

  await step('remove the cluster after typing its name', async () => {
    await page.locator('[data-test="cluster-back"]').click()
    await page.waitForURL(/\/clusters$/)
    await page.locator(`[data-test="cluster-delete-${CLUSTER}"]`).click()
    const d = dialog(page, 'cluster-delete-dialog')
    await d.waitFor({ state: 'visible' })
    const confirm = d.locator('[data-test="cluster-delete-confirm"]')
    await d.locator('input[name="confirm_name"]').fill(CLUSTER.slice(0, -1))
    assert.ok(await confirm.isDisabled(), 'a wrong name does not confirm')
    await d.locator('input[name="confirm_name"]').fill(CLUSTER)
    await snap('c17-cluster-delete')
    await confirm.click()
    await d.waitFor({ state: 'hidden' })
    await page.locator('[data-test="clusters-table"] .el-table__row', { hasText: CLUSTER }).waitFor({ state: 'detached' })
    clusterId = 0
  })

  await step('no uncaught page errors', async () => {
    assert.deepEqual(errors, [])
  })
})
