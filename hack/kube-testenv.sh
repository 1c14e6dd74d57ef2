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
#                                         used by pkg/kubetestenv: drop test binary <pid> as a user
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
#   KUBE_TESTENV_USER_PID   set by pkg/kubetestenv: registers that PID as a user of the cluster
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
# Exit 3 = a prerequisite is missing; pkg/kubetestenv turns that into testdeps.Unavailable.
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
# Debian packages
# ----------------------------------------------------------------------------------------------
pkg_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

ensure_packages() {
  local missing=() p
  command -v dpkg-query >/dev/null || { warn "not a Debian system; assuming ${APT_PACKAGES[*]} are present"; return 0; }
  for p in "${APT_PACKAGES[@]}"; do pkg_installed "$p" || missing+=("$p"); done
  ((${#missing[@]} == 0)) && return 0
  if [[ $(id -u) != 0 ]]; then
    warn "missing Debian packages (${missing[*]}) and not root: cannot install them"
    return 1
  fi
  mkdir -p "$CACHE_ROOT"
  (
    # Several `up`s at once must not fight over dpkg's lock.
    flock 9
    missing=()
    for p in "${APT_PACKAGES[@]}"; do pkg_installed "$p" || missing+=("$p"); done
    ((${#missing[@]} == 0)) && exit 0
    log "installing Debian packages: ${missing[*]}"
    # The package lists may be absent or old on a fresh machine: update once first.
    local alog="$CACHE_ROOT/apt-install.log"
    if ! { DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=300 "${missing[@]}"; } >"$alog" 2>&1; then
      tail -n 20 "$alog" >&2
      exit 1
    fi
  ) 9>"$CACHE_ROOT/.apt.lock"
}

# ----------------------------------------------------------------------------------------------
# Building the binaries into the version-keyed cache
# ----------------------------------------------------------------------------------------------
missing_bins() {
  local b out=()
  for b in "$@"; do [[ -x $BIN/$b ]] || out+=("$b"); done
  echo "${out[*]:-}"
}

# The scratch module for Kubernetes: k8s.io/kubernetes cannot be `go install`ed because its go.mod
# replaces the staging modules with local paths. Copy its go.mod, point each staging replace at
# the published k8s.io/<module> v0.37.2, drop the two sample modules the proxy does not serve,
# and add a tools.go importing the commands (kubectl included, or go.sum comes out short).
prepare_k8s_module() {
  local dir="$CACHE_DIR/src/k8s" gomod
  [[ -f $dir/go.sum && -f $dir/.tidy-ok ]] && return 0
  mkdir -p "$dir"
  gomod=$(cd "$CACHE_DIR" && go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",*/\1/p') || return 3
  [[ -f $gomod ]] || return 3
  awk -v ver="$KUBE_STAGING_VERSION" -v kver="$KUBE_VERSION" '
    /^module / { print "module kubespace.local/kube-testenv/k8s"; print ""; print "require k8s.io/kubernetes " kver; next }
    /k8s\.io\/sample-(cli-plugin|controller)[ \t]/ { next }
    /=> \.\/staging\/src\// { print "\t" $1 " => " $1 " " ver; next }
    { print }
  ' "$gomod" >"$dir/go.mod"
  cp "$ASSETS/k8s-tools.go.tmpl" "$dir/tools.go"
  (cd "$dir" && go mod tidy -e) || return 3
  touch "$dir/.tidy-ok"
}

prepare_etcd_module() {
  local dir="$CACHE_DIR/src/etcd"
  [[ -f $dir/go.sum && -f $dir/.tidy-ok ]] && return 0
  mkdir -p "$dir"
  cat >"$dir/go.mod" <<EOF
module kubespace.local/kube-testenv/etcd

go 1.25

require go.etcd.io/etcd/server/v3 $ETCD_VERSION
EOF
  cp "$ASSETS/etcd-main.go.tmpl" "$dir/main.go"
  (cd "$dir" && go mod tidy -e) || return 3
  touch "$dir/.tidy-ok"
}

# Binaries are built into a temporary directory inside the cache and renamed into bin/, so a
# reader never sees half-written files and an interrupted build leaves nothing that looks done.
install_built() {
  local tmp=$1 b
  shift
  for b in "$@"; do
    [[ -x $tmp/$b ]] || { echo "build produced no $b" >&2; return 1; }
    mv -f "$tmp/$b" "$BIN/$b"
  done
}

build_kube() {
  local want tmp pkgs=() b v
  read -ra want <<<"$1"
  prepare_k8s_module || return $?
  tmp=$(mktemp -d "$CACHE_DIR/tmp/kube.XXXXXX")
  for b in "${want[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$b"); done
  # Without the version variables the server reports v0.0.0-master+$Format:%H$ and kubectl,
  # Helm and kwok refuse it.
  local ld="-s -w"
  for v in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $v.gitVersion=$KUBE_VERSION -X $v.gitMajor=1 -X $v.gitMinor=37 -X $v.gitTreeState=clean"
    ld+=" -X $v.buildDate=1970-01-01T00:00:00Z"
  done
  local rc=0
  if (cd "$CACHE_DIR/src/k8s" && go build -trimpath -ldflags "$ld" -o "$tmp/" "${pkgs[@]}"); then
    install_built "$tmp" "${want[@]}" || rc=$?
  else
    rc=$?
  fi
  rm -rf "$tmp"
  return $rc
}

build_etcd() {
  local tmp rc=0
  prepare_etcd_module || return $?
  tmp=$(mktemp -d "$CACHE_DIR/tmp/etcd.XXXXXX")
  if (cd "$CACHE_DIR/src/etcd" && go build -trimpath -ldflags "-s -w" -o "$tmp/etcd" .); then
    install_built "$tmp" etcd || rc=$?
  else
    rc=$?
  fi
  rm -rf "$tmp"
  return $rc
}

build_kwok() {
  local tmp rc=0
  tmp=$(mktemp -d "$CACHE_DIR/tmp/kwok.XXXXXX")
  if GOBIN=$tmp go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"; then
    install_built "$tmp" kwok || rc=$?
  else
    rc=$?
  fi
  rm -rf "$tmp"
  return $rc
}

build_containerd() {
  local want tmp rc=0 pkgs=() b
  read -ra want <<<"$1"
  for b in "${want[@]}"; do pkgs+=("github.com/containerd/containerd/v2/cmd/$b@$CONTAINERD_VERSION"); done
  tmp=$(mktemp -d "$CACHE_DIR/tmp/containerd.XXXXXX")
  # CGO_ENABLED=0: no C toolchain needed; runc itself is Debian's (the proxy-built one lacks seccomp).
  if CGO_ENABLED=0 GOBIN=$tmp go install -trimpath \
    -ldflags "-s -w -X github.com/containerd/containerd/v2/version.Version=$CONTAINERD_VERSION" "${pkgs[@]}"; then
    install_built "$tmp" "${want[@]}" || rc=$?
  else
    rc=$?
  fi
  rm -rf "$tmp"
  return $rc
}

# ensure_binaries: build whatever is missing, under a lock so that concurrent `up`s build once.
# Kubernetes (the long pole: ~6-9 min cold on 2 cores) builds in one job while etcd, kwok and
# containerd build one after another in a second job; the link steps are single-threaded, so the
# overlap pays off even on 2 cores.
ensure_binaries() {
  if [[ -z $(missing_bins "${ALL_BINS[@]}") && -f $CACHE_DIR/kwok-stages.yaml ]]; then return 0; fi
  mkdir -p "$BIN" "$CACHE_DIR/tmp" "$CACHE_DIR/logs"
  exec 8>"$CACHE_DIR/.build.lock"
  if ! flock -n 8; then
    log "another process is building the binaries; waiting for it"
    flock 8
  fi
  local kube others start=$SECONDS
  kube=$(missing_bins "${KUBE_BINS[@]}")
  if [[ -n $kube || -n $(missing_bins etcd kwok "${CONTAINERD_BINS[@]}") || ! -f $CACHE_DIR/kwok-stages.yaml ]]; then
    command -v go >/dev/null || unavailable "binaries missing in $BIN and no Go toolchain to build them"
    log "building into $BIN (cold: ~10-14 min on 2 cores; logs in $CACHE_DIR/logs)"
    local kpid="" opid="" krc=0 orc=0
    if [[ -n $kube ]]; then
      log "  kubernetes $KUBE_VERSION: $kube"
      build_kube "$kube" >"$CACHE_DIR/logs/build-kube.log" 2>&1 &
      kpid=$!
    fi
    others=$(missing_bins etcd kwok "${CONTAINERD_BINS[@]}")
    [[ -f $CACHE_DIR/kwok-stages.yaml ]] || others+=" kwok-stages"
    if [[ -n ${others// /} ]]; then
      log "  others: $others"
      (
        set -e
        [[ -x $BIN/etcd ]] || build_etcd
        [[ -x $BIN/kwok ]] || build_kwok
        [[ -f $CACHE_DIR/kwok-stages.yaml ]] || build_kwok_stages
        c=$(missing_bins "${CONTAINERD_BINS[@]}")
        [[ -z $c ]] || build_containerd "$c"
      ) >"$CACHE_DIR/logs/build-others.log" 2>&1 &
      opid=$!
    fi
    [[ -z $kpid ]] || wait "$kpid" || krc=$?
    [[ -z $opid ]] || wait "$opid" || orc=$?
    if ((krc != 0 || orc != 0)); then
      ((krc == 0)) || tail -n 30 "$CACHE_DIR/logs/build-kube.log" >&2
      ((orc == 0)) || tail -n 30 "$CACHE_DIR/logs/build-others.log" >&2
      # rc 3 from module preparation = the module proxy could not be reached.
      if ((krc == 3 || orc == 3)); then unavailable "could not download modules (see logs above)"; fi
      die "build failed (logs: $CACHE_DIR/logs)"
    fi
    log "built in $((SECONDS - start)) s"
  fi
  flock -u 8
  exec 8>&-
}

# ----------------------------------------------------------------------------------------------
# Local images for the real node (no registry access): OCI archives written by hand
# ----------------------------------------------------------------------------------------------
sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# Debian's architecture names match OCI's for amd64 and arm64 (the machines this runs on).
image_arch() { dpkg --print-architecture 2>/dev/null || echo amd64; }

# add_blob <layout dir> <file> → prints "digest size" after moving the file into blobs/sha256.
add_blob() {
  local dir=$1 f=$2 d s
  d=$(sha256_of "$f")
  s=$(stat -c %s "$f")
  mv "$f" "$dir/blobs/sha256/$d"
  echo "$d $s"
}

# One OCI image layout holding two manifests over the same busybox layer: the busybox image and
# the sandbox ("pause") image, whose entrypoint just sleeps. Names are carried in the
# io.containerd.image.name annotation, which `ctr images import` uses as the image name.
build_images() {
  local busybox_ver archive
  busybox_ver=$(dpkg-query -W -f='${Version}' busybox-static 2>/dev/null || echo unknown)
  local arch
  arch=$(image_arch)
  archive="$CACHE_DIR/images/testenv-images-$arch-busybox-${busybox_ver//[^A-Za-z0-9.]/_}.oci.tar"
  if [[ ! -s $archive ]]; then
    [[ -x /bin/busybox ]] || { echo "/bin/busybox missing (apt-get install busybox-static)" >&2; return 1; }
    mkdir -p "$CACHE_DIR/images"
    local work
    work=$(mktemp -d "$CACHE_DIR/images/build.XXXXXX")
    mkdir -p "$work/rootfs/bin" "$work/rootfs/etc" "$work/rootfs/tmp" "$work/rootfs/root" \
      "$work/rootfs/home" "$work/rootfs/var/www" "$work/layout/blobs/sha256"
    cp /bin/busybox "$work/rootfs/bin/busybox"
    local applet
    while read -r applet; do
      [[ $applet == bin/busybox || -z $applet ]] && continue
      mkdir -p "$work/rootfs/$(dirname "$applet")"
      ln -sf /bin/busybox "$work/rootfs/$applet"
    done < <(/bin/busybox --list-full)
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n' >"$work/rootfs/etc/passwd"
    printf 'root:x:0:\nnobody:x:65534:\n' >"$work/rootfs/etc/group"
    chmod 1777 "$work/rootfs/tmp"
    # Reproducible, uncompressed layer: digest == diff_id.
    tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$work/rootfs" -cf "$work/layer.tar" .
    local layer lsize ldigest
    read -r ldigest lsize < <(add_blob "$work/layout" "$work/layer.tar")
    layer="{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"sha256:$ldigest\",\"size\":$lsize}"
    local manifests="" name cfgjson cdigest csize mdigest msize
    for name in "$BUSYBOX_IMAGE" "$PAUSE_IMAGE"; do
      if [[ $name == "$PAUSE_IMAGE" ]]; then
        cfgjson='{"Env":["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],"Entrypoint":["/bin/sleep","2147483647"]}'
      else
        cfgjson='{"Env":["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["sh"]}'
      fi
      printf '{"architecture":"%s","os":"linux","created":"1970-01-01T00:00:00Z","config":%s,"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created":"1970-01-01T00:00:00Z","created_by":"hack/kube-testenv.sh from Debian busybox-static %s"}]}' \
        "$arch" "$cfgjson" "$ldigest" "$busybox_ver" >"$work/config.json"
      read -r cdigest csize < <(add_blob "$work/layout" "$work/config.json")
      printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[%s]}' \
        "$cdigest" "$csize" "$layer" >"$work/manifest.json"
      read -r mdigest msize < <(add_blob "$work/layout" "$work/manifest.json")
      manifests+="${manifests:+,}{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:$mdigest\",\"size\":$msize,\"platform\":{\"architecture\":\"$arch\",\"os\":\"linux\"},\"annotations\":{\"io.containerd.image.name\":\"$name\",\"org.opencontainers.image.ref.name\":\"${name##*:}\"}}"
    done
    printf '{"imageLayoutVersion":"1.0.0"}' >"$work/layout/oci-layout"
    printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[%s]}' "$manifests" >"$work/layout/index.json"
    tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$work/layout" -cf "$work/images.tar" .
    mv -f "$work/images.tar" "$archive"
    rm -rf "$work"
  fi
  echo "$archive"
}

cmd_build() {
  ensure_packages || unavailable "Debian packages missing"
  ensure_binaries
  if [[ -x /bin/busybox ]]; then
    mkdir -p "$CACHE_DIR/tmp"
    exec 8>"$CACHE_DIR/.build.lock"
    flock 8
    build_images >/dev/null
    exec 8>&-
  fi
  log "binaries in $BIN"
}

# ----------------------------------------------------------------------------------------------
# Certificates (openssl; ECDSA P-256 keys: fast to generate, accepted everywhere here)
# ----------------------------------------------------------------------------------------------
# gen_cert <name> <subject> <extendedKeyUsage> [subjectAltName]
gen_cert() {
  local d="$STATE/pki" n=$1 subj=$2 eku=$3 san=${4:-}
  openssl ecparam -name prime256v1 -genkey -noout -out "$d/$n.key" 2>/dev/null
  openssl req -new -key "$d/$n.key" -subj "$subj" -out "$d/$n.csr" 2>/dev/null
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$eku"
    [[ -z $san ]] || echo "subjectAltName=$san"
  } >"$d/$n.ext"
  openssl x509 -req -in "$d/$n.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -set_serial "0x$(openssl rand -hex 16)" \
    -days 3650 -extfile "$d/$n.ext" -out "$d/$n.crt" 2>/dev/null
  rm -f "$d/$n.csr" "$d/$n.ext"
}

gen_pki() {
  local d="$STATE/pki"
  mkdir -p "$d"
  chmod 700 "$d"
  openssl ecparam -name prime256v1 -genkey -noout -out "$d/ca.key" 2>/dev/null
  openssl req -x509 -new -key "$d/ca.key" -subj "/CN=kubespace-testenv-ca-$NAME" -days 3650 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
    -out "$d/ca.crt" 2>/dev/null
  gen_cert apiserver "/CN=kube-apiserver" serverAuth \
    "DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster,DNS:kubernetes.default.svc.cluster.local,IP:127.0.0.1,IP:10.96.0.1,IP:::1"
  gen_cert admin "/O=system:masters/CN=kubespace-testenv-admin" clientAuth
  # The API server's client certificate towards kubelets (logs/exec/port-forward), authorized by
  # the kubelet's webhook authorizer through RBAC: system:masters keeps that trivially true.
  gen_cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" clientAuth
  gen_cert controller-manager "/CN=system:kube-controller-manager" clientAuth
  gen_cert scheduler "/CN=system:kube-scheduler" clientAuth
  # kwok serves the fake nodes' kubelet API; the API server does not verify kubelet serving
  # certificates (no --kubelet-certificate-authority), but give it a proper one anyway.
  gen_cert node-serving "/CN=localhost" serverAuth "DNS:localhost,IP:127.0.0.1"
  openssl ecparam -name prime256v1 -genkey -noout -out "$d/sa.key" 2>/dev/null
  openssl ec -in "$d/sa.key" -pubout -out "$d/sa.pub" 2>/dev/null
  # A static bearer token (system:masters) for clients that prefer a token to a certificate.
  local token
  token=$(openssl rand -hex 24)
  echo "$token" >"$STATE/admin.token"
  echo "$token,kubespace-testenv-token-admin,kubespace-testenv-token-admin,system:masters" >"$d/tokens.csv"
}

# write_kubeconfig <file> <cert name> <api port>: certificates embedded, so the file stands alone.
write_kubeconfig() {
  local f=$1 c=$2 port=$3 d="$STATE/pki"
  cat >"$f.tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: kubespace-testenv-$NAME
  cluster:
    server: https://127.0.0.1:$port
    certificate-authority-data: $(base64 -w0 "$d/ca.crt")
users:
- name: $c
  user:
    client-certificate-data: $(base64 -w0 "$d/$c.crt")
    client-key-data: $(base64 -w0 "$d/$c.key")
contexts:
- name: kubespace-testenv-$NAME
  context:
    cluster: kubespace-testenv-$NAME
    user: $c
current-context: kubespace-testenv-$NAME
EOF
  chmod 600 "$f.tmp"
  mv -f "$f.tmp" "$f"
}

# ----------------------------------------------------------------------------------------------
# Ports: a block of 10 per cluster, chosen from the name's hash (so a name tends to get the same
# ports every time) and moved to the next block while any port in it is busy or reserved by
# another live cluster. Ports 20000-24999 stay below the kernel's ephemeral range (32768+).
# ----------------------------------------------------------------------------------------------
readonly PORT_BLOCKS=500 PORT_RANGE_START=20000 PORT_STRIDE=10

choose_ports() {
  mkdir -p "$RUN_ROOT"
  mkdir -p "$RUN_ROOT/.locks"
  exec 7>"$RUN_ROOT/.locks/ports.lock"
  flock 7
  local h idx i p ok taken=" " f
  for f in "$RUN_ROOT"/*/ports.env; do
    [[ -f $f && $f != "$STATE/ports.env" ]] || continue
    taken+="$(sed -n 's/^PORT_BASE=//p' "$f") "
  done
  h=$(printf '%s' "$NAME" | cksum | cut -d' ' -f1)
  for ((i = 0; i < PORT_BLOCKS; i++)); do
    idx=$(((h + i) % PORT_BLOCKS))
    p=$((PORT_RANGE_START + idx * PORT_STRIDE))
    [[ $taken == *" $p "* ]] && continue
    ok=1
    for ((j = 0; j < PORT_STRIDE; j++)); do port_free $((p + j)) || { ok=0; break; }; done
    ((ok)) || continue
    cat >"$STATE/ports.env" <<EOF
PORT_BASE=$p
ETCD_CLIENT_PORT=$p
ETCD_PEER_PORT=$((p + 1))
APISERVER_PORT=$((p + 2))
KWOK_NODE_PORT=$((p + 3))
KUBELET_PORT=$((p + 5))
KUBELET_HEALTHZ_PORT=$((p + 6))
EOF
    flock -u 7
    exec 7>&-
    return 0
  done
  die "no free block of $PORT_STRIDE ports in $PORT_RANGE_START-$((PORT_RANGE_START + PORT_BLOCKS * PORT_STRIDE))"
}

# ----------------------------------------------------------------------------------------------
# Control plane + kwok
# ----------------------------------------------------------------------------------------------
start_etcd() {
  start_proc etcd "$BIN/etcd" --name "$NAME" --data-dir "$STATE/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "$NAME=http://127.0.0.1:$ETCD_PEER_PORT" --initial-cluster-state new \
    --unsafe-no-fsync --log-level warn
  # Test data is disposable: skipping fsync makes etcd (and so every write) much faster.
  wait_until 30 "etcd healthy" etcd etcd_healthy || die "etcd did not become healthy"
}
etcd_healthy() { curl -sf "http://127.0.0.1:$ETCD_CLIENT_PORT/health" | grep -q '"health":"true"'; }

start_apiserver() {
  local p="$STATE/pki"
  start_proc kube-apiserver "$BIN/kube-apiserver" \
    --etcd-servers "http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$APISERVER_PORT" \
    --tls-cert-file "$p/apiserver.crt" --tls-private-key-file "$p/apiserver.key" \
    --client-ca-file "$p/ca.crt" --token-auth-file "$p/tokens.csv" \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$p/sa.pub" --service-account-signing-key-file "$p/sa.key" \
    --service-cluster-ip-range "$SERVICE_CIDR" \
    --authorization-mode Node,RBAC --enable-admission-plugins NodeRestriction --allow-privileged=true \
    --kubelet-client-certificate "$p/apiserver-kubelet-client.crt" --kubelet-client-key "$p/apiserver-kubelet-client.key" \
    --kubelet-preferred-address-types Hostname,InternalIP \
    --endpoint-reconciler-type none \
    --profiling=false
  # --endpoint-reconciler-type=none: a loopback advertise address is refused otherwise.
  # Hostname first: the real node is "localhost" (the kubelet refuses a loopback node IP) and the
  # kwok nodes are created with Hostname "localhost" too, so logs/exec reach 127.0.0.1:<port>.
  wait_until 90 "kube-apiserver ready" kube-apiserver apiserver_ready || die "kube-apiserver did not become ready"
}
apiserver_ready() {
  [[ $(curl -s --max-time 3 --cacert "$STATE/pki/ca.crt" --cert "$STATE/pki/admin.crt" --key "$STATE/pki/admin.key" \
    "https://127.0.0.1:$APISERVER_PORT/readyz") == ok ]]
}

start_controllers() {
  local p="$STATE/pki"
  write_kubeconfig "$STATE/controller-manager.kubeconfig" controller-manager "$APISERVER_PORT"
  write_kubeconfig "$STATE/scheduler.kubeconfig" scheduler "$APISERVER_PORT"
  # nodeipam off: no pod CIDRs are needed (kwok fakes pod IPs, the real node's CNI has its own
  # range). High QPS: 10,000 kwok pods take minutes at the default 20 QPS, ~2 min at 1000.
  start_proc kube-controller-manager "$BIN/kube-controller-manager" \
    --kubeconfig "$STATE/controller-manager.kubeconfig" \
    --controllers '*,-nodeipam' --leader-elect=false --use-service-account-credentials=true \
    --service-account-private-key-file "$p/sa.key" --root-ca-file "$p/ca.crt" \
    --cluster-signing-cert-file "$p/ca.crt" --cluster-signing-key-file "$p/ca.key" \
    --kube-api-qps 1000 --kube-api-burst 2000 --secure-port 0 --profiling=false
  start_proc kube-scheduler "$BIN/kube-scheduler" \
    --kubeconfig "$STATE/scheduler.kubeconfig" --leader-elect=false \
    --kube-api-qps 1000 --kube-api-burst 2000 --secure-port 0 --profiling=false
}

# Stage definitions come from the kwok module itself (same version as the binary): node fast,
# node heartbeat-with-lease, pod fast (ready + delete), plus our pod-complete that also finishes
# non-Job pods with restartPolicy Never/OnFailure (e.g. helm test hooks). Cached next to the
# binaries, so a warm `up` needs no Go toolchain.
build_kwok_stages() {
  local kmod k
  kmod=$(cd "$CACHE_DIR" && go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | sed -n 's/.*"Dir": "\(.*\)",*/\1/p') || return 3
  [[ -n $kmod && -d $kmod/kustomize/stage ]] || return 3
  {
    for k in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
      pod/fast/pod-ready.yaml pod/fast/pod-delete.yaml; do
      echo "---"
      cat "$kmod/kustomize/stage/$k"
    done
    echo "---"
    cat "$ASSETS/kwok-stage-pod-complete.yaml"
  } >"$CACHE_DIR/kwok-stages.yaml.tmp"
  mv -f "$CACHE_DIR/kwok-stages.yaml.tmp" "$CACHE_DIR/kwok-stages.yaml"
}

start_kwok() {
  local cfg="$STATE/kwok/kwok.yaml"
  mkdir -p "$STATE/kwok"
  # Only stages in the file: a KwokConfiguration document would replace kwok's defaults wholesale
  # (e.g. lease parallelism 0 → "must be greater than 0"); options are given as flags instead.
  cp "$CACHE_DIR/kwok-stages.yaml" "$cfg"
  write_kubeconfig "$STATE/kwok.kubeconfig" admin "$APISERVER_PORT"
  # kwok serves the fake nodes' kubelet API (logs, exec, metrics) on --server-address; --node-port
  # is only what it writes into the nodes' status, so both are the same port.
  # HOME points into the state dir: kwok reads/writes ~/.kwok, which must not be shared.
  start_proc kwok env HOME="$STATE/kwok" "$BIN/kwok" --config "$cfg" --kubeconfig "$STATE/kwok.kubeconfig" \
    --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake \
    --node-ip 127.0.0.1 --node-port "$KWOK_NODE_PORT" --server-address "127.0.0.1:$KWOK_NODE_PORT" \
    --cidr "$KWOK_POD_CIDR" --node-lease-duration-seconds 40 \
    --tls-cert-file "$STATE/pki/node-serving.crt" --tls-private-key-file "$STATE/pki/node-serving.key"
}

# Fake nodes are created with their addresses already in status (a Node keeps its status on
# create): Hostname "localhost" makes the API server reach kwok's kubelet API on 127.0.0.1 instead
# of resolving "kwok-node-N", and kwok keeps addresses that are present.
create_kwok_nodes() {
  local n=${KWOK_NODES:-2} pods=${KWOK_NODE_PODS:-110} i
  [[ $n =~ ^[0-9]+$ ]] || die "KWOK_NODES must be a number"
  ((n > 0)) || return 0
  for ((i = 0; i < n; i++)); do
    cat <<EOF
---
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-$i
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    type: kwok
    $REAL_NODE_LABEL: kwok
    kubernetes.io/arch: $(image_arch)
    kubernetes.io/os: linux
    kubernetes.io/hostname: kwok-node-$i
spec: {}
status:
  addresses:
  - type: InternalIP
    address: 127.0.0.1
  - type: Hostname
    address: localhost
  allocatable: {cpu: "32", memory: 256Gi, pods: "$pods", ephemeral-storage: 1Ti}
  capacity: {cpu: "32", memory: 256Gi, pods: "$pods", ephemeral-storage: 1Ti}
EOF
  done | kc create -f - >/dev/null
  wait_until 60 "$n kwok node(s) Ready" kwok kwok_nodes_ready "$n" || die "kwok nodes did not become Ready"
}
kwok_nodes_ready() {
  local ready
  ready=$(kc get nodes -l type=kwok -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' | grep -c True)
  ((ready >= $1))
}

# ----------------------------------------------------------------------------------------------
# The real node: containerd + kubelet + CNI bridge. Host-wide resources → one per machine.
# ----------------------------------------------------------------------------------------------
real_node_wanted() {
  case ${KUBE_TESTENV_REAL_NODE:-auto} in
  0 | false | no) return 1 ;;
  1 | true | yes) return 0 ;;
  *) [[ $NAME == default ]] ;;
  esac
}

set_real_status() { echo "$*" >"$STATE/real-node-status"; }

# The owner file holds "<state dir>"; the owner is live while that dir's containerd or kubelet runs
# (or its `up` is in progress: the file is written before they start, hence the "starting" grace).
real_node_owner_live() {
  local owner
  [[ -s $REAL_NODE_OWNER ]] || return 1
  read -r owner _ <"$REAL_NODE_OWNER"
  [[ $owner == "$STATE" ]] && return 1
  [[ -d $owner ]] || return 1
  pid_alive "$owner/pids/containerd" || pid_alive "$owner/pids/kubelet" ||
    [[ -f $owner/real-node-status && $(cat "$owner/real-node-status") == starting* ]]
}

# claim_real_node: atomically (flock) take the machine's real node if free. 0 = ours now.
claim_real_node() {
  local rc=0
  exec 6>"$REAL_NODE_OWNER.lock"
  flock 6
  if real_node_owner_live; then
    rc=1
  else
    echo "$STATE $NAME" >"$REAL_NODE_OWNER"
    set_real_status "starting"
  fi
  flock -u 6
  exec 6>&-
  return $rc
}

release_real_node() {
  exec 6>"$REAL_NODE_OWNER.lock"
  flock 6
  if [[ -s $REAL_NODE_OWNER ]]; then
    local owner
    read -r owner _ <"$REAL_NODE_OWNER"
    [[ $owner != "$STATE" ]] || rm -f "$REAL_NODE_OWNER"
  fi
  flock -u 6
  exec 6>&-
}

real_node_preflight() {
  [[ $(uname -s) == Linux ]] || { echo "not Linux"; return 1; }
  [[ $(id -u) == 0 ]] || { echo "not root (kubelet/containerd need root)"; return 1; }
  [[ -x /usr/sbin/runc ]] || { echo "/usr/sbin/runc missing (apt-get install runc)"; return 1; }
  [[ -x /usr/lib/cni/bridge && -x /usr/lib/cni/host-local && -x /usr/lib/cni/loopback ]] ||
    { echo "CNI plugins missing in /usr/lib/cni (apt-get install containernetworking-plugins)"; return 1; }
  [[ -x /bin/busybox ]] || { echo "/bin/busybox missing (apt-get install busybox-static)"; return 1; }
  grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null || { echo "kernel has no overlayfs"; return 1; }
  [[ -d /sys/fs/cgroup ]] || { echo "no cgroup filesystem"; return 1; }
  command -v ip >/dev/null || { echo "ip (iproute2) missing"; return 1; }
  # We own the real node now (claim_real_node), so a bridge of our name is a leftover of a run
  # that was killed before its `down`: remove it rather than refuse to start.
  if ip link show "$CNI_BRIDGE" >/dev/null 2>&1; then
    log "removing leftover bridge $CNI_BRIDGE"
    ip link delete "$CNI_BRIDGE" >&2 || { echo "cannot delete leftover bridge $CNI_BRIDGE"; return 1; }
  fi
  return 0
}

write_containerd_config() {
  local c="$STATE/containerd"
  mkdir -p "$c/root" "$c/state" "$c/certs.d" "$STATE/cni/net.d" "$STATE/cni/ipam" "$STATE/runc"
  cat >"$c/config.toml" <<EOF
# Generated by hack/kube-testenv.sh for cluster "$NAME". Everything lives under $STATE so that
# \`down\` can remove it, except shim sockets (containerd hardcodes /run/containerd/s).
version = 3
root = "$c/root"
state = "$c/state"
# NRI would open /var/run/nri/nri.sock (host-wide); the others need kernel/tools we do not use.
disabled_plugins = ["io.containerd.nri.v1.nri", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.blockfile", "io.containerd.snapshotter.v1.erofs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "$c/containerd.sock"
[ttrpc]
  address = "$c/containerd.sock.ttrpc"
[debug]
  address = ""
  level = "info"
[metrics]
  address = ""

[plugins]
  [plugins.'io.containerd.internal.v1.opt']
    path = "$c/opt"
  [plugins.'io.containerd.cri.v1.images']
    snapshotter = "overlayfs"
    [plugins.'io.containerd.cri.v1.images'.pinned_images]
      sandbox = "$PAUSE_IMAGE"
    [plugins.'io.containerd.cri.v1.images'.registry]
      config_path = "$c/certs.d"
  [plugins.'io.containerd.cri.v1.runtime']
    enable_selinux = false
    # This VM lacks CAP_SYS_RESOURCE: never try to lower oom_score_adj below our own.
    restrict_oom_score_adj = true
    # Network namespaces under our state dir, not /var/run/netns, so \`down\` finds exactly ours.
    netns_mounts_under_state_dir = true
    [plugins.'io.containerd.cri.v1.runtime'.containerd]
      default_runtime_name = "runc"
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"
        [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
          # Debian's runc by absolute path (Debian's crun fails; a proxy-built runc lacks seccomp).
          BinaryName = "/usr/sbin/runc"
          # runc's state dir under ours (default /run/containerd/runc is host-wide).
          Root = "$STATE/runc"
          SystemdCgroup = false
    [plugins.'io.containerd.cri.v1.runtime'.cni]
      bin_dirs = ["/usr/lib/cni"]
      conf_dir = "$STATE/cni/net.d"
      max_conf_num = 1
  [plugins.'io.containerd.grpc.v1.cri']
    stream_server_address = "127.0.0.1"
    stream_server_port = "0"
EOF
  # Bridge without gateway or masquerade: pods talk to each other and to the kubelet's
  # port-forward/exec (which enter the netns), never to the outside.
  cat >"$STATE/cni/net.d/10-$CNI_NETWORK.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "$CNI_NETWORK",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$CNI_BRIDGE",
      "isGateway": false,
      "isDefaultGateway": false,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$STATE/cni/ipam",
        "ranges": [[{"subnet": "$POD_SUBNET"}]]
      }
    }
  ]
}
EOF
}

ctr_() { "$BIN/ctr" --address "$STATE/containerd/containerd.sock" "$@"; }

start_containerd() {
  write_containerd_config
  # What exists before we start, so `down` only deletes what appeared during the run.
  local ns
  : >"$STATE/netns-before"
  for ns in /var/run/netns/cni-*; do
    if [[ -e $ns ]]; then basename "$ns" >>"$STATE/netns-before"; fi
  done
  [[ -d /run/containerd ]] || touch "$STATE/created-run-containerd"
  # Host paths the kubelet/CNI use whatever we configure: note which ones we create, to remove them.
  [[ -d /var/log/containers ]] || touch "$STATE/created-var-log-containers"
  [[ -d /var/lib/kubelet ]] || touch "$STATE/created-var-lib-kubelet"
  [[ -d /var/lib/cni ]] || touch "$STATE/created-var-lib-cni"
  # PATH: containerd finds containerd-shim-runc-v2 on PATH.
  start_proc containerd env PATH="$BIN:/usr/sbin:/usr/bin:/sbin:/bin" "$BIN/containerd" --config "$STATE/containerd/config.toml"
  if ! wait_until 30 "containerd up" containerd ctr_ version; then
    echo "containerd did not start (log: $STATE/logs/containerd.log)"
    return 1
  fi
}

import_images() {
  local archive
  mkdir -p "$CACHE_DIR/tmp"
  # The archive is cached; build it under the build lock (two clusters never race here anyway:
  # only one owns the real node, but `build` may run concurrently).
  exec 8>"$CACHE_DIR/.build.lock"
  flock 8
  archive=$(build_images)
  exec 8>&-
  ctr_ -n k8s.io images import --platform "linux/$(image_arch)" "$archive" >>"$STATE/logs/image-import.log" 2>&1
  if ! ctr_ -n k8s.io images ls -q 2>/dev/null | grep -qx "$PAUSE_IMAGE"; then
    echo "image import did not create $PAUSE_IMAGE"
    return 1
  fi
}

start_kubelet() {
  local k="$STATE/kubelet" p="$STATE/pki"
  mkdir -p "$k/root" "$STATE/pod-logs"
  gen_cert kubelet-client "/O=system:nodes/CN=system:node:$REAL_NODE_NAME" clientAuth
  write_kubeconfig "$k/kubeconfig" kubelet-client "$APISERVER_PORT"
  cat >"$k/config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: $KUBELET_PORT
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $KUBELET_HEALTHZ_PORT
tlsCertFile: $p/node-serving.crt
tlsPrivateKeyFile: $p/node-serving.key
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $p/ca.crt}
authorization:
  mode: Webhook
containerRuntimeEndpoint: unix://$STATE/containerd/containerd.sock
imageServiceEndpoint: unix://$STATE/containerd/containerd.sock
cgroupDriver: cgroupfs
# This host is a cgroup v1/v2 hybrid; the kubelet refuses v1 by default.
failCgroupV1: false
# No QoS cgroup hierarchy and no allocatable enforcement: fewer host cgroups to create/remove.
cgroupsPerQOS: false
enforceNodeAllocatable: []
failSwapOn: false
podLogsDir: $STATE/pod-logs
# Imported images can never be pulled again: never garbage-collect them.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: "50Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
registerWithTaints:
- {key: $REAL_NODE_TAINT_KEY, value: "true", effect: NoSchedule}
serializeImagePulls: false
# No KUBE-IPTABLES-HINT / KUBE-FIREWALL chains in the host's iptables (nothing here needs them,
# and down could not tell them apart from a real kube-proxy's).
makeIPTablesUtilChains: false
maxPods: 110
staticPodPath: ""
EOF
  start_proc kubelet "$BIN/kubelet" --config "$k/config.yaml" --kubeconfig "$k/kubeconfig" \
    --root-dir "$k/root" --cert-dir "$k/pki" --hostname-override "$REAL_NODE_NAME" \
    --node-labels "$REAL_NODE_LABEL=real" --v=1
  if ! wait_until 90 "real node $REAL_NODE_NAME Ready" kubelet real_node_ready; then
    tail -n 30 "$STATE/logs/kubelet.log" >&2
    echo "node $REAL_NODE_NAME did not become Ready (log: $STATE/logs/kubelet.log)"
    return 1
  fi
}
real_node_ready() {
  [[ $(kc get node "$REAL_NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}') == True ]]
}

# Runs in a subshell with `set -e` (see start_real_node): any failure aborts it with a status.
# Anything a step prints on stdout is the failure reason (stdout goes to real-node-error); calls
# are plain (not in `||`/`if`), otherwise bash would silently ignore `set -e` inside them.
real_node_body() {
  exec >"$STATE/real-node-error"
  real_node_preflight
  start_containerd
  import_images
  start_kubelet
  rm -f "$STATE/real-node-error"
}

start_real_node() {
  if ! real_node_wanted; then
    set_real_status "disabled: KUBE_TESTENV_REAL_NODE=${KUBE_TESTENV_REAL_NODE:-auto}, cluster '$NAME' (only 'default' asks by default)"
    return 0
  fi
  if ! claim_real_node; then
    local owner
    read -r _ owner <"$REAL_NODE_OWNER" || true
    set_real_status "taken: the machine's real node belongs to cluster '${owner:-?}' (state $(cut -d' ' -f1 "$REAL_NODE_OWNER"))"
    log "real node belongs to cluster '${owner:-?}'; this cluster has kwok nodes only"
    return 0
  fi
  log "starting the real node ($REAL_NODE_NAME: containerd + kubelet)"
  local rc=0
  set +e
  (
    set -e
    real_node_body
  )
  rc=$?
  set -e
  if ((rc == 0)); then
    set_real_status "ready: node $REAL_NODE_NAME (label $REAL_NODE_LABEL=real, taint $REAL_NODE_TAINT_KEY=true:NoSchedule)"
    return 0
  fi
  local why
  why=$(tr '\n' ' ' <"$STATE/real-node-error" 2>/dev/null | tail -c 400 | sed 's/ *$//' || true)
  warn "the real node could not start: ${why:-see $STATE/logs}. Continuing with control plane + kwok only."
  stop_real_node
  kc delete node "$REAL_NODE_NAME" --ignore-not-found --wait=false >/dev/null 2>&1 || true
  set_real_status "failed: ${why:-unknown error (see $STATE/logs/containerd.log, kubelet.log)}"
}

# Teardown of the real node, in the order measured to leave nothing behind (KUBE-TESTENV.md).
# Safe to call when only part of it started.
stop_real_node() {
  local owned=0
  if [[ -s $REAL_NODE_OWNER ]] && [[ $(cut -d' ' -f1 "$REAL_NODE_OWNER") == "$STATE" ]]; then owned=1; fi
  if ((!owned)) && [[ ! -e $STATE/containerd && ! -e $STATE/pids/kubelet ]]; then
    return 0
  fi
  # 1. Delete the node's pods and wait briefly, so the kubelet stops containers the normal way.
  if pid_alive "$STATE/pids/kubelet" && pid_alive "$STATE/pids/kube-apiserver"; then
    kc delete pods -A --field-selector "spec.nodeName=$REAL_NODE_NAME" --grace-period=1 --wait=false >/dev/null 2>&1 || true
    local i
    for ((i = 0; i < 75; i++)); do
      [[ -z $(kc get pods -A --field-selector "spec.nodeName=$REAL_NODE_NAME" -o name 2>/dev/null) ]] && break
      sleep 0.2
    done
  fi
  # 2. kubelet, 3. containerd (note the shims first: their PIDs are in the task bundles).
  stop_pidfile "$STATE/pids/kubelet" 15
  local shims=() f pid socks=() sandboxes=()
  for f in "$STATE"/containerd/state/io.containerd.grpc.v1.cri/sandboxes/*/; do
    [[ -d $f ]] && sandboxes+=("$(basename "$f")")
  done
  for f in "$STATE"/containerd/state/io.containerd.runtime.v2.task/*/*/shim.pid; do
    [[ -f $f ]] || continue
    read -r pid <"$f" || continue
    [[ $pid =~ ^[0-9]+$ ]] && shims+=("$pid")
  done
  for f in "$STATE"/containerd/state/io.containerd.runtime.v2.task/*/*/address; do
    [[ -f $f ]] || continue
    socks+=("$(sed 's|^unix://||' "$f")")
  done
  stop_pidfile "$STATE/pids/containerd" 15
  # 4. Leftover shims, by PID — only if the process really is a containerd shim.
  for pid in "${shims[@]}"; do
    if [[ $(cat "/proc/$pid/comm" 2>/dev/null) == containerd-shim* ]]; then
      kill -TERM "$pid" 2>/dev/null || true
    fi
  done
  sleep 0.5
  for pid in "${shims[@]}"; do
    if [[ $(cat "/proc/$pid/comm" 2>/dev/null) == containerd-shim* ]]; then
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  # 5. Leftover containers through runc's state dir (ours, not the host's).
  if [[ -d $STATE/runc ]] && [[ -x /usr/sbin/runc ]]; then
    local id
    for id in $(/usr/sbin/runc --root "$STATE/runc" list -q 2>/dev/null); do
      /usr/sbin/runc --root "$STATE/runc" kill "$id" KILL >/dev/null 2>&1 || true
      /usr/sbin/runc --root "$STATE/runc" delete --force "$id" >/dev/null 2>&1 || true
    done
  fi
  # 6. Mounts under the state dir (rootfs overlays, netns, kubelet volumes, its rshared root).
  unmount_under "$STATE"
  # 7. Network namespaces created during the run in /var/run/netns (ours are normally under the
  #    state dir, see netns_mounts_under_state_dir; this catches a containerd that ignored it).
  if [[ -f $STATE/netns-before ]]; then
    local ns
    for ns in /var/run/netns/cni-*; do
      [[ -e $ns ]] || continue
      ns=$(basename "$ns")
      grep -qx "$ns" "$STATE/netns-before" || ip netns delete "$ns" 2>/dev/null || true
    done
  fi
  # 8. The bridge (veth peers died with their namespaces).
  if ((owned)) && ip link show "$CNI_BRIDGE" >/dev/null 2>&1; then ip link delete "$CNI_BRIDGE" || true; fi
  # 9. The k8s.io cgroups (containerd's default parent when the kubelet passes none) — in every
  #    hierarchy, deepest first; rmdir only removes empty cgroups.
  if ((owned)); then
    local cg
    for cg in /sys/fs/cgroup/k8s.io /sys/fs/cgroup/*/k8s.io; do
      [[ -d $cg ]] || continue
      find "$cg" -depth -type d -exec rmdir {} \; 2>/dev/null || true
    done
  fi
  # Other host-side leftovers: shim sockets, CNI result cache, kubelet's /var/log/containers links.
  for f in "${socks[@]}"; do
    if [[ $f == /run/containerd/s/* ]]; then rm -f "$f"; fi
  done
  # libcni caches results in /var/lib/cni/results/<network>-<sandbox id>-<ifname> (not configurable
  # through containerd); normally removed by CNI DEL, left over if a sandbox was killed.
  rm -f /var/lib/cni/results/"$CNI_NETWORK"-* 2>/dev/null || true
  for f in "${sandboxes[@]}"; do rm -f /var/lib/cni/results/*-"$f"-* 2>/dev/null || true; done
  if [[ -f $STATE/created-var-lib-cni ]]; then
    rmdir /var/lib/cni/results /var/lib/cni 2>/dev/null || true
  fi
  # The kubelet's device-plugin socket path is a compile-time constant.
  if ((owned)); then rm -f /var/lib/kubelet/device-plugins/kubelet.sock; fi
  if [[ -f $STATE/created-var-lib-kubelet ]]; then
    rmdir /var/lib/kubelet/device-plugins /var/lib/kubelet 2>/dev/null || true
  fi
  for f in /var/log/containers/*.log; do
    [[ -L $f ]] || continue
    if [[ $(readlink "$f") == "$STATE/pod-logs/"* ]]; then rm -f "$f"; fi
  done
  if [[ -f $STATE/created-run-containerd ]]; then
    rmdir /run/containerd/s /run/containerd 2>/dev/null || true
  fi
  if [[ -f $STATE/created-var-log-containers ]]; then
    rmdir /var/log/containers 2>/dev/null || true
  fi
  rm -rf "$STATE/containerd" "$STATE/runc" "$STATE/kubelet" "$STATE/cni"
  release_real_node
}

# unmount_under <dir>: every mount point below <dir>, deepest first; lazily if busy.
unmount_under() {
  local dir=$1 m _
  for _ in 1 2 3; do
    local mounts
    mounts=$(awk -v d="$dir/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | awk '{ print length, $0 }' | sort -rn | cut -d' ' -f2-)
    [[ -n $mounts ]] || return 0
    while read -r m; do
      m=$(printf '%b' "$m") # mountinfo escapes spaces etc. as \040; %b decodes that
      umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
    done <<<"$mounts"
  done
}

# ----------------------------------------------------------------------------------------------
# Subcommands
# ----------------------------------------------------------------------------------------------
# Running = every recorded process alive and the API server ready. A cluster missing a process
# (say kwok or the kubelet crashed) is not reused: `up` replaces it with a fresh one.
cluster_running() {
  [[ -f $STATE/kubeconfig && -f $STATE/ports.env && -f $STATE/pids/kube-apiserver ]] || return 1
  local f
  for f in "$STATE"/pids/*; do
    pid_alive "$f" || return 1
  done
  # shellcheck disable=SC1091
  source "$STATE/ports.env"
  apiserver_ready
}

# Lock files are kept (in <run>/.locks) even after `down`: deleting a lock file that another
# process waits on would let a third one lock a new file with the same name.
lock_cluster() {
  mkdir -p "$RUN_ROOT/.locks"
  exec 5>"$RUN_ROOT/.locks/$NAME.lock"
  flock 5
}

register_user() {
  local pid=${KUBE_TESTENV_USER_PID:-}
  if [[ -n $pid ]]; then
    mkdir -p "$STATE/users"
    proc_starttime "$pid" >"$STATE/users/$pid" || echo 0 >"$STATE/users/$pid"
  fi
}

UP_DONE=0
up_cleanup_on_failure() {
  ((UP_DONE)) && return 0
  local f
  warn "up failed; last lines of the logs:"
  for f in "$STATE"/logs/*.log; do
    [[ -f $f ]] || continue
    echo "----- $f" >&2
    tail -n 15 "$f" >&2 || true
  done
  if [[ ${KUBE_TESTENV_KEEP_ON_FAILURE:-0} == 1 ]]; then
    warn "KUBE_TESTENV_KEEP_ON_FAILURE=1: leaving $STATE as it is; run '$0 down $NAME' later"
  else
    down_locked || true
  fi
}

cmd_up() {
  set_name "${1:-}"
  command -v flock >/dev/null || unavailable "flock (util-linux) missing"
  if ! ensure_packages; then
    # Without root the packages cannot be installed; the control plane only needs these two.
    if ! command -v openssl >/dev/null || ! command -v ss >/dev/null; then unavailable "openssl/iproute2 missing"; fi
  fi
  ensure_binaries
  lock_cluster
  if cluster_running; then
    register_user
    # Asked for by hand: from now on tests must not take it down under the person using it.
    [[ -n ${KUBE_TESTENV_USER_PID:-} ]] || touch "$STATE/pinned"
    log "already running"
    echo "$STATE/kubeconfig"
    return 0
  fi
  if [[ -d $STATE ]]; then
    log "cleaning up a stopped or broken previous instance"
    down_locked
  fi
  local t0=$SECONDS
  mkdir -p "$STATE/pids" "$STATE/logs"
  trap up_cleanup_on_failure EXIT
  choose_ports
  # shellcheck disable=SC1091
  source "$STATE/ports.env"
  log "state $STATE, API server https://127.0.0.1:$APISERVER_PORT"
  gen_pki
  write_kubeconfig "$STATE/kubeconfig" admin "$APISERVER_PORT"
  start_etcd
  start_apiserver
  start_controllers
  start_kwok
  create_kwok_nodes
  start_real_node
  wait_until 60 "default ServiceAccount exists" kube-controller-manager kc get serviceaccount default -n default ||
    die "no default ServiceAccount after 60 s (kube-controller-manager log: $STATE/logs/kube-controller-manager.log)"
  local p
  for p in kube-controller-manager kube-scheduler kwok; do require_alive "$p"; done
  register_user
  [[ -f $STATE/users/${KUBE_TESTENV_USER_PID:-none} ]] || touch "$STATE/pinned" # started by hand: never auto-down
  UP_DONE=1
  trap - EXIT
  local rn
  rn=$(cat "$STATE/real-node-status")
  log "up in $((SECONDS - t0)) s; real node: $rn"
  echo "$STATE/kubeconfig"
}

# down_locked: tear down $STATE (cluster lock already held). Idempotent.
down_locked() {
  [[ -d $STATE ]] || { release_real_node; return 0; }
  stop_real_node
  # Everything but etcd at once (each takes 1-3 s to shut down; in sequence that was ~10 s), with
  # etcd still up so the API server's shutdown does not hang on storage; then etcd. The data is
  # thrown away, so a short grace before SIGKILL is enough. Covers anything else recorded in pids/
  # too: `down` stops exactly what was recorded.
  local p files=()
  for p in "$STATE"/pids/*; do
    if [[ -f $p && $p != */etcd ]]; then files+=("$p"); fi
  done
  if ((${#files[@]})); then stop_pidfiles 3 "${files[@]}"; fi
  stop_pidfiles 1 "$STATE/pids/etcd"
  unmount_under "$STATE"
  rm -rf "$STATE"
}

cmd_down() {
  set_name "${1:-}"
  lock_cluster
  if [[ -d $STATE ]]; then
    log "stopping"
    down_locked
    log "down"
  fi
}

cmd_down_all() {
  local d
  for d in "$RUN_ROOT"/*/; do
    [[ -d $d ]] || continue
    cmd_down "$(basename "$d")"
  done
}

# release <name> <pid>: the test binary <pid> is done with <name>. Down it if it was started by
# tests (no "pinned" mark) and no registered user process is alive any more.
cmd_release() {
  set_name "${1:-}"
  local me=${2:-} u start
  [[ -d $STATE ]] || return 0
  lock_cluster
  [[ -z $me ]] || rm -f "$STATE/users/$me"
  for u in "$STATE"/users/*; do
    [[ -f $u ]] || continue
    read -r start <"$u" || true
    if [[ $(proc_starttime "$(basename "$u")" 2>/dev/null) != "${start:-x}" ]]; then rm -f "$u"; fi
  done
  if [[ -f $STATE/pinned || ${KUBE_TESTENV_KEEP:-0} == 1 ]]; then return 0; fi
  if [[ -z $(ls -A "$STATE/users" 2>/dev/null) ]]; then
    log "no user left: stopping"
    down_locked
  fi
}

cmd_status() {
  set_name "${1:-}"
  if [[ ! -d $STATE ]]; then
    echo "cluster $NAME: not running"
    return 1
  fi
  local f rc=0
  echo "cluster $NAME: state $STATE"
  if [[ -f $STATE/ports.env ]]; then sed 's/^/  /' "$STATE/ports.env"; fi
  for f in "$STATE"/pids/*; do
    [[ -f $f ]] || continue
    if pid_alive "$f"; then echo "  $(basename "$f"): running (pid $(cut -d' ' -f1 "$f"))"; else
      echo "  $(basename "$f"): DEAD"
      rc=1
    fi
  done
  echo "  real node: $(cat "$STATE/real-node-status" 2>/dev/null || echo unknown)"
  echo "  kubeconfig: $STATE/kubeconfig"
  cluster_running || rc=1
  return $rc
}

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
