# shellcheck shell=bash
# hack/kube-testenv/lib/teardown.sh — sourced by hack/kube-testenv.sh (its usage header documents
# everything); not meant to be run or sourced on its own: it uses the entry point's constants,
# globals (NAME, STATE, BIN, …) and helpers (log, die, start_proc, wait_until, …).
# Teardown: the real node (stop_real_node), then whole clusters (`down`, `down-all`,
# `release`).
#
# Probes are called indirectly (wait_until, traps), which shellcheck reports as unreachable.
# shellcheck disable=SC2317

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
# Subcommands: down, down-all, release
# ----------------------------------------------------------------------------------------------
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
