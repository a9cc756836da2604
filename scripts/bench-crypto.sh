#!/usr/bin/env bash
# Crypto throughput of fio-peer (criterion, release build) beside fiojs 1.0.2 /
# fiosdk 1.10.3 doing the same operations on the same inputs, in one run.
# Prints ops/s for both and the ratio.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v node >/dev/null || { echo "bench-crypto: node is required (scripts/test.sh installs it)" >&2; exit 1; }
if [ ! -f tests/interop/node_modules/@fioprotocol/fiosdk/package.json ]; then
  (cd tests/interop && npm ci --no-audit --no-fund)
fi

cargo bench --bench crypto -- --noplot "$@" >&2
node tests/interop/peer.js --bench > target/criterion/fiojs-baseline.json

python3 - <<'PY'
import json, os
ops = ["sign", "verify", "shared_secret", "check_encrypt_1k", "check_decrypt_1k", "content_encrypt", "content_decrypt"]
js = json.load(open("target/criterion/fiojs-baseline.json"))
print(f"{'operation':<18}{'fio-peer ops/s':>16}{'fiojs ops/s':>14}{'ratio':>10}")
for op in ops:
    est = json.load(open(os.path.join("target/criterion/crypto", op, "new/estimates.json")))
    rust = 1e9 / est["mean"]["point_estimate"]
    print(f"{op:<18}{rust:>16,.0f}{js[op]:>14,.0f}{rust / js[op]:>9,.1f}x")
PY
