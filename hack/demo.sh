#!/usr/bin/env bash
# hack/demo.sh — start a demo cluster from the test environment (kwok nodes plus, when free, the
# machine's real node), deploy a few sample workloads, and import it into a running KubeSpace.
# The cluster stays up; remove it with `hack/kube-testenv.sh down demo`.
#
#   KUBESPACE_URL    the running server (default http://localhost:8080)
#   KUBESPACE_TOKEN  an API token of a platform admin, or
#   KUBESPACE_USER / KUBESPACE_PASSWORD  to log in (default user admin)
#   DEMO_NAME        cluster name in KubeSpace and in the test environment (default demo)
set -euo pipefail
cd "$(dirname "$0")/.."

url=${KUBESPACE_URL:-http://localhost:8080}
name=${DEMO_NAME:-demo}
log() { echo "demo: $*" >&2; }

kubeconfig=$(KWOK_NODES=${KWOK_NODES:-4} KUBE_TESTENV_REAL_NODE=${KUBE_TESTENV_REAL_NODE:-1} hack/kube-testenv.sh up "$name" | tail -1)
kubectl=$(hack/kube-testenv.sh kubectl-path)
k() { "$kubectl" --kubeconfig "$kubeconfig" "$@"; }

log "deploying sample workloads"
k apply -f - >/dev/null <<'YAML'
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: frontend, namespace: shop, labels: {app: frontend}}
spec:
  replicas: 3
  selector: {matchLabels: {app: frontend}}
  template:
    metadata: {labels: {app: frontend}}
    spec:
      nodeSelector: {kubespace.io/testenv-node: kwok}
      containers: [{name: web, image: docker.io/library/busybox:testenv, command: [httpd, -f, -p, "8080"]}]
---
apiVersion: v1
kind: Service
metadata: {name: frontend, namespace: shop}
spec:
  selector: {app: frontend}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: shop}
spec:
  serviceName: db
  replicas: 2
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      nodeSelector: {kubespace.io/testenv-node: kwok}
      containers: [{name: db, image: docker.io/library/busybox:testenv, command: [sleep, infinity]}]
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly-report, namespace: shop}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          nodeSelector: {kubespace.io/testenv-node: kwok}
          containers: [{name: report, image: docker.io/library/busybox:testenv, command: [echo, report]}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: frontend-settings, namespace: shop}
data: {theme: dark, currency: EUR}
YAML
if grep -q '^ready' "${KUBESPACE_RUN:-/tmp/kubespace-testenv}/$name/real-node-status" 2>/dev/null; then
  log "starting a logger pod on the real node (real logs and exec)"
  k apply -f - >/dev/null <<'YAML'
apiVersion: v1
kind: Pod
metadata: {name: ticker, namespace: shop}
spec:
  nodeSelector: {kubespace.io/testenv-node: real}
  tolerations: [{key: kubespace.io/real-node, operator: Exists, effect: NoSchedule}]
  containers:
  - name: ticker
    image: docker.io/library/busybox:testenv
    imagePullPolicy: Never
    command: [sh, -c, 'i=0; while true; do i=$((i+1)); echo "tick $i"; sleep 1; done']
YAML
fi

token=${KUBESPACE_TOKEN:-}
if [ -z "$token" ]; then
  user=${KUBESPACE_USER:-admin}
  pass=${KUBESPACE_PASSWORD:?set KUBESPACE_TOKEN, or KUBESPACE_PASSWORD for user $user}
  token=$(curl -fsS "$url/api/v1/auth/login" -H 'Content-Type: application/json' \
    -d "$(printf '{"username":"%s","password":"%s"}' "$user" "$pass")" | sed -E 's/.*"token":"([^"]+)".*/\1/')
fi
body=$(python3 -c 'import json,sys; print(json.dumps({"name": sys.argv[1], "description": "demo cluster from the test environment", "kubeconfig": open(sys.argv[2]).read()}))' "$name" "$kubeconfig")
log "importing cluster $name into $url"
curl -fsS "$url/api/v1/clusters" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' -d "$body" >/dev/null
log "done: open $url/clusters — remove with: hack/kube-testenv.sh down $name"
