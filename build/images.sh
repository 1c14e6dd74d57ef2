#!/usr/bin/env bash
# build/images.sh — build one OCI image per binary with buildah, without a Docker daemon.
#
# Usage: build/images.sh VERSION      (normally through `make images`, which first runs `make build`)
#
# For every build/<binary>/Dockerfile whose binary exists in bin/, it assembles a throw-away build
# context (bin/<binary> + build/<binary>/ + generated /etc/passwd, /etc/group, CA bundle, /tmp,
# /data) and runs `buildah bud`, tagging kubespace/<binary>:VERSION (buildah stores it as
# localhost/kubespace/<binary>:VERSION).
#
# Why this shape (facts in shared/TOOLS-TESTENV.md):
#   * no registry is reachable from here, so nothing is pulled (--pull=never) and the images start
#     FROM scratch; everything the static binaries need is generated into the context;
#   * vfs storage + chroot isolation work on this machine without a daemon or extra privileges,
#     and buildah ignores STORAGE_DRIVER from the environment, so the flags are passed explicitly;
#   * crun must not be installed (buildah would prefer it and it fails on hybrid cgroups), so
#     only buildah and runc are installed when buildah is missing;
#   * the image store lives in the cache (outside the repo): repeated builds reuse it and the
#     working tree never changes.
#
# Environment:
#   KUBESPACE_CACHE  cache root (default $HOME/.cache/kubespace); image store in <cache>/buildah
#   BINARIES         space-separated subset to build (default: every build/*/Dockerfile)
#
# Inspect afterwards with the same store, e.g.:
#   buildah --storage-driver vfs --root "$(build/images.sh --root)" inspect kubespace/server:VERSION
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${KUBESPACE_CACHE:-$HOME/.cache/kubespace}
root=$cache/buildah/root
runroot=$cache/buildah/runroot

# `build/images.sh --root` prints the store so tests and humans can inspect the images.
if [[ ${1:-} == --root ]]; then
  echo "$root"
  exit 0
fi
version=${1:?usage: build/images.sh VERSION}

# Install buildah (and runc, never crun) only when missing: the Makefile promises every target
# installs what it needs.
if ! command -v buildah >/dev/null 2>&1; then
  if [[ $(id -u) -ne 0 ]]; then
    echo "images: buildah is missing; install it with: apt-get install -y buildah runc" >&2
    exit 3
  fi
  echo "images: installing buildah and runc" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends buildah runc >/dev/null ||
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends buildah runc >/dev/null; }
fi

ca_bundle=/etc/ssl/certs/ca-certificates.crt
if [[ ! -s $ca_bundle ]]; then
  echo "images: $ca_bundle is missing on the build host (apt-get install -y ca-certificates)" >&2
  exit 3
fi

bah=(buildah --storage-driver vfs --root "$root" --runroot "$runroot")
mkdir -p "$root" "$runroot"

# One temp dir for all contexts; removed however the script ends.
work=$(mktemp -d "${TMPDIR:-/tmp}/kubespace-images.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The generated part of every context. UID/GID 65532 is the common "nonroot" id (distroless);
# the images use it numerically so runAsNonRoot can be checked by the kubelet.
common=$work/common
mkdir -p "$common/rootfs/etc/ssl/certs" "$common/rootfs/tmp" "$common/data"
printf '%s\n' 'root:x:0:0:root:/root:/sbin/nologin' \
  'kubespace:x:65532:65532:kubespace:/data:/sbin/nologin' >"$common/rootfs/etc/passwd"
printf '%s\n' 'root:x:0:' 'kubespace:x:65532:' >"$common/rootfs/etc/group"
cp "$ca_bundle" "$common/rootfs/etc/ssl/certs/ca-certificates.crt"
chmod 0644 "$common/rootfs/etc/passwd" "$common/rootfs/etc/group" "$common/rootfs/etc/ssl/certs/ca-certificates.crt"
chmod 1777 "$common/rootfs/tmp"
chmod 0755 "$common/data" "$common/rootfs" "$common/rootfs/etc" "$common/rootfs/etc/ssl" "$common/rootfs/etc/ssl/certs"

wanted=${BINARIES:-}
built=0
for dockerfile in "$repo"/build/*/Dockerfile; do
  [[ -e $dockerfile ]] || continue
  bin=$(basename "$(dirname "$dockerfile")")
  if [[ -n $wanted && " $wanted " != *" $bin "* ]]; then
    continue
  fi
  if [[ ! -x $repo/bin/$bin ]]; then
    # Dockerfiles may land before their binary (controller-manager, spacelet, kube-agent).
    echo "images: skip $bin (bin/$bin not built)" >&2
    continue
  fi
  ctx=$work/$bin
  mkdir -p "$ctx"
  cp -a "$common/." "$ctx/"
  cp -a "$repo/build/$bin/." "$ctx/"
  cp "$repo/bin/$bin" "$ctx/kubespace-$bin"
  chmod 0755 "$ctx/kubespace-$bin"
  tag=kubespace/$bin:$version
  echo "images: buildah bud -t $tag" >&2
  "${bah[@]}" bud --isolation chroot --pull=never --layers=false \
    --label "org.opencontainers.image.version=$version" \
    --label "org.opencontainers.image.title=kubespace-$bin" \
    -f "$ctx/Dockerfile" -t "$tag" "$ctx" >&2
  size=$("${bah[@]}" images --format '{{.Size}}' "$tag" | head -n1)
  echo "images: built localhost/$tag ($size)"
  built=$((built + 1))
done

# Rebuilding a tag leaves the previous image dangling; vfs stores full copies, so drop them.
"${bah[@]}" rmi --prune >/dev/null 2>&1 || true

if ((built == 0)); then
  echo "images: nothing built (no build/*/Dockerfile with a binary in bin/)" >&2
  exit 1
fi
