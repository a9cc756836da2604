#!/usr/bin/env bash
# Builds the fio-peer library with its FFI layer and generates the Kotlin,
# Swift and Python bindings from it with the in-repo uniffi-bindgen (never
# edited by hand). Output: bindings/generated/{kotlin,swift,python} (not committed),
# the library next to the Python module.
#
#   bindings/build.sh [--release]
set -euo pipefail
cd "$(dirname "$0")/.."
profile=debug
flags=()
if [ "${1:-}" = "--release" ]; then profile=release; flags=(--release); fi

cargo build --locked -p fio-peer --lib --features ffi "${flags[@]}"
lib="target/$profile/libfio_peer.so"
out=bindings/generated
rm -rf "$out"
for language in kotlin swift python; do
  # Library mode runs `cargo metadata`: run from inside the workspace.
  cargo run --locked -q -p fio-peer-uniffi-bindgen -- generate --library "$lib" \
    --language "$language" --out-dir "$out/$language" --no-format >/dev/null
done
# The Python module loads the library from its own directory.
cp "$lib" "$out/python/"
echo "bindings in $out (library $lib)"
