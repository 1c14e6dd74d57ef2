#!/usr/bin/env bash
# hack/kube-testenv.sh — a real Kubernetes for tests and demos, built from the Go module proxy.
#
# Usage:
#   hack/kube-testenv.sh up [name]        start cluster <name> (default: "default"); prints the
#                                         ABSOLUTE kubeconfig path as the last line on stdout
#   hack/kube-testenv.sh down [name]      remove exactly what `up` created (idempotent)
#   hack/kube-testenv.sh status [name]    show processes, ports, real-node status (exit 1 if down)
#   hack/kube-testenv.sh down-all         `down` every cluster under $KUBESPACE_RUN
#   hack/kube-testenv.sh build            only build/cache the binaries and images
#   hack/kube-testenv.sh kubectl-path     print the absolute path of the cached kubectl v1.37.2
#   hack/kube-testenv.sh bin-dir          print the absolute path of the cached binaries
#   hack/kube-testenv.sh cached           exit 0 if nothing needs building
#   hack/kube-testenv.sh release <name> <pid>
#                                         used by internal/kubetestenv: drop test binary <pid> as a user
#                                         of <name>; `down` it when no live user is left and it was
#                                         started by tests (never a cluster started by hand)
#
# What `up` gives you (see ARCHITECTURE.md §7 and shared/KUBE-TESTENV.md for the measured facts):
#   * etcd v3.6.16, kube-apiserver / kube-controller-manager / kube-scheduler v1.37.2 on 127.0.0.1,
#     certificates made with openssl, a kubeconfig with embedded certificates for a system:masters
#     user (also a static bearer token in <state>/admin.token, same rights);
#   * kwok v0.8.0 with KWOK_NODES (default 2) fake nodes "kwok-node-<i>" (label
#     kubespace.io/testenv-node=kwok, KWOK_NODE_PODS pods each, default 110). Ordinary pods are
#     scheduled there and are "Running" in milliseconds without any container;
#   * at most ONE real node per machine: node "localhost" = kubelet v1.37.2 + containerd v2.4.2 +
#     Debian runc + a CNI bridge. It is labeled `kubespace.io/testenv-node=real` and tainted
#     `kubespace.io/real-node=true:NoSchedule`, so only pods that ask for it land there:
#         nodeSelector: {kubespace.io/testenv-node: real}
#         tolerations: [{key: kubespace.io/real-node, operator: Exists, effect: NoSchedule}]
#     Images (no pulls from the internet): `docker.io/library/busybox:testenv` (Debian's
#     busybox-static, all applets, entrypoint `sh`) and `registry.k8s.io/pause:3.10` (the sandbox
#     image). Pods must use `imagePullPolicy: Never`.
#   * pods on kwok nodes have no containers: `kubectl logs/exec` on them reach kwok, which answers
#     "no logs/exec found" (no ClusterLogs/ClusterExec configured). Use the real node for those.
#   * host changes while the real node runs (all removed by `down`): bridge kstestenv0, the
#     `k8s.io` cgroups, /run/containerd/s/<shim sockets>, /var/log/containers/<symlinks>,
#     /var/lib/cni/results/<sandbox files>, /var/lib/kubelet/device-plugins/kubelet.sock (the last
#     three are paths the kubelet/libcni hardcode). Everything else lives in the state dir.
#
# Host ports: a block of 10 in 20000-24999 per cluster, derived from the name's hash (see
# <state>/ports.env). Timing on 2 cores: cold (empty caches) ~14 min of building, warm `up` ~5 s
# (with the real node), `down` ~4 s (kwok only) to ~9 s (real node).
#
# Real-node rule: KUBE_TESTENV_REAL_NODE unset (or "auto") → only the cluster named "default" asks
# for the real node; "1" → this cluster asks for it whatever its name; "0" → never. A cluster that
# asks gets it only if no other live cluster on the machine owns it (owner file
# /tmp/kubespace-testenv-real-node, machine-wide on purpose: the bridge, the `k8s.io` cgroups and
# the node name are host-wide). The outcome is in <state>/real-node-status, first word one of:
#   ready | disabled | taken | failed   (followed by a reason). If it cannot start, `up` still
# succeeds with the control plane + kwok and prints a warning — tests decide whether that's fatal.
#
# Environment:
#   KUBESPACE_CACHE   cache root (default $HOME/.cache/kubespace); binaries go into
#                     <cache>/kube-v1.37.2-etcd-v3.6.16-kwok-v0.8.0-containerd-v2.4.2/bin
#   KUBESPACE_RUN     state root (default /tmp/kubespace-testenv); cluster state in <run>/<name>
#   KWOK_NODES        number of kwok nodes (default 2); KWOK_NODE_PODS pods per kwok node (110)
#   KUBE_TESTENV_REAL_NODE  see above
#   KUBE_TESTENV_KEEP_ON_FAILURE=1   do not tear down a cluster whose `up` failed (to debug)
#   KUBE_TESTENV_USER_PID   set by internal/kubetestenv: registers that PID as a user of the cluster
#   KUBE_TESTENV_KEEP=1     `release` never takes a cluster down
#
# Clusters started by hand (`up` without KUBE_TESTENV_USER_PID) are "pinned": `release` leaves
# them alone; only `down`/`down-all` remove them. Lock files stay in <run>/.locks (see lock_cluster).
#
# Progress goes to stderr; only the kubeconfig path goes to stdout. Exit code 3 means a
# prerequisite is missing (no Go toolchain to build, not root for apt, module proxy unreachable…),
# so callers can skip instead of fail.

