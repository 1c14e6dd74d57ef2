#!/usr/bin/env bash
# Installs and starts what the tests need and is missing on this machine: Debian packages
# (MariaDB, Redis, Chromium, ...), the MariaDB and Redis servers, and the console's npm packages.
# Idempotent and quiet when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { echo "deps: $*" >&2; }

apt_updated=0
need_pkg() { # need_pkg command package
  command -v "$1" >/dev/null 2>&1 && return 0
  if [ "$(id -u)" != 0 ]; then log "missing $1 (install Debian package $2)"; return 1; fi
  if [ $apt_updated = 0 ]; then
    log "apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    apt_updated=1
  fi
  log "installing $2"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2" >/dev/null
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() { # wait_port port name
  for _ in $(seq 1 60); do port_open "$1" && return 0; sleep 0.5; done
  log "$2 did not start on port $1"; return 1
}

ensure_mariadb() {
  [ -n "${KUBESPACE_TEST_MYSQL_DSN:-}" ] && return 0
  port_open 3306 && return 0
  need_pkg mariadbd mariadb-server
  mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
  if [ ! -d /var/lib/mysql/mysql ]; then mariadb-install-db --user=mysql >/dev/null; fi
  log "starting MariaDB"
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql
  wait_port 3306 MariaDB
  # Tests connect as root over TCP without a password, as on the development machines.
  for _ in $(seq 1 20); do
    mariadb -uroot -e "SELECT 1" >/dev/null 2>&1 && break; sleep 0.5
  done
  mariadb -uroot -e "ALTER USER 'root'@'localhost' IDENTIFIED VIA mysql_native_password USING PASSWORD('') OR unix_socket" 2>/dev/null || true
}

ensure_redis() {
  [ -n "${KUBESPACE_TEST_REDIS:-}" ] && return 0
  port_open 6379 && return 0
  need_pkg redis-server redis-server
  log "starting Redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
  wait_port 6379 Redis
}

ensure_chromium() {
  need_pkg chromium chromium
}

ensure_node_modules() {
  need_pkg npm npm
  if [ ! -d ui/node_modules ] || [ ui/package-lock.json -nt ui/node_modules/.package-lock.json ]; then
    log "npm ci (ui)"
    (cd ui && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

for what in "$@"; do
  case "$what" in
    mariadb) ensure_mariadb ;;
    redis) ensure_redis ;;
    chromium) ensure_chromium ;;
    git) need_pkg git git ;; # real git servers in tests (internal/gittest: git http-backend, upload-pack)
    node) ensure_node_modules ;;
    *) log "unknown dependency $what"; exit 2 ;;
  esac
done
