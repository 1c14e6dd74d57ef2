// The pipelines console end to end against a fresh all-in-one server (its controllers and its
// local spacelet run in the same process): define a pipeline in the editor (stages reordered by
// dragging, a job form drawn from the plugin schema, the YAML view), run it, watch its job log
// stream live, execute the manual stage with a parameter, retry a failed job until the run
// succeeds, and the spacelets page with a registration token. Run with
// ui/e2e/run.sh <server-binary> ui/e2e/pipelines.test.mjs.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { dialog, flow, launch, rowWith, screenshot, target } from './lib.mjs'
import { makeRepo, serveGit } from './gitserver.mjs'

const ADMIN = { username: 'admin', email: 'admin@example.com', password: 'Adm1n-e2e-Passw0rd' }
const WORKSPACE = 'e2e-pipelines'
const PIPELINE = 'e2e-deliver'
const shots = process.env.KUBESPACE_E2E_SHOTS === '1'

test('pipelines', async (t) => {
  const { url, setupToken } = target()
  const browser = await launch()
  // The local spacelet runs on this machine: the flaky job keeps its "failed once" marker here.
  const scratch = mkdtempSync(join(tmpdir(), 'kubespace-e2e-pipelines-'))
  // A repository behind git http-backend with basic auth, for the code workspace.
  const heads = makeRepo(scratch, 'demo', ['feature-x'])
  const gitServer = await serveGit(scratch, 'e2e-git', 'Git-e2e-Passw0rd')
  t.after(async () => {
    await gitServer.close()
    rmSync(scratch, { recursive: true, force: true })
    await browser.close()
  })
  const { page } = browser
  const step = flow(t, page)
  const snap = async (name) => {
    if (!shots) return
    await page.waitForTimeout(400)
    console.log(`screenshot: ${await screenshot(page, name)}`)
  }
  const errors = []
  page.on('pageerror', (err) => errors.push(err.message))
  // Every request the run page makes, to prove it follows the event stream instead of polling.
  const requests = []
  page.on('request', (r) => requests.push(r.url()))

  const stage = (name) => page.locator(`[data-test="stage-graph"] .stage[data-stage="${name}"]`)
  const job = (name) => page.locator(`[data-test="stage-graph"] .job[data-job="${name}"]`)
  const log = page.locator('[data-test="job-log"]')
  let runUrl = ''

  await step('setup signs the administrator in', async () => {
    await page.goto(`${url}/`)
    await page.waitForURL(/\/setup$/)
    const form = page.locator('.setup-card')
    await form.locator('input[name="username"]').fill(ADMIN.username)
    await form.locator('input[name="email"]').fill(ADMIN.email)
    await form.locator('input[name="password"]').fill(ADMIN.password)
    await form.locator('input[name="confirm"]').fill(ADMIN.password)
    await form.locator('input[name="setup_token"]').fill(setupToken)
    await form.locator('button[type="submit"]').click()
    await page.waitForURL(/\/clusters$/)
  })

  await step('the spacelets page lists the local spacelet with its load, version and status', async () => {
    await page.locator('[data-nav="spacelets"]').click()
    await page.waitForURL(/\/spacelets$/)
    const row = page.locator('[data-test="spacelets-table"] .el-table__body tr.el-table__row').first()
    await row.waitFor()
    await row.locator('[data-status="online"]').waitFor()
    assert.match((await row.locator('[data-load]').getAttribute('data-load')) ?? '', /^\d+\/\d+$/)
    await page.locator('[data-test="live-state"][data-live="live"]').waitFor()
    await snap('pipelines-00-spacelets')
  })

  await step('a registration token shows the one-line start command once', async () => {
    await page.locator('[data-test="spacelet-token-create"]').click()
    const d = dialog(page, 'spacelet-token-dialog')
    await d.locator('input[name="token-name"]').fill('e2e-builders')
    await d.locator('[data-test="spacelet-token-save"]').click()
    const secret = dialog(page, 'spacelet-token-secret')
    const command = await secret.locator('[data-test="spacelet-command"]').innerText()
    assert.match(command, /SERVER_URL=/)
    assert.match(command, /spacelet/)
    await secret.locator('[data-test="spacelet-token-close"]').click()
    await rowWith(page, 'spacelet-tokens-table', 'e2e-builders')
    await page.locator('[data-test="spacelet-token-revoke-e2e-builders"]').click()
    await page.locator('.el-message-box .el-button--danger').click()
    await page.locator('[data-test="spacelet-tokens-table"] .el-table__body tr.el-table__row', { hasText: 'e2e-builders' }).waitFor({ state: 'detached' })
  })

  await step('the pipelines area speaks Chinese', async () => {
    await page.locator('[data-test="user-menu"]').click()
    await page.locator('.el-dropdown-menu [data-test="menu-lang-zh-CN"]').click()
    await page.locator('[data-nav="pipeline-workspaces"]', { hasText: '流水线空间' }).waitFor()
    await page.locator('[data-nav="spacelets"]', { hasText: '构建节点' }).waitFor()
    await page.locator('[data-test="user-menu"]').click()
    await page.locator('.el-dropdown-menu [data-test="menu-lang-en"]').click()
    await page.locator('[data-nav="spacelets"]', { hasText: 'Spacelets' }).waitFor()
  })

  await step('a code workspace whose repository cannot be reached is refused with the reason', async () => {
    await page.locator('[data-nav="pipeline-workspaces"]').click()
    await page.waitForURL(/\/pipelines$/)
    await page.locator('[data-test="pws-create"]').click()
    const d = dialog(page, 'pws-dialog')
    await d.waitFor()
    // Creating a code workspace lists its branches first: nothing listens on port 9.
    await d.locator('input[name="code_url"]').fill('http://127.0.0.1:9/nobody/nothing.git')
    await d.locator('[data-test="pws-save"]').click()
    const reason = page.locator('.el-message--error, .el-dialog[data-test="pws-dialog"] .el-form-item__error').first()
    await reason.waitFor({ timeout: 30_000 })
    assert.notEqual((await reason.innerText()).trim(), '')
    assert.ok(await d.isVisible(), 'the dialog stays open')
    await d.locator('button', { hasText: 'Cancel' }).click()
    await d.waitFor({ state: 'hidden' })
  })

  await step('a code workspace reads its repository with a secret: its branches and two default pipelines', async () => {
    const secret = await page.evaluate(async () => {
      const res = await fetch('/api/v1/secrets', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ name: 'e2e-git', description: '', type: 'password', username: 'e2e-git', password: 'Git-e2e-Passw0rd' }),
      })
      return res.status
    })
    assert.equal(secret, 201)
    await page.locator('[data-test="pws-create"]').click()
    const d = dialog(page, 'pws-dialog')
    await d.waitFor()
    await d.locator('input[name="code_url"]').fill(`${gitServer.url}/demo.git`)
    await d.locator('[data-test="pws-secret"]').click()
    await page.locator('.el-select-dropdown__item:visible', { hasText: 'e2e-git' }).click()
    await d.locator('input[name="name"]').fill('e2e-code')
    await d.locator('[data-test="pws-save"]').click()
    await d.waitFor({ state: 'hidden', timeout: 30_000 })
    await rowWith(page, 'pws-table', 'e2e-code', 'Code', `${gitServer.url}/demo.git`)
    await page.locator('[data-test="pws-open-e2e-code"]').click()
    await rowWith(page, 'pipelines-table', 'branch builds')
    await rowWith(page, 'pipelines-table', 'trunk builds')
    await page.locator('.el-tabs__item', { hasText: 'Branches' }).click()
    await rowWith(page, 'branches-table', 'feature-x', heads['feature-x'])
    await rowWith(page, 'branches-table', 'main', heads.main)
  })

  await step('a branch build runs on the branch chosen, at its head commit', async () => {
    await page.locator('.el-tabs__item', { hasText: 'Pipelines' }).click()
    await page.locator('[data-test="pipeline-run-branch builds"]').click()
    const d = dialog(page, 'run-start-dialog')
    await d.waitFor()
    await d.locator('[data-test="run-branch"]').click()
    await page.locator('.el-select-dropdown__item:visible', { hasText: 'feature-x' }).click()
    await d.locator('[data-test="run-start-submit"]').click()
    await page.waitForURL(/\/pipelines\/runs\/\d+$/)
    await job('build').click()
    await log.getByText(`building feature-x at ${heads['feature-x']}`).waitFor({ timeout: 60_000 })
    await page.locator('[data-test="run-status"][data-status="ok"]').waitFor({ timeout: 30_000 })
    await page.locator('[data-nav="pipeline-workspaces"]').click()
  })

  await step('a custom pipeline workspace is created from the menu', async () => {
    await page.locator('[data-nav="pipeline-workspaces"]').click()
    await page.waitForURL(/\/pipelines$/)
    await page.locator('[data-test="pws-create"]').click()
    const d = dialog(page, 'pws-dialog')
    await d.waitFor()
    await d.locator('[data-test="pws-type-custom"]').click()
    await d.locator('input[name="name"]').fill(WORKSPACE)
    await d.locator('input[name="description"]').fill('made by the e2e suite')
    await d.locator('[data-test="pws-save"]').click()
    await d.waitFor({ state: 'hidden' })
    await rowWith(page, 'pws-table', WORKSPACE, 'Custom')
    await page.locator(`[data-test="pws-open-${WORKSPACE}"]`).click()
    await page.waitForURL(/\/pipelines\/workspaces\/\d+$/)
    await page.locator('[data-test="pipelines-table"]').waitFor()
  })

  const fillJob = async (name, script) => {
    const d = dialog(page, 'job-dialog')
    await d.waitFor()
    await d.locator('input[name="job-name"]').fill(name)
    // The plugin's params_schema draws the form: its script is a multi-line field.
    await d.locator('textarea[name="param-script"]').fill(script)
    await d.locator('[data-test="job-save"]').click()
    await d.waitFor({ state: 'hidden' })
  }

  await step('the editor defines stages and jobs from the plugin schema and reorders them by dragging', async () => {
    await page.locator('[data-test="pipeline-create"]').click()
    await page.waitForURL(/\/new$/)
    await page.locator('input[name="pipeline-name"]').fill(PIPELINE)
    // Stage 1 exists; name it and give it a job whose log streams over a few seconds, in colour.
    await page.locator('input[name="stage-name-0"]').fill('build')
    await page.locator('[data-test="stage-add-job-0"]').click()
    await fillJob(
      'compile',
      [
        "printf '\\033[32mcompile started\\033[0m\\n'",
        'sleep 3',
        'echo "compile finished"',
        'echo "ARTIFACT=app-1.0.tgz" >> "$PIPELINE_OUTPUT"',
      ].join('\n'),
    )
    // Stage 2: a job that fails the first time and succeeds when retried.
    await page.locator('[data-test="stage-add"]').click()
    await page.locator('input[name="stage-name-1"]').fill('verify')
    await page.locator('[data-test="stage-add-job-1"]').click()
    const marker = join(scratch, 'failed-once')
    await fillJob('flaky', `if [ ! -e '${marker}' ]; then touch '${marker}'; echo "first attempt fails"; exit 3; fi\necho "verified $ARTIFACT"`)
    // Stage 3: manual, with a parameter.
    await page.locator('[data-test="stage-add"]').click()
    await page.locator('input[name="stage-name-2"]').fill('deploy')
    await page.locator('[data-test="stage-manual-2"]').click()
    await page.locator('[data-test="stage-add-param-2"]').click()
    await page.locator('input[name="stage-2-param-0-name"]').fill('TARGET')
    await page.locator('input[name="stage-2-param-0-default"]').fill('staging')
    await page.locator('[data-test="stage-add-job-2"]').click()
    await fillJob('release', 'echo "deploying $ARTIFACT to $TARGET"')
    // Drag the manual stage before "verify": build → deploy → verify.
    await page.locator('[data-test="stage-handle-2"]').dragTo(page.locator('[data-test="stage-1"]'))
    assert.equal(await page.locator('input[name="stage-name-1"]').inputValue(), 'deploy')
    assert.equal(await page.locator('input[name="stage-name-2"]').inputValue(), 'verify')
    // And back: verify before deploy, so the manual stage comes last again.
    await page.locator('[data-test="stage-handle-2"]').dragTo(page.locator('[data-test="stage-1"]'))
    assert.equal(await page.locator('input[name="stage-name-1"]').inputValue(), 'verify')
    assert.equal(await page.locator('input[name="stage-name-2"]').inputValue(), 'deploy')
    await snap('pipelines-01-editor')
  })

  await step('the YAML view shows the definition and reads edits back into the form', async () => {
    await page.locator('.el-tabs__item', { hasText: 'YAML' }).click()
    const editor = page.locator('[data-test="pipeline-yaml"] .cm-content')
    await editor.waitFor()
    const text = await editor.innerText()
    assert.match(text, /plugin_key: execute_shell/)
    assert.match(text, /trigger_mode: manual/)
    assert.match(text, /name: TARGET/)
    await page.locator('.el-tabs__item', { hasText: 'Form' }).click()
    assert.equal(await page.locator('input[name="stage-name-2"]').inputValue(), 'deploy')
  })

  await step('saving lists the pipeline, never run', async () => {
    await page.locator('[data-test="pipeline-save"]').click()
    await page.waitForURL(/\/pipelines\/workspaces\/\d+$/)
    const row = await rowWith(page, 'pipelines-table', PIPELINE)
    await row.locator('[data-status="none"]').waitFor()
  })

  await step('the saved pipeline opens in the editor and exports as YAML', async () => {
    await page.locator(`[data-test="pipeline-edit-${PIPELINE}"]`).click()
    await page.waitForURL(/\/pipelines\/\d+\/edit$/)
    assert.equal(await page.locator('input[name="stage-name-2"]').inputValue(), 'deploy')
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('[data-test="pipeline-export"]').click()])
    const file = join(scratch, 'exported.yaml')
    await download.saveAs(file)
    const text = readFileSync(file, 'utf8')
    assert.match(text, new RegExp(`name: ${PIPELINE}`))
    assert.match(text, /trigger_mode: manual/)
    await page.locator('.page-actions button', { hasText: 'Cancel' }).click()
    await page.waitForURL(/\/pipelines\/workspaces\/\d+$/)
  })

  await step('a run started by hand opens its page, which follows the event stream', async () => {
    await page.locator(`[data-test="pipeline-run-${PIPELINE}"]`).click()
    const d = dialog(page, 'run-start-dialog')
    await d.waitFor()
    await d.locator('[data-test="run-start-submit"]').click()
    await page.waitForURL(/\/pipelines\/runs\/\d+$/)
    runUrl = page.url()
    await page.locator('[data-test="live-state"][data-live="live"]').waitFor()
    assert.ok(
      requests.some((u) => /\/api\/v1\/events\?topics=run%3A\d+/.test(u)),
      'the run page subscribes to its run on /api/v1/events',
    )
    await stage('build').waitFor()
  })

  await step('the job log streams while the job runs, with its colours', async () => {
    await job('compile').click()
    // The first line arrives while the job still sleeps: streamed, not read at the end.
    await log.locator('.ansi-green', { hasText: 'compile started' }).waitFor({ timeout: 30_000 })
    assert.doesNotMatch(await log.innerText(), /compile finished/, 'the first line is shown before the job writes the last')
    await log.getByText('compile finished').waitFor({ timeout: 30_000 })
    await job('compile').and(page.locator('[data-status="ok"]')).waitFor()
    // Read as it was written: every line once, in order.
    assert.match(await log.innerText(), /^compile started\ncompile finished\s*$/)
    // Download saves the whole log as text (colour codes and all).
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('[data-test="log-download"]').click()])
    const file = join(scratch, 'compile.log')
    await download.saveAs(file)
    const text = readFileSync(file, 'utf8')
    assert.match(text, /\u001b\[32mcompile started\u001b\[0m\n/)
    assert.match(text, /compile finished/)
    await snap('pipelines-02-log')
  })

  await step('a failed job is retried and the run goes on to the manual stage', async () => {
    await stage('verify').and(page.locator('[data-status="error"]')).waitFor({ timeout: 30_000 })
    await job('flaky').click()
    await log.getByText('first attempt fails').waitFor()
    await page.locator('[data-test="run-status"][data-status="error"]').waitFor()
    await page.locator('[data-test="stage-retry-verify"]').click()
    await stage('verify').and(page.locator('[data-status="ok"]')).waitFor({ timeout: 30_000 })
    await job('flaky').click()
    await log.getByText('verified app-1.0.tgz').waitFor({ timeout: 30_000 })
    // The manual stage waits for a person.
    await stage('deploy').and(page.locator('[data-status="pause"]')).waitFor({ timeout: 30_000 })
    await snap('pipelines-03-paused')
  })

  await step('the manual stage runs with the parameter given in its dialog', async () => {
    await page.locator('[data-test="stage-execute-deploy"]').click()
    const d = dialog(page, 'manual-stage-dialog')
    await d.waitFor()
    const param = d.locator('input[name="param-TARGET"]')
    assert.equal(await param.inputValue(), 'staging', 'the default is filled in')
    await param.fill('production')
    await d.locator('[data-test="manual-stage-execute"]').click()
    await d.waitFor({ state: 'hidden' })
    await stage('deploy').and(page.locator('[data-status="ok"]')).waitFor({ timeout: 30_000 })
    await job('release').click()
    await log.getByText('deploying app-1.0.tgz to production').waitFor({ timeout: 30_000 })
    await page.locator('[data-test="run-status"][data-status="ok"]').waitFor()
    await snap('pipelines-04-done')
  })

  await step('re-executing the manual stage asks for its parameters again and runs it', async () => {
    await page.locator('[data-test="stage-reexecute-deploy"]').click()
    const d = dialog(page, 'manual-stage-dialog')
    await d.waitFor()
    await d.locator('input[name="param-TARGET"]').fill('canary')
    await d.locator('[data-test="manual-stage-execute"]').click()
    await d.waitFor({ state: 'hidden' })
    await job('release').click()
    await log.getByText('deploying app-1.0.tgz to canary').waitFor({ timeout: 30_000 })
    await stage('deploy').and(page.locator('[data-status="ok"]')).waitFor({ timeout: 30_000 })
    await page.locator('[data-test="run-status"][data-status="ok"]').waitFor()
  })

  await step('the run page never polls: with nothing changing it reads nothing', async () => {
    const runId = runUrl.match(/\/runs\/(\d+)$/)[1]
    const reads = () => requests.filter((u) => new RegExp(`/api/v1/pipeline-runs/${runId}$`).test(u)).length
    const before = reads()
    const events = requests.filter((u) => /\/api\/v1\/events\?/.test(u)).length
    console.log(`run page: ${before} reads of the run while it ran, ${events} event stream connections in the session`)
    assert.ok(events >= 1, 'the event stream was opened')
    // The run is finished: no event arrives, so a page that follows events reads nothing more,
    // while one that polls would.
    await page.waitForTimeout(4000)
    assert.equal(reads(), before, 'no reads of a run that does not change')
  })

  await step('the runs list and the pipeline list show the successful run', async () => {
    await page.locator('[data-test="run-back"]').click()
    await page.waitForURL(/\/pipelines\/\d+\/runs$/)
    const row = await rowWith(page, 'runs-table', '#1')
    await row.locator('[data-status="ok"]').waitFor()
    await snap('pipelines-05-runs')
    await page.locator('[data-nav="pipeline-workspaces"]').click()
    await page.locator(`[data-test="pws-open-${WORKSPACE}"]`).click()
    const p = await rowWith(page, 'pipelines-table', PIPELINE, '#1')
    await p.locator('[data-status="ok"]').waitFor()
    await snap('pipelines-06-workspace')
  })

  await step('a pipeline sourced from another runs on its latest successful run', async () => {
    await page.locator('[data-test="pipeline-create"]').click()
    await page.waitForURL(/\/new$/)
    await page.locator('input[name="pipeline-name"]').fill('e2e-chained')
    await page.locator('button', { hasText: 'Runs of a pipeline' }).click()
    await page.locator('[data-test="pipeline-picker"]').click()
    await page.locator('.el-select-dropdown__item:visible', { hasText: `${WORKSPACE} / ${PIPELINE}` }).click()
    await page.locator('input[name="stage-name-0"]').fill('use')
    await page.locator('[data-test="stage-add-job-0"]').click()
    await fillJob('consume', 'echo "consuming build $PIPELINE_BUILD_NUMBER"')
    await page.locator('[data-test="pipeline-save"]').click()
    await page.waitForURL(/\/pipelines\/workspaces\/\d+$/)
    await page.locator('[data-test="pipeline-run-e2e-chained"]').click()
    const d = dialog(page, 'run-start-dialog')
    await d.waitFor()
    // The source's successful runs are offered, the newest chosen.
    await d.locator('.el-select__selected-item', { hasText: '#1' }).waitFor()
    await d.locator('[data-test="run-start-submit"]').click()
    await page.waitForURL(/\/pipelines\/runs\/\d+$/)
    await page.locator('[data-test="run-source"]').waitFor()
    await page.locator('[data-test="run-status"][data-status="ok"]').waitFor({ timeout: 30_000 })
    await page.locator('[data-nav="pipeline-workspaces"]').click()
    await page.locator(`[data-test="pws-open-${WORKSPACE}"]`).click()
  })

  await step('a definition the server refuses shows each field it names, and nothing is saved', async () => {
    await page.locator('[data-nav="pipeline-workspaces"]').click()
    await page.locator(`[data-test="pws-open-${WORKSPACE}"]`).click()
    await page.locator('[data-test="pipeline-create"]').click()
    await page.waitForURL(/\/new$/)
    await page.locator('.el-tabs__item', { hasText: 'YAML' }).click()
    const yaml = [
      'name: e2e-refused',
      'triggers:',
      '  - type: cron',
      '    schedule: every full moon',
      'stages:',
      '  - name: build',
      '    trigger_mode: auto',
      '    jobs:',
      '      - name: one',
      '        plugin_key: execute_shell',
      '        params:',
      '          script: echo one',
      '',
    ].join('\n')
    await page.locator('[data-test="pipeline-yaml"] .cm-content').fill(yaml)
    await page.locator('[data-test="pipeline-save"]').click()
    const errors = page.locator('[data-test="pipeline-errors"]')
    await errors.waitFor()
    assert.match(await errors.innerText(), /triggers\[0\]\.schedule/)
    assert.match(page.url(), /\/new$/, 'still in the editor')
    await page.locator('.page-actions button', { hasText: 'Cancel' }).click()
    await page.waitForURL(/\/pipelines\/workspaces\/\d+$/)
    await page.locator('[data-test="pipelines-table"] .el-table__body tr.el-table__row', { hasText: 'e2e-refused' }).waitFor({ state: 'detached' })
  })

  await step('a pipeline imported from YAML waits for a matching spacelet, says why, and is cancelled', async () => {
    await page.locator('[data-nav="pipeline-workspaces"]').click()
    await page.locator(`[data-test="pws-open-${WORKSPACE}"]`).click()
    await page.locator('[data-test="pipeline-import"]').click()
    const d = dialog(page, 'pipeline-import-dialog')
    await d.waitFor()
    const yaml = [
      'name: e2e-waits',
      'stages:',
      '  - name: build',
      '    trigger_mode: auto',
      '    jobs:',
      '      - name: pinned',
      '        plugin_key: execute_shell',
      '        params:',
      '          script: echo never',
      '        schedule:',
      '          labels:',
      '            os: nowhere',
      '',
    ].join('\n')
    await d.locator('.cm-content').fill(yaml)
    await d.locator('[data-test="pipeline-import-submit"]').click()
    await d.waitFor({ state: 'hidden' })
    await rowWith(page, 'pipelines-table', 'e2e-waits')
    await page.locator('[data-test="pipeline-run-e2e-waits"]').click()
    const start = dialog(page, 'run-start-dialog')
    await start.locator('[data-test="run-start-submit"]').click()
    await page.waitForURL(/\/pipelines\/runs\/\d+$/)
    const reason = job('pinned').locator('[data-test="job-reason"]')
    await reason.waitFor({ timeout: 30_000 })
    assert.match(await reason.innerText(), /os=nowhere/)
    await page.locator('[data-test="run-cancel"]').click()
    await page.locator('.el-message-box .el-button--danger').click()
    await page.locator('[data-test="run-status"][data-status="canceled"]').waitFor({ timeout: 30_000 })
    await job('pinned').and(page.locator('[data-status="canceled"]')).waitFor()
  })

  await step('spacelet labels are edited and the spacelet is drained and resumed', async () => {
    await page.locator('[data-nav="spacelets"]').click()
    const row = page.locator('[data-test="spacelets-table"] .el-table__body tr.el-table__row').first()
    await row.waitFor()
    const name = (await row.locator('td').first().innerText()).trim()
    await page.locator(`[data-test="spacelet-labels-${name}"]`).click()
    const d = dialog(page, 'spacelet-labels-dialog')
    const labels = d.locator('textarea[name="labels"]')
    await labels.fill(`${await labels.inputValue()}\ne2e=yes`.trim())
    await d.locator('[data-test="spacelet-labels-save"]').click()
    await d.waitFor({ state: 'hidden' })
    await row.locator('[data-label="e2e=yes"]').waitFor()
    await page.locator(`[data-test="spacelet-drain-${name}"]`).click()
    await row.locator('[data-test="spacelet-draining"]').waitFor()
    await page.locator(`[data-test="spacelet-drain-${name}"]`).click()
    await row.locator('[data-test="spacelet-draining"]').waitFor({ state: 'detached' })
  })

  await step('a viewer of the workspace sees its pipelines, runs and logs, and no actions', async () => {
    const ids = await page.evaluate(async (ws) => {
      const post = async (path, body) => {
        const res = await fetch(`/api/v1${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) })
        if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`)
        return res.json()
      }
      const list = await (await fetch(`/api/v1/pipeline-workspaces?q=${ws}`)).json()
      const workspace = list.items.find((w) => w.name === ws)
      const user = await post('/users', { username: 'vera', password: 'Vera-e2e-Passw0rd', email: 'vera@example.com', display_name: 'Vera' })
      await post('/role-bindings', { user_id: user.id, scope: 'pipeline_workspace', scope_id: workspace.id, role: 'viewer' })
      return { workspace: workspace.id }
    }, WORKSPACE)
    await page.locator('[data-test="user-menu"]').click()
    await page.locator('.el-dropdown-menu [data-test="menu-logout"]').click()
    await page.waitForURL(/\/login/)
    const login = page.locator('.login-card')
    await login.locator('input[name="username"]').fill('vera')
    await login.locator('input[name="password"]').fill('Vera-e2e-Passw0rd')
    await login.locator('button[type="submit"]').click()
    await page.locator('[data-test="user-menu"]', { hasText: 'vera' }).waitFor()
    // Spacelets are for platform roles; the viewer's menu has only the workspaces.
    await page.locator('[data-nav="pipeline-workspaces"]').click()
    assert.equal(await page.locator('[data-nav="spacelets"]').count(), 0)
    assert.equal(await page.locator('[data-test="pws-create"]').count(), 0)
    await rowWith(page, 'pws-table', WORKSPACE)
    await page.locator(`[data-test="pws-open-${WORKSPACE}"]`).click()
    await page.waitForURL(new RegExp(`/pipelines/workspaces/${ids.workspace}$`))
    const row = await rowWith(page, 'pipelines-table', PIPELINE)
    assert.equal(await row.locator(`[data-test="pipeline-run-${PIPELINE}"]`).count(), 0, 'no Run button')
    assert.equal(await page.locator('[data-test="pipeline-create"]').count(), 0, 'no New pipeline button')
    await row.locator('.object-link', { hasText: '#1' }).click()
    await page.waitForURL(/\/pipelines\/runs\/\d+$/)
    await page.locator('[data-test="run-status"][data-status="ok"]').waitFor()
    assert.equal(await page.locator('[data-test^="stage-reexecute-"]').count(), 0, 'no stage actions')
    await job('compile').click()
    await log.getByText('compile finished').waitFor()
  })

  await step('no script errors on any page', async () => {
    assert.deepEqual(errors, [])
  })
})
