#!/usr/bin/env bash
# Runs the console's end-to-end tests against a real server binary:
#   ui/e2e/run.sh <path-to-server-binary> [test-file...]
# Each test file gets its own fresh server: a temporary DATA_DIR (fresh
# embedded database), a free PORT and a known SETUP_TOKEN, so every suite
# starts from first-run setup. The tests drive Debian's Chromium through it.
# The binary must embed a built console (npm run build, then go build).
#
# The clusters suite needs a real Kubernetes: KUBESPACE_E2E_KUBECONFIG names a
# kubeconfig; when it is unset, this script starts the shared test cluster with
# `hack/kube-testenv.sh up default` (which only reprints the path when it is
# already running) and never takes it down, since the Go tests share it.
#
# With KUBESPACE_REQUIRE_ALL=1 (set by `make test-ui`, `make test` and CI) a
# skipped or todo test is a failure: the suites throw where they would skip
# (ui/e2e/lib.mjs skipUnless), and this script fails a suite whose report
# counts any skip, so nothing that did not run can pass unnoticed.
set -euo pipefail

if [ $# -lt 1 ]; then
  echo "usage: $0 <path-to-server-binary> [test-file...]" >&2
  exit 2
fi
server=$1
shift
[ -x "$server" ] || { echo "e2e: $server is not an executable server binary" >&2; exit 2; }
case $server in /*) ;; *) server=$PWD/$server ;; esac
ui_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
repo_dir=$(cd "$ui_dir/.." && pwd)
chromium=${KUBESPACE_CHROMIUM:-/usr/bin/chromium}
[ -x "$chromium" ] || { echo "e2e: $chromium is missing; install it with: apt-get install -y chromium" >&2; exit 2; }

if [ $# -gt 0 ]; then
  tests=("$@")
else
  tests=("$ui_dir"/e2e/*.test.mjs)
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/kubespace-e2e-server.XXXXXX")
pid=
keep_work=0

stop_server() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  pid=
}

cleanup() {
  local status=$?
  stop_server
  if [ "$status" -eq 0 ] && [ "$keep_work" -eq 0 ]; then
    rm -rf "$work"
  else
    echo "e2e: server logs kept under $work" >&2
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# start_server <name>: a fresh server in $work/<name>; sets url and token.
start_server() {
  local dir=$work/$1
  mkdir -p "$dir/data"
  port=$(free_port)
  tls_port=$(free_port)
  while [ "$tls_port" = "$port" ]; do tls_port=$(free_port); done
  token=e2e-$(node -e 'console.log(require("crypto").randomBytes(12).toString("hex"))')
  url=http://127.0.0.1:$port
  echo "e2e: starting $server on $url (TLS_PORT=$tls_port, DATA_DIR=$dir/data)"
  env -u MYSQL_HOST -u REDIS_ADDRESS -u SERVER_URL DATA_DIR="$dir/data" PORT="$port" TLS_PORT="$tls_port" SETUP_TOKEN="$token" \
    "$server" >"$dir/server.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 300); do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "e2e: the server exited during start-up; its log:" >&2
      tail -n 50 "$dir/server.log" >&2
      exit 1
    fi
    if node -e 'fetch(process.argv[1]).then(r=>process.exit(r.status===200?0:1),()=>process.exit(1))' "$url/readyz"; then
      break
    fi
    sleep 0.2
  done
  if ! node -e 'fetch(process.argv[1]).then(r=>process.exit(r.status===200?0:1),()=>process.exit(1))' "$url/readyz"; then
    echo "e2e: $url/readyz did not answer 200 within 60 s; server log:" >&2
    tail -n 50 "$dir/server.log" >&2
    exit 1
  fi
  if ! node -e 'fetch(process.argv[1]).then(async r=>process.exit((await r.text()).includes("id=\"app\"")?0:1),()=>process.exit(1))' "$url/"; then
    echo "e2e: $url/ does not serve the console; build it first: (cd ui && npm ci && npm run build) && go build -o bin/server ./cmd/server" >&2
    exit 1
  fi
}

if [ ! -d "$ui_dir/node_modules" ]; then
  (cd "$ui_dir" && npm ci --no-audit --no-fund)
fi

# The test cluster, when a suite needs one and none was given.
if [ -z "${KUBESPACE_E2E_KUBECONFIG:-}" ] && grep -l KUBESPACE_E2E_KUBECONFIG "${tests[@]}" >/dev/null 2>&1; then
  echo "e2e: starting the test cluster: hack/kube-testenv.sh up default"
  if kubeconfig=$("$repo_dir/hack/kube-testenv.sh" up default | tail -n 1) && [ -f "$kubeconfig" ]; then
    export KUBESPACE_E2E_KUBECONFIG=$kubeconfig
    echo "e2e: test cluster kubeconfig: $kubeconfig"
  else
    # The suites that need it fail with their own message; the others still run.
    echo "e2e: the test cluster did not start (see above)" >&2
  fi
fi

require_all=${KUBESPACE_REQUIRE_ALL:-}
if [ "$require_all" = 1 ]; then
  echo "e2e: KUBESPACE_REQUIRE_ALL=1: a skipped step is a failure"
fi

# skips_in <tap-file>: the number of skipped and todo tests the suite's TAP report counts.
skips_in() {
  awk '/^# (skipped|todo) [0-9]+$/ { n += $3 } END { print n + 0 }' "$1"
}

status=0
for file in "${tests[@]}"; do
  name=$(basename "$file" .test.mjs)
  start_server "$name"
  echo "e2e: running $(basename "$file")"
  tap=$work/$name/report.tap
  # The spec report for people on stdout, a TAP report for counting skips.
  if ! KUBESPACE_URL=$url KUBESPACE_SETUP_TOKEN=$token KUBESPACE_CHROMIUM=$chromium node --test \
    --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$tap" "$file"; then
    status=1
    keep_work=1
    echo "e2e: $(basename "$file") failed; server log: $work/$name/server.log" >&2
  elif [ "$require_all" = 1 ] && [ "$(skips_in "$tap")" -gt 0 ]; then
    status=1
    keep_work=1
    echo "e2e: $(basename "$file") skipped $(skips_in "$tap") step(s), a failure under KUBESPACE_REQUIRE_ALL=1:" >&2
    grep -E '^ *(not )?ok [0-9]+ - .* # (SKIP|TODO)' "$tap" | sed 's/^ */  /' >&2
  fi
  stop_server
done
exit "$status"
