// How the server delivers the embedded console: the app shell for / and for
// deep links (the SPA fallback), hashed assets cached for good, JSON 404s
// under /api. Plain HTTP, no browser; independent of the console flow.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { target } from './lib.mjs'

const { url } = target()

for (const path of ['/', '/settings/users', '/settings/audit?result=failure']) {
  test(`GET ${path} serves the console with 200`, async () => {
    const res = await fetch(url + path)
    const body = await res.text()
    assert.match(body, /<div id="app"><\/div>/, 'the body is the console index')
    assert.match(res.headers.get('content-type') ?? '', /text\/html/)
    assert.equal(res.status, 200)
  })
}

test('hashed assets are served and cached as immutable', async () => {
  const index = await (await fetch(url + '/')).text()
  const assets = [...index.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1])
  assert.ok(assets.length >= 2, `index.html references its script and styles (${assets})`)
  for (const asset of assets) {
    const res = await fetch(url + asset)
    assert.equal(res.status, 200, asset)
    assert.match(res.headers.get('cache-control') ?? '', /immutable/, asset)
    await res.arrayBuffer()
  }
})

test('unknown API paths answer a JSON error, not the console', async () => {
  const res = await fetch(url + '/api/v1/no-such-endpoint')
  assert.equal(res.status, 404)
  const body = await res.json()
  assert.equal(typeof body.code, 'string')
  assert.equal(typeof body.message, 'string')
})
