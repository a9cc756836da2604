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

# The whole workspace with the FFI on: the library, uniffi-bindgen, and the
# devnet and relay the suites run against. The same packages and features
# as scripts/test.sh's `cargo test`, so after it nothing is compiled again.
cargo build --locked --workspace --features fio-peer/ffi "${flags[@]}"
lib="target/$profile/libfio_peer.so"
bindgen="target/$profile/uniffi-bindgen"
out=bindings/generated
rm -rf "$out"
for language in kotlin swift python; do
  # Library mode runs `cargo metadata`: run from inside the workspace.
  "$bindgen" generate --library "$lib" \
    --language "$language" --out-dir "$out/$language" --no-format >/dev/null
done
# The Python module loads the library from its own directory.
cp "$lib" "$out/python/"
echo "bindings in $out (library $lib)"
