# shellcheck shell=bash
# hack/kube-testenv/lib/cluster.sh — sourced by hack/kube-testenv.sh (its usage header documents
# everything); not meant to be run or sourced on its own: it uses the entry point's constants,
# globals (NAME, STATE, BIN, …) and helpers (log, die, start_proc, wait_until, …).
# The `up` and `status` subcommands, with what they share with teardown.sh (the cluster
# lock, the running check, the registered users).
#
# Probes are called indirectly (wait_until, traps), which shellcheck reports as unreachable.
# shellcheck disable=SC2317

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
