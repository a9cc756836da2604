#!/usr/bin/env bash
# Every test of fio-peer, on a fresh machine: installs what it needs first.
#
#   scripts/test.sh
#
# Needs: the Rust toolchain (cargo), and root or sudo for apt-get when node
# or PostgreSQL is missing. Ends with one line "N passed, M failed".
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n== %s\n' "$*" >&2; }

source scripts/apt.sh

# --- system packages -------------------------------------------------------
# node ≥ 18 and npm run the live interop tests against fiojs/fiosdk.
need_node=0
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  need_node=1
elif [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 18 ]; then
  need_node=1
fi
if [ "$need_node" = 1 ]; then
  log "installing nodejs and npm from Debian"
  apt_install nodejs npm
fi

# python3-venv gives the bindings' tests their own pytest (bindings/test.sh
# installs the JDK, JNA and gcc for the Kotlin and Swift checks itself).
if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
  log "installing python3-venv from Debian"
  apt_install python3-venv
fi

# --- PostgreSQL for the relay's second backend ------------------------------
# A throwaway cluster on loopback (installed from Debian if missing); the
# relay's tests run every scenario on it as well as on SQLite, and must not
# skip it here.
log "starting a private PostgreSQL server on loopback"
eval "$(scripts/postgres.sh start)"
export FIO_INBOX_REQUIRE_POSTGRES=1
cleanup() { scripts/postgres.sh stop "$FIO_INBOX_PG_DIR" 2>/dev/null || true; rm -f "${out:-}"; }
trap cleanup EXIT

# --- npm packages (pinned by tests/interop/package-lock.json) -------------
log "installing @fioprotocol/fiojs@1.0.2 and @fioprotocol/fiosdk@1.10.3"
(cd tests/interop && npm ci --no-audit --no-fund --loglevel=error)

# --- Rust ------------------------------------------------------------------
log "cargo fmt --check"
cargo fmt --all -- --check

# uniffi/ only wraps uniffi's own bindgen main; it is built by the bindings
# scripts, and leaving it out here saves compiling uniffi_bindgen twice.
skip=(--exclude fio-peer-uniffi-bindgen)

log "cargo clippy"
cargo clippy --workspace "${skip[@]}" --all-targets --locked -- -D warnings
cargo clippy -p fio-peer --features ffi --lib --locked -- -D warnings

log "cargo test (vectors, Wycheproof, properties, live interop, wallet engine, relay on SQLite and PostgreSQL, chain client, devnet, end to end, CLI, doc tests)"
out=$(mktemp)
set +e
cargo test --workspace "${skip[@]}" --locked 2>&1 | tee "$out"
status=${PIPESTATUS[0]}

log "bindings (uniffi: Python under pytest, Kotlin on the JVM, the Swift checks)"
# Only its closing line goes to the sum; the suites' own lines go to stderr.
bindings/test.sh | tee -a "$out"
bstatus=${PIPESTATUS[0]}
set -e

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
[ "$status" = 0 ] && [ "$bstatus" = 0 ]
