#!/usr/bin/env bash
# Every test of fio-peer, on a fresh machine: installs what it needs first.
#
#   scripts/test.sh
#
# Needs: the Rust toolchain (rustup and cargo), and root or sudo (apt-get
# for what is missing; debootstrap, chroot and mount for the Swift root).
# Prints the time of each step, then one line "N passed, M failed".
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n== %s\n' "$*" >&2; }

source scripts/apt.sh

started=$SECONDS
step_times=()
step() {  # step NAME: closes the previous step's timing and logs the next
  [ -z "${step_name:-}" ] || step_times+=("$(printf '%5ds  %s' $((SECONDS - step_start)) "$step_name")")
  step_name=$1 step_start=$SECONDS
  [ -z "$1" ] || log "$1"
}

# --- system packages, in one apt run ------------------------------------------
# node ≥ 18 and npm: the live interop tests against fiojs/fiosdk; python3-venv:
# the bindings' pytest; PostgreSQL: the relay's second backend; a JDK and JNA:
# the Kotlin suite; debootstrap: the Swift root; the aarch64 cross compiler and
# qemu-user: the ARM64 run; g++: libFuzzer, for the fuzzing run.
step "installing what is missing from Debian"
packages=()
need_node=0
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  need_node=1
elif [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 18 ]; then
  need_node=1
fi
[ "$need_node" = 0 ] || packages+=(nodejs npm)
python3 -c 'import ensurepip, venv' 2>/dev/null || packages+=(python3-venv)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || packages+=(postgresql)
{ [ -f /usr/share/java/jna.jar ] && command -v java >/dev/null; } || packages+=(libjna-java default-jdk-headless)
command -v debootstrap >/dev/null || packages+=(debootstrap)
command -v aarch64-linux-gnu-gcc >/dev/null || packages+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross)
command -v qemu-aarch64 >/dev/null || packages+=(qemu-user)
command -v c++ >/dev/null || packages+=(g++)
[ ${#packages[@]} -eq 0 ] || apt_install "${packages[@]}"

# The Swift root (Debian trixie with swiftlang, scripts/swift-root.sh) is
# mostly downloading: made in the background while Rust compiles.
swift_log=$(mktemp)
scripts/swift-root.sh >"$swift_log" 2>&1 &
swift_pid=$!

# --- PostgreSQL for the relay's second backend ------------------------------
# A throwaway cluster on loopback (installed from Debian if missing); the
# relay's tests run every scenario on it as well as on SQLite, and must not
# skip it here.
step "starting a private PostgreSQL server on loopback"
eval "$(scripts/postgres.sh start)"
export FIO_INBOX_REQUIRE_POSTGRES=1
cleanup() {
  kill "$swift_pid" 2>/dev/null || true
  scripts/postgres.sh stop "$FIO_INBOX_PG_DIR" 2>/dev/null || true
  rm -f "${out:-}" "$swift_log"
}
trap cleanup EXIT

# --- npm packages (pinned by tests/interop/package-lock.json) -------------
step "installing @fioprotocol/fiojs@1.0.2 and @fioprotocol/fiosdk@1.10.3"
(cd tests/interop && npm ci --no-audit --no-fund --loglevel=error)

# --- Rust ------------------------------------------------------------------
step "cargo fmt --check"
cargo fmt --all -- --check

# A CI build is never rebuilt piecemeal: incremental artifacts only cost.
export CARGO_INCREMENTAL=0
# Line tables are all a failing test's backtrace needs; full debug info
# only makes the test binaries slower to build and link.
export CARGO_PROFILE_DEV_DEBUG=line-tables-only

# One pass with the FFI layer on: it checks src/ffi and everything else.
# uniffi/ only wraps uniffi's own bindgen main: nothing to lint.
step "cargo clippy"
cargo clippy --workspace --exclude fio-peer-uniffi-bindgen --all-targets --features fio-peer/ffi --locked -- -D warnings

step "cargo test (vectors, Wycheproof, properties, live interop, wallet engine, relay on SQLite and PostgreSQL, chain client, devnet, end to end, CLI, doc tests)"
out=$(mktemp)
set +e
# The FFI on and the whole workspace (uniffi-bindgen included): the same
# packages and features as bindings/build.sh, which then builds nothing anew.
cargo test --workspace --features fio-peer/ffi --locked 2>&1 | tee "$out"
status=${PIPESTATUS[0]}

step "the core's suites on ARM64 (aarch64-unknown-linux-gnu under qemu-aarch64)"
scripts/test-arm64.sh 2>&1 | tee -a "$out"
astatus=${PIPESTATUS[0]}

step "waiting for the Swift root"
if ! wait "$swift_pid"; then cat "$swift_log" >&2; fi

step "bindings (uniffi: Python under pytest, Kotlin on the JVM, Swift in the trixie root, Android check, release)"
# Only its closing line goes to the sum; the suites' own lines go to stderr.
bindings/test.sh | tee -a "$out"
bstatus=${PIPESTATUS[0]}

# Unoptimized: it builds in half the time, and 25 s still runs each target
# thousands (the wallet) to a hundred thousand (the parsers) times.
step "fuzzing: each cargo-fuzz target for ${FUZZ_SECONDS:=25} s, two at a time (scripts/fuzz.sh, nightly, dev build)"
FUZZ_SECONDS=$FUZZ_SECONDS FUZZ_PROFILE=dev scripts/fuzz.sh | tee -a "$out"
fstatus=${PIPESTATUS[0]}
set -e
step ""
log "time per step (total $((SECONDS - started)) s)"
printf '%s\n' "${step_times[@]}" >&2

# One closing line for the whole run, summed over every test binary and the
# bindings' own "N passed, M failed" line.
python3 - "$out" <<'PY'
import re, sys
passed = failed = 0
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    m = re.search(r"test result: \w+\. (\d+) passed; (\d+) failed", line) or re.fullmatch(r"(\d+) passed, (\d+) failed\s*", line)
    if m:
        passed += int(m.group(1)); failed += int(m.group(2))
print(f"{passed} passed, {failed} failed")
PY
[ "$status" = 0 ] && [ "$astatus" = 0 ] && [ "$bstatus" = 0 ] && [ "$fstatus" = 0 ]
