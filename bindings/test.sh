#!/usr/bin/env bash
# Builds the bindings and runs their tests (Python under pytest, in a venv).
# Ends with one line "N passed, M failed".
#
#   bindings/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bindings/build.sh >&2

# A devnet and a relay on loopback for the conversation tests, with two
# parties from the fiojs vectors' keys.
cargo build --locked -q -p fio-devnet -p fio-inbox --bins
work=$(mktemp -d)
cat > "$work/genesis.json" <<'JSON'
{"domains": ["bind"], "addresses": [
  {"fio_address": "alice@bind", "public_key": "FIO7zsqi7QUAjTAdyynd6DVe8uv4K8gCTRHnAoMN9w9CA1xLCTDVv"},
  {"fio_address": "bob@bind", "public_key": "FIO5VE6Dgy9FUmd1mFotXwF88HkQN1KysCWLPqpVnDMjRvGRi1YrM"}],
 "balances": {"FIO7zsqi7QUAjTAdyynd6DVe8uv4K8gCTRHnAoMN9w9CA1xLCTDVv": 1000000000000,
              "FIO5VE6Dgy9FUmd1mFotXwF88HkQN1KysCWLPqpVnDMjRvGRi1YrM": 1000000000000}}
JSON
target/debug/fio-devnet --listen 127.0.0.1:0 --genesis "$work/genesis.json" >"$work/devnet.log" 2>&1 &
devnet_pid=$!
target/debug/fio-inbox --listen 127.0.0.1:0 --database "$work/relay.sqlite" --no-rate-limits >"$work/relay.log" 2>&1 &
relay_pid=$!
stop() { kill "$devnet_pid" "$relay_pid" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work" "${out:-}"; }
trap stop EXIT
listening() {  # the address a server printed, waiting up to 10 s
  for _ in $(seq 100); do
    addr=$(sed -n 's/.*listening on \([0-9.:]*\).*/\1/p' "$1" | head -1)
    [ -n "$addr" ] && { echo "http://$addr"; return; }
    sleep 0.1
  done
  echo "no address in $1:" >&2; cat "$1" >&2; return 1
}
export FIO_TEST_DEVNET=$(listening "$work/devnet.log")
export FIO_TEST_RELAY=$(listening "$work/relay.log")
export FIO_TEST_CHAIN_ID=cf057bbfb72640471fd910bcb67639c22df9f92470936cddc1ade0e2f2e7dc4f

venv=target/bindings-venv
if [ ! -x "$venv/bin/pytest" ]; then
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install -q --disable-pip-version-check pytest==8.3.5 >&2
fi
out=$(mktemp)
set +e
PYTHONPATH=bindings/generated/python "$venv/bin/pytest" -q -p no:cacheprovider bindings/python/tests 2>&1 | tee "$out" >&2
status=${PIPESTATUS[0]}
set -e
python3 - "$out" <<'PY'
import re, sys
text = open(sys.argv[1], encoding="utf-8", errors="replace").read()
passed = sum(int(n) for n in re.findall(r"(\d+) passed", text))
failed = sum(int(n) for n in re.findall(r"(\d+) failed", text)) + sum(int(n) for n in re.findall(r"(\d+) errors?", text))
print(f"{passed} passed, {failed} failed")
PY
exit "$status"
