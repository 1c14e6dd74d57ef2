// The console end to end, in one ordered flow against a fresh server: first-run
// setup, sign-out and sign-in, users, role bindings, the audit log, the
// language switch and API tokens. Run with ui/e2e/run.sh <server-binary>.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { dialog, flow, launch, rowWith, screenshot, target, userMenu } from './lib.mjs'

const ADMIN = { username: 'admin', email: 'admin@example.com', password: 'Adm1n-e2e-Passw0rd' }
const ALICE = { username: 'alice', display: 'Alice Liddell', email: 'alice@example.com', password: 'Al1ce-e2e-Passw0rd' }
const ALICE_NEW_PASSWORD = 'Al1ce-e2e-N3w-Passw0rd'
const shots = process.env.KUBESPACE_E2E_SHOTS === '1'

test('console', async (t) => {
  const { url, setupToken } = target()
  const browser = await launch()
  t.after(() => browser.close())
  const { page } = browser
  const step = flow(t, page)
  const snap = async (name) => {
    if (!shots) return
    await page.waitForTimeout(400) // let dialogs and tags finish their entrance animation
    console.log(`screenshot: ${await screenshot(page, name)}`)
  }
  const errors = []
  page.on('pageerror', (err) => errors.push(err.message))

  const openUsers = async () => {
    await page.locator('[data-nav="users"]').click()
    await page.waitForURL(/\/settings\/users$/)
  }

  const setupForm = page.locator('.setup-card')
  const submitSetup = () => setupForm.locator('button[type="submit"]').click()

  await step('a fresh install opens the first-run setup', async () => {
    await page.goto(`${url}/`)
    await page.waitForURL(/\/setup$/)
    await setupForm.waitFor()
    await snap('01-setup')
  })

  await step('setup with a wrong token shows an error', async () => {
    await setupForm.locator('input[name="username"]').fill(ADMIN.username)
    await setupForm.locator('input[name="email"]').fill(ADMIN.email)
    await setupForm.locator('input[name="password"]').fill(ADMIN.password)
    await setupForm.locator('input[name="confirm"]').fill(ADMIN.password)
    await setupForm.locator('input[name="setup_token"]').fill(`${setupToken}-wrong`)
    await submitSetup()
    const error = setupForm.locator('.el-alert--error, .el-form-item__error').first()
    await error.waitFor({ state: 'visible' })
    assert.notEqual((await error.innerText()).trim(), '', 'the error has text')
    assert.match(page.url(), /\/setup$/, 'still on the setup page')
    await snap('02-setup-wrong-token')
  })

  await step('setup with the right token signs the administrator in', async () => {
    await setupForm.locator('input[name="setup_token"]').fill(setupToken)
    await submitSetup()
    // The console opens on its home page, the clusters (none yet).
    await page.waitForURL(/\/clusters$/)
    await page.locator('[data-test="user-menu"]', { hasText: ADMIN.username }).waitFor()
    await page.locator('[data-test="clusters-table"]').waitFor()
    await openUsers()
    await rowWith(page, 'users-table', ADMIN.username)
  })

  await step('sign out returns to the login page', async () => {
    await userMenu(page, 'menu-logout')
    await page.waitForURL(/\/login/)
    await page.locator('.login-card').waitFor()
    // The session is gone: the console's own probe is refused now.
    const me = await page.evaluate(async () => (await fetch('/api/v1/users/me', { credentials: 'same-origin' })).status)
    assert.equal(me, 401)
  })

  await step('a wrong password is refused with a message', async () => {
    const login = page.locator('.login-card')
    await login.locator('input[name="username"]').fill(ADMIN.username)
    await login.locator('input[name="password"]').fill('not-the-password')
    await login.locator('button[type="submit"]').click()
    await login.locator('.login-error').waitFor({ state: 'visible' })
    await snap('03-login-error')
  })

  await step('repeated failures are rate limited with a retry time', async () => {
    const login = page.locator('.login-card')
    await login.locator('input[name="username"]').fill('mallory')
    await login.locator('input[name="password"]').fill('guess')
    const submit = login.locator('button[type="submit"]')
    let status = 0
    for (let i = 0; i < 10 && status !== 429; i++) {
      const answer = page.waitForResponse((r) => r.url().endsWith('/api/v1/auth/login'))
      await submit.click()
      status = (await answer).status()
    }
    assert.equal(status, 429, 'the server answers 429 after repeated failures')
    const error = login.locator('.login-error', { hasText: /Too many attempts, retry in \d+ s/ })
    await error.waitFor({ state: 'visible' })
    assert.ok(await submit.isDisabled(), 'the button waits for the retry time')
    await snap('03b-login-rate-limited')
  })

  const signIn = async (username, password) => {
    const login = page.locator('.login-card')
    await login.locator('input[name="username"]').fill(username)
    await login.locator('input[name="password"]').fill(password)
    await login.locator('button[type="submit"]').click()
    await page.waitForURL(/\/clusters$/)
    await page.locator('[data-test="user-menu"]', { hasText: username }).waitFor()
    await openUsers()
  }

  await step('sign in with the right password', async () => {
    const login = page.locator('.login-card')
    await login.locator('input[name="username"]').fill(ADMIN.username)
    await login.locator('input[name="password"]').fill(ADMIN.password)
    await login.locator('button[type="submit"]').click()
    await page.waitForURL(/\/clusters$/)
    await page.locator('[data-test="user-menu"]', { hasText: ADMIN.username }).waitFor()
    await openUsers()
  })

  await step('create a user', async () => {
    await page.locator('[data-test="user-create"]').click()
    const d = dialog(page, 'user-dialog')
    await d.waitFor({ state: 'visible' })
    await d.locator('input[name="username"]').fill(ALICE.username)
    await d.locator('input[name="display_name"]').fill(ALICE.display)
    await d.locator('input[name="email"]').fill(ALICE.email)
    await d.locator('input[name="password"]').fill(ALICE.password)
    await snap('04-user-create')
    await d.locator('[data-test="user-save"]').click()
    await d.waitFor({ state: 'hidden' })
    await rowWith(page, 'users-table', ALICE.username, ALICE.email)
    await snap('05-users')
  })

  await step('grant the user editor at platform scope', async () => {
    await page.locator('[data-nav="role-bindings"]').click()
    await page.waitForURL(/\/settings\/role-bindings$/)
    await page.locator('[data-test="grant-open"]').click()
    const d = dialog(page, 'grant-dialog')
    await d.waitFor({ state: 'visible' })
    await d.locator('[data-test="grant-user"]').click()
    await page.keyboard.type(ALICE.username)
    const option = page.locator('.el-select-dropdown__item:visible', { hasText: ALICE.username })
    await option.first().click()
    await d.locator('[data-test="grant-role"] label', { hasText: 'Editor' }).click()
    await snap('06-grant')
    await d.locator('[data-test="grant-submit"]').click()
    await d.waitFor({ state: 'hidden' })
    await rowWith(page, 'bindings-table', ALICE.username, 'Editor')
    await snap('07-role-bindings')
  })

  await step('the audit log shows the user creation and the grant', async () => {
    await page.locator('[data-nav="audit"]').click()
    await page.waitForURL(/\/settings\/audit$/)
    const rows = page.locator('[data-test="audit-table"] .el-table__body tr.el-table__row')
    await rows.first().waitFor()
    const cells = await rows.evaluateAll((trs) =>
      trs.map((tr) => ({
        action: tr.querySelector('td.col-action')?.textContent?.trim() ?? '',
        resource: tr.querySelector('td.col-resource')?.textContent?.trim() ?? '',
      })),
    )
    const userCreate = cells.find((c) => /create/i.test(c.action) && /^users?\b/i.test(c.resource))
    assert.ok(userCreate, `a user creation row in ${JSON.stringify(cells)}`)
    const grant = cells.find((c) => /create|grant/i.test(c.action) && /role[ _-]?bindings?/i.test(c.resource))
    assert.ok(grant, `a role binding grant row in ${JSON.stringify(cells)}`)
    // Expanding a row shows its details.
    await rows.first().locator('.el-table__expand-icon').click()
    await page.locator('[data-test="audit-table"] .el-descriptions').first().waitFor()
    await snap('08-audit')
  })

  await step('switch to Simplified Chinese and back', async () => {
    await userMenu(page, 'menu-lang-zh-CN')
    await page.locator('[data-nav="users"]', { hasText: '用户' }).waitFor()
    await page.locator('[data-nav="audit"]', { hasText: '审计日志' }).waitFor()
    await page.locator('[data-nav-area="settings"]', { hasText: '平台设置' }).waitFor()
    // The choice survives a reload.
    await page.reload()
    await page.locator('[data-nav="role-bindings"]', { hasText: '角色绑定' }).waitFor()
    await snap('09-audit-zh')
    await userMenu(page, 'menu-lang-en')
    await page.locator('[data-nav="users"]', { hasText: 'Users' }).waitFor()
    await page.locator('[data-nav="audit"]', { hasText: 'Audit log' }).waitFor()
  })

  await step('creating an API token shows its secret once', async () => {
    await page.locator('[data-nav="tokens"]').click()
    await page.waitForURL(/\/settings\/tokens$/)
    await page.locator('[data-test="token-create"]').click()
    const d = dialog(page, 'token-dialog')
    await d.waitFor({ state: 'visible' })
    await d.locator('input[name="token_name"]').fill('e2e-ci')
    await d.locator('[data-test="token-submit"]').click()
    const secret = dialog(page, 'token-secret-dialog')
    await secret.waitFor({ state: 'visible' })
    await secret.locator('.el-alert--warning').waitFor()
    await secret.locator('[data-test="token-copy"]').waitFor()
    const value = await secret.locator('[data-test="token-secret"] input').inputValue()
    assert.ok(value.length >= 16, `a token secret is shown (got ${value.length} characters)`)
    await snap('10-token-secret')
    // The secret works as a bearer token.
    const status = await page.evaluate(
      async (token) => (await fetch('/api/v1/users/me', { headers: { Authorization: `Bearer ${token}` }, credentials: 'omit' })).status,
      value,
    )
    assert.equal(status, 200)
    await secret.locator('[data-test="token-secret-close"]').click()
    await secret.waitFor({ state: 'hidden' })
    await rowWith(page, 'tokens-table', 'e2e-ci')
    const html = await page.content()
    assert.ok(!html.includes(value), 'the secret is not on the page after the dialog closed')
    await snap('11-tokens')
  })

  await step('secrets keep their material write-only', async () => {
    await page.locator('[data-nav="secrets"]').click()
    await page.waitForURL(/\/settings\/secrets$/)
    await page.locator('[data-test="secret-create"]').click()
    const d = dialog(page, 'secret-dialog')
    await d.waitFor({ state: 'visible' })
    await d.locator('input[name="name"]').fill('git-ci')
    await d.locator('input[name="description"]').fill('CI git account')
    await d.locator('input[name="username"]').fill('ci')
    await d.locator('input[name="password"]').fill('s3cret-value')
    await d.locator('[data-test="secret-save"]').click()
    await d.waitFor({ state: 'hidden' })
    await rowWith(page, 'secrets-table', 'git-ci', 'CI git account', 'set')
    await page.locator('[data-test="secret-edit-git-ci"]').click()
    await d.waitFor({ state: 'visible' })
    assert.equal(await d.locator('input[name="password"]').inputValue(), '', 'the stored password is not shown')
    await d.getByText('Leave empty to keep the current value').waitFor()
    await snap('12-secret-edit')
    await d.locator('input[name="description"]').fill('CI git account (rotated)')
    await d.locator('[data-test="secret-save"]').click()
    await d.waitFor({ state: 'hidden' })
    await rowWith(page, 'secrets-table', 'git-ci', 'rotated', 'set')
  })

  await step('an insecure image registry is flagged', async () => {
    await page.locator('[data-nav="registries"]').click()
    await page.waitForURL(/\/settings\/image-registries$/)
    await page.locator('[data-test="registry-create"]').click()
    const d = dialog(page, 'registry-dialog')
    await d.waitFor({ state: 'visible' })
    await d.locator('input[name="registry"]').fill('registry.example.com:5000')
    await d.locator('input[name="username"]').fill('robot')
    await d.locator('input[name="password"]').fill('r0bot-pass')
    await d.locator('.el-checkbox', { hasText: 'insecure' }).click()
    await d.locator('.el-alert--warning').waitFor({ state: 'visible' })
    await snap('13-registry-insecure')
    await d.locator('[data-test="registry-save"]').click()
    await d.waitFor({ state: 'hidden' })
    await rowWith(page, 'registries-table', 'registry.example.com:5000', 'robot', 'Yes')
    await snap('14-registries')
  })

  await step('an editor sees users read-only', async () => {
    await userMenu(page, 'menu-logout')
    await page.locator('.login-card').waitFor()
    await signIn(ALICE.username, ALICE.password)
    await rowWith(page, 'users-table', ADMIN.username)
    await page.getByText('Read only').first().waitFor()
    assert.equal(await page.locator('[data-test="user-create"]').count(), 0, 'no create button')
    assert.equal(await page.locator('[data-test^="user-edit-"]').count(), 0, 'no edit buttons')
    await page.locator('[data-nav="secrets"]').waitFor()
    await snap('15-users-read-only')
  })

  await step('changing the own password ends the session', async () => {
    await userMenu(page, 'menu-password')
    const d = dialog(page, 'password-dialog')
    await d.waitFor({ state: 'visible' })
    await d.locator('input[name="old_password"]').fill('not-my-password')
    await d.locator('input[name="new_password"]').fill(ALICE_NEW_PASSWORD)
    await d.locator('input[name="confirm"]').fill(ALICE_NEW_PASSWORD)
    await d.locator('[data-test="password-submit"]').click()
    await d.locator('.el-form-item__error').first().waitFor({ state: 'visible' })
    await snap('16-password-wrong-old')
    await d.locator('input[name="old_password"]').fill(ALICE.password)
    await d.locator('[data-test="password-submit"]').click()
    await page.waitForURL(/\/login/)
    await page.locator('.login-card .el-alert--info', { hasText: 'password was changed' }).waitFor()
    await signIn(ALICE.username, ALICE_NEW_PASSWORD)
  })

  await step('no uncaught page errors', async () => {
    assert.deepEqual(errors, [])
  })
})
