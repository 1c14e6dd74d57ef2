#!/usr/bin/env bash
# build/smoke.sh — prove an image built by build/images.sh works: check its config, then run the
# server binary from the image's own root filesystem as the image user and curl /healthz, /readyz.
#
# Usage: build/smoke.sh VERSION       (after `make images`)
#
# Why a mount + chroot and not `buildah run`: `buildah run` is meant for build steps (it runs a
# command to completion); a server must run in the background while we probe it. Mounting the
# container's rootfs and chrooting into it as 65532:65532 runs exactly the image's files (binary,
# CA bundle, passwd, /tmp) with the host network, so curl on 127.0.0.1 reaches it.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
version=${1:?usage: build/smoke.sh VERSION}
root=$("$repo/build/images.sh" --root)
bah=(buildah --storage-driver vfs --root "$root" --runroot "${root%/root}/runroot")
image=kubespace/server:$version

cfg=$("${bah[@]}" inspect --format '{{.OCIv1.Config.User}} {{.OCIv1.Config.ExposedPorts}} {{.OCIv1.Config.Entrypoint}} {{.OCIv1.Config.Volumes}}' "$image")
echo "smoke: config: $cfg"
want='65532:65532 map[8080/tcp:{} 8443/tcp:{}] [/kubespace-server] map[/data:{}]'
[[ $cfg == "$want" ]] || { echo "smoke: unexpected image config, want: $want" >&2; exit 1; }

ctr=$("${bah[@]}" from --pull=never --name "kubespace-smoke-$$" "$image")
pid=
cleanup() {
  if [[ -n $pid ]]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  "${bah[@]}" umount "$ctr" >/dev/null 2>&1 || true
  "${bah[@]}" rm "$ctr" >/dev/null 2>&1 || true
}
trap cleanup EXIT

# `buildah run` works too (chroot isolation): the binary starts and prints its flags (the flag
# package exits 1 after --help, hence `|| true`; the output is what we check).
help=$("${bah[@]}" run --isolation chroot "$ctr" -- /kubespace-server --help 2>&1 || true)
[[ $help == *-data-dir* ]] || { echo "smoke: /kubespace-server --help did not print its flags: $help" >&2; exit 1; }
echo "smoke: buildah run /kubespace-server --help ok"

mnt=$("${bah[@]}" mount "$ctr")
# A free port from the kernel (bind to 0); the tiny race until the server binds is acceptable here.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log=$(mktemp "${TMPDIR:-/tmp}/kubespace-smoke.XXXXXX")
# DATA_DIR under /tmp (a path inside the image) proves /tmp is writable by the non-root user.
env -i DATA_DIR=/tmp/x PORT="$port" TLS_PORT=0 /usr/sbin/chroot --userspec=65532:65532 "$mnt" /kubespace-server >"$log" 2>&1 &
pid=$!
for _ in $(seq 100); do
  if curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then break; fi
  kill -0 "$pid" 2>/dev/null || { echo "smoke: server exited:" >&2; cat "$log" >&2; exit 1; }
  sleep 0.1
done
echo "smoke: /healthz $(curl -fsS "http://127.0.0.1:$port/healthz")"
echo "smoke: /readyz $(curl -fsS "http://127.0.0.1:$port/readyz")"
grep -q 'setup token' "$log" && echo "smoke: setup token printed"
rm -f "$log"
echo "smoke: ok ($("${bah[@]}" images --format '{{.Size}}' "$image" | head -n1))"
