#!/usr/bin/env bash
# Fuzzes fio-peer's hostile-input surfaces with libFuzzer: the cargo-fuzz
# targets in fuzz/ (envelope and strict JSON parsers, the relay's submit
# check against the wallet's parser, FIO ABI contents and actions, the
# wallet's whole receive path), built on the nightly toolchain (installed
# when missing) with the coverage instrumentation `cargo fuzz build -s none`
# uses, so cargo-fuzz itself is not needed (`cargo fuzz run <target>` in
# fuzz/ works too).
#
#   scripts/fuzz.sh                         every target for 30 s (FUZZ_SECONDS),
#                                           one per core (FUZZ_JOBS)
#   scripts/fuzz.sh wallet_receive 3600     one target for an hour
#   FUZZ_SANITIZER=address scripts/fuzz.sh  with AddressSanitizer
#   FUZZ_PROFILE=dev scripts/fuzz.sh        an unoptimized build (CI's short run)
#
# Seeds come from tests/vectors (fuzz/seeds.py); the corpus grows in
# fuzz/corpus/<target> and a crash is written to fuzz/artifacts/<target>/
# (replay it: fuzz/target/<host>/release/<target> <file>). Prints each
# target's executions per second, then one line "N passed, M failed".
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/apt.sh

targets=(envelope_json relay_submit fio_content wallet_receive)
[ $# -ge 1 ] && targets=("$1")
seconds=${2:-${FUZZ_SECONDS:-30}}

rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal >&2
# libfuzzer-sys compiles libFuzzer (C++).
command -v c++ >/dev/null || apt_install g++
# What `cargo fuzz build -s none` passes; comparison tracing is added for
# fio-peer alone (fuzz/Cargo.toml says why).
flags="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4"
flags+=" -Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table"
flags+=" --cfg fuzzing -Cdebug-assertions -Coverflow-checks"
case "${FUZZ_SANITIZER:-none}" in
  none) ;;
  address) flags+=" -Zsanitizer=address" ;;
  *) echo "FUZZ_SANITIZER is none or address" >&2; exit 2 ;;
esac
host=$(rustc +nightly -vV | sed -n 's/^host: //p')
# release (the default) for long runs; dev builds in under half the time
# and runs several times slower, which suits the short run of every CI.
profile=${FUZZ_PROFILE:-release}
case "$profile" in
  release) out=release ;;
  dev) out=debug ;;
  *) echo "FUZZ_PROFILE is release or dev" >&2; exit 2 ;;
esac
# --target keeps the instrumentation off build scripts and proc macros.
RUSTFLAGS="$flags" cargo +nightly build --locked --profile "$profile" \
  --manifest-path fuzz/Cargo.toml --target "$host" --bins >&2

seeds=fuzz/target/seeds
rm -rf "$seeds"
python3 fuzz/seeds.py "$seeds"
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
# One libFuzzer process per core (each is single-threaded).
jobs=${FUZZ_JOBS:-$(nproc)}
fuzz_one() {
  local t=$1
  mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
  # Envelopes reach 8 KiB; a unit that takes two seconds is a finding too.
  "fuzz/target/$host/$out/$t" -max_total_time="$seconds" -max_len=9000 -timeout=2 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="fuzz/artifacts/$t/" \
    "fuzz/corpus/$t" "$seeds/$t" >"$logs/$t.log" 2>&1
  echo $? >"$logs/$t.rc"
}
running=0
for t in "${targets[@]}"; do
  fuzz_one "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then wait -n || true; running=$((running - 1)); fi
done
wait || true
passed=0 failed=0
for t in "${targets[@]}"; do
  log=$logs/$t.log
  if [ "$(cat "$logs/$t.rc" 2>/dev/null)" = 0 ]; then
    passed=$((passed + 1))
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
    printf 'fuzz %-15s %9s runs in %s s, %6s runs/s, %s (%s build)\n' \
      "$t" "$runs" "$seconds" "$rate" "$cov" "$profile" >&2
  else
    failed=$((failed + 1))
    echo "fuzz $t FAILED; the input is in fuzz/artifacts/$t/:" >&2
    tail -40 "$log" >&2
  fi
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