# Probes are called indirectly (wait_until, traps), which shellcheck reports as unreachable.
# shellcheck disable=SC2317
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

# ----------------------------------------------------------------------------------------------
# Versions and fixed names
# ----------------------------------------------------------------------------------------------
readonly KUBE_VERSION=v1.37.2
readonly KUBE_STAGING_VERSION=v0.37.2 # k8s.io/<staging module> tag matching KUBE_VERSION
readonly ETCD_VERSION=v3.6.16
readonly KWOK_VERSION=v0.8.0
readonly CONTAINERD_VERSION=v2.4.2

readonly BUSYBOX_IMAGE=docker.io/library/busybox:testenv
readonly PAUSE_IMAGE=registry.k8s.io/pause:3.10
readonly REAL_NODE_NAME=localhost
readonly REAL_NODE_LABEL=kubespace.io/testenv-node
readonly REAL_NODE_TAINT_KEY=kubespace.io/real-node
readonly CNI_NETWORK=kubespace-testenv
readonly CNI_BRIDGE=kstestenv0       # <= 15 characters (IFNAMSIZ)
readonly POD_SUBNET=10.244.0.0/24    # real node (CNI host-local)
readonly KWOK_POD_CIDR=10.112.0.1/12 # fake pod IPs of kwok pods; overlaps nothing else here
readonly SERVICE_CIDR=10.96.0.0/16
# Machine-wide on purpose (not under KUBESPACE_RUN): the real node uses host-wide resources.
readonly REAL_NODE_OWNER=/tmp/kubespace-testenv-real-node
readonly APT_PACKAGES=(runc containernetworking-plugins busybox-static openssl iproute2)

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly SCRIPT_DIR
readonly ASSETS="$SCRIPT_DIR/kube-testenv"
SCRIPT_PATH="$SCRIPT_DIR/$(basename "${BASH_SOURCE[0]}")"
readonly SCRIPT_PATH

CACHE_ROOT=${KUBESPACE_CACHE:-$HOME/.cache/kubespace}
CACHE_DIR="$CACHE_ROOT/kube-$KUBE_VERSION-etcd-$ETCD_VERSION-kwok-$KWOK_VERSION-containerd-$CONTAINERD_VERSION"
BIN="$CACHE_DIR/bin"
RUN_ROOT=${KUBESPACE_RUN:-/tmp/kubespace-testenv}

