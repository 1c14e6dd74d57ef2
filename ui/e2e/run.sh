#!/usr/bin/env bash
# Runs the console's end-to-end tests against a real server binary:
#   ui/e2e/run.sh <path-to-server-binary>
# The server gets a temporary DATA_DIR (fresh embedded database), a free PORT
# and a known SETUP_TOKEN; the tests drive Debian's Chromium through it. The
# binary must embed a built console (npm run build, then go build).
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 <path-to-server-binary>" >&2
  exit 2
fi
server=$1
[ -x "$server" ] || { echo "e2e: $server is not an executable server binary" >&2; exit 2; }
case $server in /*) ;; *) server=$PWD/$server ;; esac
ui_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
chromium=${KUBESPACE_CHROMIUM:-/usr/bin/chromium}
[ -x "$chromium" ] || { echo "e2e: $chromium is missing; install it with: apt-get install -y chromium" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/kubespace-e2e-server.XXXXXX")
port=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
token=e2e-$(node -e 'console.log(require("crypto").randomBytes(12).toString("hex"))')
url=http://127.0.0.1:$port
pid=

cleanup() {
  local status=$?
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  if [ "$status" -eq 0 ]; then
    rm -rf "$work"
  else
    echo "e2e: server log kept at $work/server.log" >&2
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$work/data"
echo "e2e: starting $server on $url (DATA_DIR=$work/data)"
env -u MYSQL_HOST -u REDIS_ADDRESS DATA_DIR="$work/data" PORT="$port" SETUP_TOKEN="$token" \
  "$server" >"$work/server.log" 2>&1 &
pid=$!

ready=0
for _ in $(seq 1 300); do
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "e2e: the server exited during start-up; its log:" >&2
    tail -n 50 "$work/server.log" >&2
    exit 1
  fi
  if node -e 'fetch(process.argv[1]).then(r=>process.exit(r.status===200?0:1),()=>process.exit(1))' "$url/readyz"; then
    ready=1
    break
  fi
  sleep 0.2
done
if [ "$ready" -ne 1 ]; then
  echo "e2e: $url/readyz did not answer 200 within 60 s; server log:" >&2
  tail -n 50 "$work/server.log" >&2
  exit 1
fi
if ! node -e 'fetch(process.argv[1]).then(async r=>process.exit((await r.text()).includes("id=\"app\"")?0:1),()=>process.exit(1))' "$url/"; then
  echo "e2e: $url/ does not serve the console; build it first: (cd ui && npm ci && npm run build) && go build -o bin/server ./cmd/server" >&2
  exit 1
fi

if [ ! -d "$ui_dir/node_modules" ]; then
  (cd "$ui_dir" && npm ci --no-audit --no-fund)
fi

status=0
KUBESPACE_URL=$url KUBESPACE_SETUP_TOKEN=$token KUBESPACE_CHROMIUM=$chromium \
  node --test "$ui_dir"/e2e/*.test.mjs || status=$?
exit "$status"
