#!/usr/bin/env bash
# chart/test.sh — test chart/kubespace for real: helm lint, helm template (embedded, external,
# and a combination that must fail), then install / upgrade / uninstall on a test cluster.
#
# Usage: chart/test.sh          (or `make chart-test`)
#
# Why this shape:
#   * the repo has no Helm CLI; helm v3.22.0 is built from the Go module proxy into the same cache as
#     the Kubernetes test environment (${KUBESPACE_CACHE:-$HOME/.cache/kubespace}/helm-v3.22.0) once,
#     about 1–2 minutes, then reused;
#   * the cluster is hack/kube-testenv.sh with kwok nodes only (KUBE_TESTENV_REAL_NODE=0): kwok marks
#     pods Running and Ready without running containers, so `helm install --wait` exercises the
#     chart's objects and the API server's validation without needing the image in the cluster.
#     The server itself is proven by build/smoke.sh (runs the image's binary, curls /healthz);
#   * the test cluster has no StorageClass/provisioner, so the script pre-creates a hostPath PV
#     with a private class and installs with persistence.storageClass set to it — the PVC binds and
#     `--wait` (which waits for PVCs too) completes. Clusters without storage can use
#     persistence.enabled=false instead (emptyDir, data lost with the pod);
#   * helm's own config/cache/data go to a temp dir, so nothing is written to $HOME or the repo.
#
# Environment: KUBESPACE_CACHE (cache root), CHART_TEST_KEEP=1 (leave the cluster up to debug).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
chart=$repo/chart/kubespace
cache=${KUBESPACE_CACHE:-$HOME/.cache/kubespace}
helm_version=v3.22.0
helm_bin=$cache/helm-$helm_version/bin/helm
cluster=charttest

