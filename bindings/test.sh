#!/usr/bin/env bash
# Builds the bindings and runs their tests, each suite on a fresh devnet and
# relay: Python under pytest (in a venv), Kotlin on the JVM (kotlinc from the
# npm package kotlin-compiler, JNA from Debian), the Swift package compiled
# and its XCTest suite run in a Debian trixie root (bindings/swift/test.sh),
# then `cargo check` for Android (android/check.sh) and the release
# process's tests (tests/release). Installs what it needs. Ends with one line
# "N passed, M failed".
#
#   bindings/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
# Also builds fio-devnet and fio-inbox.
bindings/build.sh >&2

# kotlinc, a JDK and JNA (≥ 5.12) for the generated Kotlin.
kotlinc_home=$(scripts/kotlinc.sh)
venv=target/bindings-venv
# sqlcipher3-binary: stock SQLCipher (with OpenSSL), which must open the
# wallet databases fio-peer encrypts (docs/protocol.md §6). http_ece (with
# cryptography): an independent Web Push receiver for the relay's pushes
# (RFC 8291 decryption, the VAPID signature).
if [ ! -x "$venv/bin/pytest" ] || ! "$venv/bin/python" -c "import sqlcipher3, http_ece" 2>/dev/null; then
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install -q --disable-pip-version-check pytest==8.3.5 sqlcipher3-binary==0.6.0 \
    http-ece==1.2.1 cryptography==50.0.2 >&2
fi

work=$(mktemp -d)
pids=()
stop_servers() { [ ${#pids[@]} -eq 0 ] || kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; pids=(); }
trap 'stop_servers; rm -rf "$work"' EXIT
# start_servers: a devnet and a relay on loopback, fresh for each suite.
source bindings/servers.sh

status=0
log=$work/results
: >"$log"

# Python: the README's quick start becomes a module the tests import.
start_servers
bindings/snippet.py python >"$work/readme_quickstart.py"
set +e
PYTHONPATH="bindings/generated/python:$work" "$venv/bin/pytest" -q -p no:cacheprovider \
  bindings/python/tests 2>&1 | tee -a "$log" >&2
[ "${PIPESTATUS[0]}" = 0 ] || status=1
# The relay's pushes, read by an independent Web Push receiver (http_ece).
"$venv/bin/pytest" -q -p no:cacheprovider relay/tests/independent 2>&1 | tee -a "$log" >&2
[ "${PIPESTATUS[0]}" = 0 ] || status=1
set -e
stop_servers

# Kotlin: the generated bindings, the README's quick start and the tests in
# one jar; JNA finds the library with -Djna.library.path.
start_servers
K=$kotlinc_home/lib
JNA=/usr/share/java/jna.jar
kt=$work/kotlin && mkdir -p "$kt"
bindings/snippet.py kotlin >"$kt/Quickstart.kt"
mapfile -t sources < <(find bindings/generated/kotlin -name '*.kt')
echo "compiling the Kotlin bindings and tests (kotlinc)" >&2
set +e
# The hand-written adapters of android/ that need no Android (the Flow).
if "$kotlinc_home/bin/kotlinc" -nowarn "${sources[@]}" "$kt/Quickstart.kt" bindings/kotlin/Main.kt \
     android/src/main/kotlin/fio/peer/WalletEventFlow.kt \
     -cp "$JNA:$K/kotlinx-coroutines-core-jvm.jar:$K/kotlin-test.jar" -d "$kt/tests.jar" >&2 2>&1; then
  java -Djna.library.path="$root/target/debug" \
    -cp "$kt/tests.jar:$K/kotlin-stdlib.jar:$K/kotlin-test.jar:$JNA:$K/kotlinx-coroutines-core-jvm.jar" \
    MainKt 2>&1 | tee -a "$log" >&2
  [ "${PIPESTATUS[0]}" = 0 ] || status=1
else
  echo "kotlin: 0 passed, 1 failed (kotlinc failed)" | tee -a "$log" >&2
  status=1
fi
set -e
stop_servers

# Swift: the package and its tests compiled by Swift 6.0 and run.
set +e
bindings/swift/test.sh 2>&1 | tee -a "$log" >&2
[ "${PIPESTATUS[0]}" = 0 ] || status=1
set -e

# Android: the library type-checks for aarch64-linux-android.
set +e
android/check.sh 2>&1 | tee -a "$log" >&2
[ "${PIPESTATUS[0]}" = 0 ] || status=1
set -e

# The release process, on a scratch copy (it uses the Swift root's SwiftPM).
set +e
"$venv/bin/pytest" -q -p no:cacheprovider tests/release 2>&1 | tee -a "$log" >&2
[ "${PIPESTATUS[0]}" = 0 ] || status=1
set -e

python3 - "$log" <<'PY'
import re, sys
text = open(sys.argv[1], encoding="utf-8", errors="replace").read()
passed = sum(int(n) for n in re.findall(r"(\d+) passed", text))
failed = sum(int(n) for n in re.findall(r"(\d+) failed", text)) + sum(int(n) for n in re.findall(r"(\d+) errors?\b", text))
print(f"{passed} passed, {failed} failed")
PY
exit "$status"
