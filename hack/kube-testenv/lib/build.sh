# shellcheck shell=bash
# hack/kube-testenv/lib/build.sh — sourced by hack/kube-testenv.sh (its usage header documents
# everything); not meant to be run or sourced on its own: it uses the entry point's constants,
# globals (NAME, STATE, BIN, …) and helpers (log, die, start_proc, wait_until, …).
# Debian packages, building the binaries into the version-keyed cache, the real node's
# local images, and the `build` subcommand.
#
# Probes are called indirectly (wait_until, traps), which shellcheck reports as unreachable.
# shellcheck disable=SC2317

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
