# shellcheck shell=bash
# hack/kube-testenv/lib/control-plane.sh — sourced by hack/kube-testenv.sh (its usage header documents
# everything); not meant to be run or sourced on its own: it uses the entry point's constants,
# globals (NAME, STATE, BIN, …) and helpers (log, die, start_proc, wait_until, …).
# Ports, then the control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler)
# and kwok with its fake nodes.
#
# Probes are called indirectly (wait_until, traps), which shellcheck reports as unreachable.
# shellcheck disable=SC2317

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
