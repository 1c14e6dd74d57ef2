# shellcheck shell=bash
# hack/kube-testenv/lib/certs.sh — sourced by hack/kube-testenv.sh (its usage header documents
# everything); not meant to be run or sourced on its own: it uses the entry point's constants,
# globals (NAME, STATE, BIN, …) and helpers (log, die, start_proc, wait_until, …).
# Certificates (PKI, kubeconfigs).
#
# Probes are called indirectly (wait_until, traps), which shellcheck reports as unreachable.
# shellcheck disable=SC2317

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
