// A real git server for the pipelines suite: `git http-backend` (smart HTTP) behind a small
// Node HTTP server with basic auth, serving bare repositories made with the git CLI.
import { execFileSync, spawn } from 'node:child_process'
import { createServer } from 'node:http'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

const git = (cwd, ...args) =>
  execFileSync('git', args, {
    cwd,
    env: { ...process.env, GIT_AUTHOR_NAME: 'e2e', GIT_AUTHOR_EMAIL: 'e2e@example.com', GIT_COMMITTER_NAME: 'e2e', GIT_COMMITTER_EMAIL: 'e2e@example.com' },
  })
    .toString()
    .trim()

/**
 * makeRepo creates <root>/<name>.git with a commit on main and one more on each other branch,
 * and returns the branch heads.
 */
export function makeRepo(root, name, branches = []) {
  const work = join(root, `${name}-work`)
  const bare = join(root, `${name}.git`)
  mkdirSync(work, { recursive: true })
  git(root, 'init', '-q', '--bare', '-b', 'main', bare)
  git(work, 'init', '-q', '-b', 'main')
  writeFileSync(join(work, 'README.md'), `# ${name}\n`)
  git(work, 'add', '.')
  git(work, 'commit', '-q', '-m', 'first commit')
  git(work, 'remote', 'add', 'origin', bare)
  git(work, 'push', '-q', 'origin', 'main')
  const heads = { main: git(work, 'rev-parse', 'HEAD') }
  for (const b of branches) {
    git(work, 'checkout', '-q', '-b', b, 'main')
    writeFileSync(join(work, `${b}.txt`), `${b}\n`)
    git(work, 'add', '.')
    git(work, 'commit', '-q', '-m', `work on ${b}`)
    git(work, 'push', '-q', 'origin', b)
    heads[b] = git(work, 'rev-parse', 'HEAD')
  }
  return heads
}

/** serveGit serves the bare repositories under root over smart HTTP for username:password. */
export async function serveGit(root, username, password) {
  const expected = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`
  const server = createServer((req, res) => {
    if (req.headers.authorization !== expected) {
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="git"' })
      res.end('authentication required\n')
      return
    }
    const url = new URL(req.url, 'http://git')
    const cgi = spawn('git', ['http-backend'], {
      env: {
        ...process.env,
        GIT_PROJECT_ROOT: root,
        GIT_HTTP_EXPORT_ALL: '1',
        PATH_INFO: decodeURIComponent(url.pathname),
        QUERY_STRING: url.search.replace(/^\?/, ''),
        REQUEST_METHOD: req.method,
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        HTTP_CONTENT_ENCODING: req.headers['content-encoding'] ?? '',
        REMOTE_USER: username,
        REMOTE_ADDR: '127.0.0.1',
      },
    })
    req.pipe(cgi.stdin)
    // The CGI answer: headers up to a blank line (Status: sets the code), then the body.
    let head = Buffer.alloc(0)
    let started = false
    cgi.stdout.on('data', (chunk) => {
      if (started) {
        res.write(chunk)
        return
      }
      head = Buffer.concat([head, chunk])
      const end = head.indexOf('\r\n\r\n')
      if (end < 0) return
      started = true
      let status = 200
      const headers = {}
      for (const line of head.subarray(0, end).toString().split('\r\n')) {
        const i = line.indexOf(':')
        const key = line.slice(0, i).trim()
        const value = line.slice(i + 1).trim()
        if (key.toLowerCase() === 'status') status = Number(value.split(' ')[0])
        else headers[key] = value
      }
      res.writeHead(status, headers)
      res.write(head.subarray(end + 4))
    })
    cgi.stdout.on('end', () => res.end())
    cgi.on('error', () => {
      res.writeHead(500)
      res.end()
    })
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => server.close(r)) }
}