readonly KUBE_BINS=(kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl)
readonly CONTAINERD_BINS=(containerd containerd-shim-runc-v2 ctr)
readonly ALL_BINS=(etcd "${KUBE_BINS[@]}" kwok "${CONTAINERD_BINS[@]}")

NAME=default
STATE=""

# ----------------------------------------------------------------------------------------------
# Small helpers
# ----------------------------------------------------------------------------------------------
log() { printf '[kube-testenv %s %s] %s\n' "$NAME" "$(date +%H:%M:%S)" "$*" >&2; }
warn() { printf '[kube-testenv %s] WARNING: %s\n' "$NAME" "$*" >&2; }
die() { printf '[kube-testenv %s] ERROR: %s\n' "$NAME" "$*" >&2; exit 1; }
# Exit 3 = a prerequisite is missing; internal/kubetestenv turns that into testdeps.Unavailable.
unavailable() { printf '[kube-testenv %s] UNAVAILABLE: %s\n' "$NAME" "$*" >&2; exit 3; }

set_name() {
  NAME=${1:-default}
  # The name ends up in paths, etcd member names and file names: keep it boring.
  [[ $NAME =~ ^[a-z0-9][a-z0-9-]{0,39}$ ]] || die "invalid cluster name '$NAME' (use [a-z0-9-], max 40)"
  STATE="$RUN_ROOT/$NAME"
}

# kubectl for the script itself; its discovery cache stays in the state dir, not ~/.kube/cache.
kc() { "$BIN/kubectl" --kubeconfig "$STATE/kubeconfig" --cache-dir "$STATE/kube-cache" --request-timeout=20s "$@"; }

# Field 22 of /proc/<pid>/stat (start time in clock ticks). Stored next to each PID so that
# `down` never signals an unrelated process that reused a recorded PID. Fails for a zombie
# (exited, not yet reaped): it no longer runs.
proc_starttime() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  # shellcheck disable=SC2086 # word splitting intended: the fields of /proc/<pid>/stat
  set -- $stat
  [[ $1 != Z ]] || return 1
  echo "${20}"
}

# pid_alive <pidfile>: the recorded process still runs (same PID and same start time).
pid_alive() {
  local f=$1 pid start now
  [[ -f $f ]] || return 1
  read -r pid start <"$f" || return 1
  [[ -n ${pid:-} ]] || return 1
  now=$(proc_starttime "$pid") || return 1
  [[ $now == "$start" ]]
}

# start_proc <name> <cmd...>: start a daemon detached from our session (so the caller's terminal
# or `go test` does not own it), stdio to its own log, PID + start time recorded in pids/<name>.
start_proc() {
  local pname=$1
  shift
  mkdir -p "$STATE/pids" "$STATE/logs"
  # Without job control a background child is not a process-group leader, so setsid execs in
  # place and $! is the daemon's own PID.
  # Lock descriptors (5-9) are closed: a daemon holding the cluster lock would block every later
  # `up`/`down` of this name.
  setsid "$@" >>"$STATE/logs/$pname.log" 2>&1 </dev/null 5>&- 6>&- 7>&- 8>&- 9>&- &
  local pid=$!
  local start=""
  start=$(proc_starttime "$pid") || true
  echo "$pid $start" >"$STATE/pids/$pname"
}

# stop_pidfile <pidfile> [grace seconds]: SIGTERM, wait, SIGKILL; only if the PID is still ours.
stop_pidfile() {
  local f=$1 grace=${2:-10} pid start i
  if pid_alive "$f"; then
    read -r pid start <"$f"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < grace * 10; i++)); do
      pid_alive "$f" || break
      sleep 0.1
    done
    if pid_alive "$f"; then
      kill -KILL "$pid" 2>/dev/null || true
      for ((i = 0; i < 50; i++)); do
        pid_alive "$f" || break
        sleep 0.1
      done
    fi
  fi
  rm -f "$f"
}

