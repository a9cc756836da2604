#!/usr/bin/env bash
# Builds the mobile library with the size-optimised profile (release-smaller:
# opt-level "z", fat LTO, one codegen unit, stripped) and prints the size of
# the stripped x86_64 cdylib beside its 6 MB target (issue 7).
#
#   scripts/lib-size.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --locked -q -p fio-peer --lib --features ffi --profile release-smaller
lib=target/release-smaller/libfio_peer.so
bytes=$(stat -c %s "$lib")
target=6000000
python3 - "$bytes" "$target" <<'PY'
import sys
size, target = int(sys.argv[1]), int(sys.argv[2])
print(f"libfio_peer.so (x86_64, stripped, release-smaller): {size:,} bytes = {size/1e6:.2f} MB "
      f"({size/2**20:.2f} MiB); target <= {target/1e6:.2f} MB: {'met' if size <= target else 'MISSED'}")
PY
