#!/usr/bin/env bash
# The relay benchmark (issue targets: >= 10,000 durable submits/s on SQLite,
# >= 5 envelopes per fsync), on SQLite and on a private PostgreSQL server,
# beside the disk's fsync rate measured in the same run.
#
#   scripts/bench-relay.sh
#
# FIO_INBOX_BENCH_SECS sets each phase's length (default 5); the databases
# go in a temporary directory under FIO_INBOX_BENCH_DIR (default: target/),
# so the fsync baseline is the disk the relay writes to.
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(scripts/postgres.sh start)"
trap 'scripts/postgres.sh stop "$FIO_INBOX_PG_DIR"' EXIT
mkdir -p target
export FIO_INBOX_BENCH_DIR=${FIO_INBOX_BENCH_DIR:-$PWD/target}
cargo bench -q -p fio-inbox --bench relay
