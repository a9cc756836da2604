#!/usr/bin/env bash
# A private PostgreSQL server on loopback for the relay's tests and
# benchmarks: installs the Debian package if missing, creates a throwaway
# cluster in a temporary directory and starts it.
#
#   eval "$(scripts/postgres.sh start)"   # exports FIO_INBOX_TEST_POSTGRES, FIO_INBOX_PG_DIR
#   scripts/postgres.sh stop "$FIO_INBOX_PG_DIR"
#
# Needs root or sudo for apt-get when PostgreSQL is not installed. As root,
# the server runs as the `postgres` user (initdb refuses root).
set -euo pipefail

source "$(dirname "$0")/apt.sh"

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

run_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-}" in
start)
  if [ -z "$(pg_bin)" ] || [ ! -x "$(pg_bin)/initdb" ]; then
    echo "installing postgresql from Debian" >&2
    apt_install postgresql
  fi
  bin=$(pg_bin)
  dir=$(mktemp -d /tmp/fio-inbox-pg.XXXXXX)
  if [ "$(id -u)" = 0 ]; then chown postgres: "$dir"; fi
  chmod 700 "$dir"
  # A free port: let the kernel pick, then use it.
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  run_pg "$bin/initdb" -D "$dir/data" -U fio_inbox -A trust --no-sync -E UTF8 >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; exit 1; }
  # fsync stays on: the crash tests and the benchmark depend on real durability.
  run_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c max_connections=300 -c fsync=on -c synchronous_commit=on" \
    start >&2 || { cat "$dir/server.log" >&2; exit 1; }
  echo "export FIO_INBOX_TEST_POSTGRES=postgres://fio_inbox@127.0.0.1:$port/postgres"
  echo "export FIO_INBOX_PG_DIR=$dir"
  ;;
stop)
  dir=${2:?usage: postgres.sh stop DIR}
  run_pg "$(pg_bin)/pg_ctl" -D "$dir/data" -m fast -w stop >&2 || true
  rm -rf "$dir"
  ;;
*)
  echo "usage: $0 start | stop DIR" >&2
  exit 2
  ;;
esac
