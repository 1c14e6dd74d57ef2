// Helpers for the console's end-to-end tests: a real Chromium (Debian's, via
// playwright-core) against a real KubeSpace server started by run.sh.
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium } from 'playwright-core'

export const CHROMIUM = process.env.KUBESPACE_CHROMIUM || '/usr/bin/chromium'

/** The server under test and its setup token; run.sh sets both. */
export function target() {
  const url = process.env.KUBESPACE_URL
  const setupToken = process.env.KUBESPACE_SETUP_TOKEN
  if (!url || !setupToken) {
    throw new Error('KUBESPACE_URL and KUBESPACE_SETUP_TOKEN are not set: run the suite with ui/e2e/run.sh <server-binary>')
  }
  return { url: url.replace(/\/$/, ''), setupToken }
}

/** Where screenshots go: $KUBESPACE_E2E_ARTIFACTS or a fresh temp dir made on first use. */
let artifactsDir = ''
export function artifacts() {
  if (!artifactsDir) {
    artifactsDir = process.env.KUBESPACE_E2E_ARTIFACTS || mkdtempSync(join(tmpdir(), 'kubespace-e2e-'))
    mkdirSync(artifactsDir, { recursive: true })
  }
  return artifactsDir
}

/** launch starts Chromium with a fresh profile; close() also removes the profile. */
export async function launch() {
  const profile = mkdtempSync(join(tmpdir(), 'kubespace-chromium-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    locale: 'en-US',
    viewport: { width: 1440, height: 900 },
  })
  context.setDefaultTimeout(15_000)
  // The console runs under a Content-Security-Policy without inline script: anything it blocks
  // is a defect of the console (or an injection the policy stopped), so the suite fails on it.
  const violations = []
  context.on('console', (msg) => {
    if (/Content Security Policy/i.test(msg.text())) violations.push(msg.text())
  })
  const page = context.pages()[0] ?? (await context.newPage())
  return {
    context,
    page,
    violations,
    async close() {
      await context.close().catch(() => undefined)
      rmSync(profile, { recursive: true, force: true })
      if (violations.length > 0) {
        throw new Error(`Content-Security-Policy violations:\n${violations.join('\n')}`)
      }
    },
  }
}

/** screenshot saves the page as <artifacts>/<name>.png and returns the path. */
export async function screenshot(page, name) {
  const file = join(artifacts(), `${name.replace(/[^a-zA-Z0-9_.-]+/g, '-')}.png`)
  await page.screenshot({ path: file, fullPage: true })
  return file
}

/**
 * requireAll is set by `make test-ui`, `make test` and CI (KUBESPACE_REQUIRE_ALL=1): there a step
 * that cannot run is a failure, never a skip. run.sh also fails such a run on any skip it counts.
 */
export const requireAll = process.env.KUBESPACE_REQUIRE_ALL === '1'

/**
 * skipUnless skips the test context `t` with `reason` unless `ok`, and says whether it did.
 * Under KUBESPACE_REQUIRE_ALL=1 it throws instead: a missing prerequisite (the real node) fails.
 */
export function skipUnless(t, ok, reason) {
  if (ok) return false
  if (requireAll) throw new Error(`${reason} (KUBESPACE_REQUIRE_ALL=1 makes this a failure, not a skip)`)
  t.skip(reason)
  return true
}

/**
 * steps turns an ordered flow into node:test subtests that share one browser.
 * After a failure the page is saved as a screenshot (its path printed) and
 * the remaining steps are skipped, since each builds on the one before (the
 * run has already failed). A step's function gets its node:test context.
 */
export function flow(t, page) {
  let failed = null
  return async function step(name, fn) {
    await t.test(name, async (st) => {
      if (failed) {
        st.skip(`an earlier step failed: ${failed}`)
        return
      }
      try {
        await fn(st)
      } catch (err) {
        failed = name
        const file = await screenshot(page, `FAILED-${name}`).catch((e) => `(screenshot failed: ${e.message})`)
        console.log(`screenshot of the failure: ${file}`)
        throw err
      }
    })
  }
}

/** rowWith waits for a table body row of the table marked data-test=<table> containing every text. */
export async function rowWith(page, table, ...texts) {
  let row = page.locator(`[data-test="${table}"] .el-table__body tr.el-table__row`)
  for (const text of texts) row = row.filter({ hasText: text })
  await row.first().waitFor({ state: 'visible' })
  return row.first()
}

/** menu opens the header's user menu and clicks the entry marked data-test=<item>. */
export async function userMenu(page, item) {
  await page.locator('[data-test="user-menu"]').click()
  const entry = page.locator(`.el-dropdown-menu [data-test="${item}"]`)
  await entry.waitFor({ state: 'visible' })
  await entry.click()
}

/** visibleDialog returns the open dialog marked data-test=<name>. */
export function dialog(page, name) {
  return page.locator(`.el-dialog[data-test="${name}"]`)
}