log() { echo "chart-test: $*" >&2; }
fail() { echo "chart-test: FAIL: $*" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/kubespace-chart-test.XXXXXX")
trap 'rm -rf "$work"' EXIT

# --- helm ---------------------------------------------------------------------------------------
if [[ ! -x $helm_bin ]]; then
  log "building helm $helm_version into $(dirname "$helm_bin") (once, 1-2 minutes)"
  mkdir -p "$(dirname "$helm_bin")"
  # GOFLAGS= : a -mod=... from the caller's environment must not apply outside this module.
  # Run from an empty dir so this repo's go.mod does not take part.
  mkdir -p "$work/gobuild"
  (cd "$work/gobuild" && GOFLAGS='' GOBIN=$(dirname "$helm_bin") go install "helm.sh/helm/v3/cmd/helm@$helm_version")
fi

export HELM_CONFIG_HOME=$work/helm/config HELM_CACHE_HOME=$work/helm/cache HELM_DATA_HOME=$work/helm/data
helm() { "$helm_bin" "$@"; }

# Sets of values used below.
external=(--set mysql.host=mysql.db.svc:3306 --set mysql.user=kubespace --set mysql.existingSecret=kubespace-mysql
  --set redis.address=redis.db.svc:6379 --set redis.existingSecret=kubespace-redis --set replicaCount=2
  --set serverURL=https://kubespace.example.com --set trustedProxies=10.0.0.0/8
  --set ingress.enabled=true --set ingress.className=nginx)

# --- lint -----------------------------------------------------------------------------------------
log "helm lint"
helm lint --strict "$chart" >&2
helm lint --strict "$chart" "${external[@]}" >&2

# --- template -------------------------------------------------------------------------------------
# Pulls one document (by kind) out of a rendered stream; good enough for assertions here.
kind_doc() { awk -v k="kind: $2" 'BEGIN{RS="\n---\n"} index($0, k) {print}' "$1"; }

log "template (a) embedded defaults"
helm template ks "$chart" >"$work/a.yaml"
grep -q '^kind: PersistentVolumeClaim' "$work/a.yaml" || fail "(a) no PVC in embedded mode"
kind_doc "$work/a.yaml" Deployment | grep -q 'type: Recreate' || fail "(a) embedded Deployment is not Recreate"
kind_doc "$work/a.yaml" Deployment | grep -q 'claimName: ks-kubespace-data' || fail "(a) /data is not the PVC"
grep -q 'MYSQL_HOST' "$work/a.yaml" && fail "(a) MYSQL_HOST set in embedded mode"
for want in 'runAsNonRoot: true' 'readOnlyRootFilesystem: true' '- ALL' 'type: RuntimeDefault' 'path: /healthz' 'path: /readyz'; do
  grep -qF -- "$want" "$work/a.yaml" || fail "(a) missing: $want"
done
# SECRET_KEY must be base64 (in the Secret's base64) of exactly 32 bytes.
key=$(kind_doc "$work/a.yaml" Secret | sed -n 's/^  SECRET_KEY: "\(.*\)"$/\1/p')
[[ $(printf %s "$key" | base64 -d | base64 -d | wc -c) -eq 32 ]] || fail "(a) generated SECRET_KEY is not 32 bytes"
# No passwords unless given.
grep -Eq 'MYSQL_PASSWORD|REDIS_PASSWORD|SETUP_TOKEN' "$work/a.yaml" && fail "(a) a password appears without being set"

log "template (b) external MySQL/Redis, 2 replicas, ingress"
helm template ks "$chart" "${external[@]}" >"$work/b.yaml"
grep -q '^kind: PersistentVolumeClaim' "$work/b.yaml" && fail "(b) PVC rendered in external mode"
grep -q '^kind: Ingress' "$work/b.yaml" || fail "(b) no Ingress"
dep=$(kind_doc "$work/b.yaml" Deployment)
for want in 'replicas: 2' 'value: "mysql.db.svc:3306"' 'value: "redis.db.svc:6379"' 'name: kubespace-mysql' \
  'key: mysql-password' 'name: kubespace-redis' 'value: "https://kubespace.example.com"' 'value: "10.0.0.0/8"' 'emptyDir: {}'; do
  grep -qF -- "$want" <<<"$dep" || fail "(b) Deployment lacks: $want"
done
grep -q 'type: Recreate' <<<"$dep" && fail "(b) external mode should roll, not Recreate"
# A password given as a value goes into the chart's Secret, never into the Deployment.
helm template ks "$chart" --set mysql.host=db --set mysql.password=s3cret-value >"$work/b2.yaml"
kind_doc "$work/b2.yaml" Secret | grep -q "MYSQL_PASSWORD: \"$(printf s3cret-value | base64)\"" || fail "(b) mysql.password not in Secret"
grep -q 's3cret-value' "$work/b2.yaml" && fail "(b) password in clear text"
if helm template ks "$chart" --set mysql.host=db >/dev/null 2>"$work/b3.err"; then fail "(b) MySQL without password rendered"; fi
grep -q 'no MySQL password was given' "$work/b3.err" || fail "(b) wrong message: $(cat "$work/b3.err")"

log "template (c) replicas=2 in embedded mode must fail"
if helm template ks "$chart" --set replicaCount=2 >/dev/null 2>"$work/c.err"; then fail "(c) rendered"; fi
grep -q 'replicaCount=2 is not possible in embedded mode' "$work/c.err" || fail "(c) wrong message: $(cat "$work/c.err")"
log "(c) failed as expected: $(grep -o 'replicaCount=2 is not possible in embedded mode[^:]*' "$work/c.err")"

# --- install on a test cluster --------------------------------------------------------------------
log "starting test cluster $cluster (kwok nodes only)"
kubeconfig=$(KUBE_TESTENV_REAL_NODE=0 "$repo/hack/kube-testenv.sh" up "$cluster" | tail -n1)
kubectl_bin=$("$repo/hack/kube-testenv.sh" kubectl-path)
pv=kubespace-charttest-$$
cleanup() {
  local rc=$?
  if [[ ${CHART_TEST_KEEP:-} == 1 ]]; then
    log "CHART_TEST_KEEP=1: leaving cluster $cluster up (kubeconfig $kubeconfig)"
  else
    "$kubectl_bin" --kubeconfig "$kubeconfig" delete pv "$pv" --ignore-not-found --wait=false >/dev/null 2>&1 || true
    "$repo/hack/kube-testenv.sh" down "$cluster" >&2 || true
  fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
k() { "$kubectl_bin" --kubeconfig "$kubeconfig" "$@"; }
h() { helm --kubeconfig "$kubeconfig" "$@"; }

ns=kubespace-charttest
k create namespace "$ns" >/dev/null
# A PV for the embedded-mode claim (the test cluster has no provisioner). hostPath is never touched
# because kwok runs no containers.
k apply -f - >/dev/null <<YAML
apiVersion: v1
kind: PersistentVolume
metadata: {name: $pv}
spec:
  capacity: {storage: 5Gi}
  accessModes: [ReadWriteOnce]
  storageClassName: kubespace-charttest
  persistentVolumeReclaimPolicy: Delete
  hostPath: {path: /tmp/$pv}
YAML

log "helm install --wait (embedded mode, PVC on class kubespace-charttest)"
h install ks "$chart" -n "$ns" --wait --timeout 3m \
  --set persistence.storageClass=kubespace-charttest --set image.pullPolicy=Never >"$work/install.out"
sed -n '/^NOTES:/,$p' "$work/install.out" >&2
grep -q 'grep "setup token"' "$work/install.out" || fail "NOTES do not tell how to get the setup token"
k -n "$ns" get deploy/ks-kubespace svc/ks-kubespace secret/ks-kubespace pvc/ks-kubespace-data sa/ks-kubespace >&2
[[ $(k -n "$ns" get deploy ks-kubespace -o jsonpath='{.status.readyReplicas}') == 1 ]] || fail "Deployment not ready"
[[ $(k -n "$ns" get pvc ks-kubespace-data -o jsonpath='{.status.phase}') == Bound ]] || fail "PVC not bound"
[[ $(k -n "$ns" get svc ks-kubespace -o jsonpath='{.spec.ports[*].port}') == "8080 8443" ]] || fail "Service ports"
k get clusterrolebindings,rolebindings -A -o jsonpath='{range .items[*]}{.subjects[*].name}{"\n"}{end}' | grep -qx ks-kubespace &&
  fail "the ServiceAccount got RBAC"
key1=$(k -n "$ns" get secret ks-kubespace -o jsonpath='{.data.SECRET_KEY}')
[[ $(printf %s "$key1" | base64 -d | base64 -d | wc -c) -eq 32 ]] || fail "installed SECRET_KEY is not 32 bytes"

log "helm upgrade keeps SECRET_KEY (lookup)"
h upgrade ks "$chart" -n "$ns" --wait --timeout 3m --reuse-values --set logLevel=debug >/dev/null
key2=$(k -n "$ns" get secret ks-kubespace -o jsonpath='{.data.SECRET_KEY}')
[[ $key1 == "$key2" ]] || fail "SECRET_KEY changed on upgrade"
k -n "$ns" get deploy ks-kubespace -o jsonpath='{.spec.template.spec.containers[0].env}' | grep -q '"debug"' ||
  fail "upgrade did not apply logLevel=debug"

log "helm install --wait (external MySQL/Redis, 2 replicas) in a second namespace"
k create namespace "$ns-ext" >/dev/null
k -n "$ns-ext" create secret generic kubespace-mysql --from-literal=mysql-password=test-only-pw >/dev/null
k -n "$ns-ext" create secret generic kubespace-redis --from-literal=redis-password=test-only-pw >/dev/null
h install ext "$chart" -n "$ns-ext" --wait --timeout 3m "${external[@]}" >/dev/null
[[ $(k -n "$ns-ext" get deploy ext-kubespace -o jsonpath='{.status.readyReplicas}') == 2 ]] || fail "external: 2 replicas not ready"
k -n "$ns-ext" get pvc -o name | grep -q . && fail "external: a PVC was created"

log "helm uninstall keeps the Secret and the PVC (keepOnUninstall=true), removes the rest"
h uninstall ks -n "$ns" --wait >/dev/null
left=$(k -n "$ns" get deploy,svc,sa -l app.kubernetes.io/instance=ks -o name)
[[ -z $left ]] || fail "left after uninstall: $left"
k -n "$ns" get secret/ks-kubespace pvc/ks-kubespace-data -o name >/dev/null || fail "Secret/PVC not kept"

log "helm install again adopts the kept Secret and PVC: same SECRET_KEY, same claim"
h install ks "$chart" -n "$ns" --wait --timeout 3m --set persistence.storageClass=kubespace-charttest >/dev/null
key3=$(k -n "$ns" get secret ks-kubespace -o jsonpath='{.data.SECRET_KEY}')
[[ $key1 == "$key3" ]] || fail "SECRET_KEY changed on reinstall"
[[ $(k -n "$ns" get pvc ks-kubespace-data -o jsonpath='{.spec.volumeName}') == "$pv" ]] || fail "PVC not the same volume"

log "helm uninstall with keepOnUninstall=false removes everything"
h upgrade ks "$chart" -n "$ns" --reuse-values --set keepOnUninstall=false --wait --timeout 3m >/dev/null
h uninstall ks -n "$ns" --wait >/dev/null
h uninstall ext -n "$ns-ext" --wait >/dev/null
left=$(k -n "$ns" get deploy,svc,secret,pvc,sa -l app.kubernetes.io/instance=ks -o name)
[[ -z $left ]] || fail "left after uninstall: $left"

log "PASS"