# stop_pidfiles <grace seconds> <pidfile...>: stop_pidfile for several processes at once (each
# control-plane process takes 1-3 s to shut down gracefully; in sequence that adds up to ~10 s).
stop_pidfiles() {
  local grace=$1 f pid start i alive
  shift
  for f in "$@"; do
    if pid_alive "$f"; then
      read -r pid start <"$f"
      kill -TERM "$pid" 2>/dev/null || true
    fi
  done
  for ((i = 0; i < grace * 10; i++)); do
    alive=0
    for f in "$@"; do if pid_alive "$f"; then alive=1; fi; done
    ((alive)) || break
    sleep 0.1
  done
  for f in "$@"; do stop_pidfile "$f" 1; done
}

# wait_until <seconds> <description> <process name|-> <cmd...>: poll <cmd> every 0.2 s (its
# output discarded). Gives up early, showing its log, if the named process (pids/<name>) died.
# Returns 1 on timeout, 2 if the process died.
wait_until() {
  local secs=$1 what=$2 proc=$3
  shift 3
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    if [[ $proc != - ]] && ! pid_alive "$STATE/pids/$proc"; then
      warn "$proc exited while waiting for: $what (log: $STATE/logs/$proc.log)"
      tail -n 25 "$STATE/logs/$proc.log" >&2 || true
      return 2
    fi
    ((SECONDS < deadline)) || { warn "timed out after $secs s waiting for: $what"; return 1; }
    sleep 0.2
  done
  log "$what"
}

# A process that must stay up died: show its log and fail.
require_alive() {
  local pname=$1
  if ! pid_alive "$STATE/pids/$pname"; then
    tail -n 40 "$STATE/logs/$pname.log" >&2 || true
    die "$pname exited (log: $STATE/logs/$pname.log)"
  fi
}

port_free() { [[ -z $(ss -Htln "sport = :$1" 2>/dev/null) ]]; }

# ----------------------------------------------------------------------------------------------
# Everything else lives in hack/kube-testenv/lib/ (function definitions, plus the PORT_* constants
# and UP_DONE); sourced here, before main runs.
# ----------------------------------------------------------------------------------------------
# shellcheck source=kube-testenv/lib/build.sh
source "$SCRIPT_DIR/kube-testenv/lib/build.sh"
# shellcheck source=kube-testenv/lib/certs.sh
source "$SCRIPT_DIR/kube-testenv/lib/certs.sh"
# shellcheck source=kube-testenv/lib/control-plane.sh
source "$SCRIPT_DIR/kube-testenv/lib/control-plane.sh"
# shellcheck source=kube-testenv/lib/real-node.sh
source "$SCRIPT_DIR/kube-testenv/lib/real-node.sh"
# shellcheck source=kube-testenv/lib/teardown.sh
source "$SCRIPT_DIR/kube-testenv/lib/teardown.sh"
# shellcheck source=kube-testenv/lib/cluster.sh
source "$SCRIPT_DIR/kube-testenv/lib/cluster.sh"

main() {
  local cmd=${1:-}
  shift || true
  case $cmd in
  up) cmd_up "$@" ;;
  down) cmd_down "$@" ;;
  down-all) cmd_down_all ;;
  release) cmd_release "$@" ;;
  status) cmd_status "$@" ;;
  build) cmd_build ;;
  kubectl-path)
    [[ -x $BIN/kubectl ]] || ensure_binaries
    echo "$BIN/kubectl"
    ;;
  bin-dir)
    echo "$BIN"
    ;;
  cached)
    # exit 0 when every binary (and the kwok stages) is in the cache: `up` will not build.
    [[ -z $(missing_bins "${ALL_BINS[@]}") && -f $CACHE_DIR/kwok-stages.yaml ]]
    ;;
  *)
    # The usage text is the header comment.
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$SCRIPT_PATH" >&2
    exit 2
    ;;
  esac
}

# On one line with `exit`: bash reads scripts as it runs them, so an edit of this file while an
# `up` is running could otherwise be executed from the middle.
main "$@"; exit $?
