#!/usr/bin/env bash
# The Swift checks that need no Swift compiler (there is none on Linux CI):
# the generated header against the built library (symbols, contract
# version, checksums), a C program compiled against the header that calls
# the library, and the README's Swift quick start being the code the XCTest
# suite runs. Run after bindings/build.sh. Prints "N passed, M failed" lines.
set -euo pipefail
cd "$(dirname "$0")/../.."
generated=bindings/generated/swift
lib=target/debug/libfio_peer.so
python3 bindings/swift/check_abi.py "$generated/FioPeerFFI.h" "$generated/FioPeer.swift" "$lib"

command -v gcc >/dev/null || { echo "gcc is missing" >&2; exit 1; }
build=$(mktemp -d)
trap 'rm -rf "$build"' EXIT
# gcc lacks clang's nullability qualifiers.
gcc -std=c11 -Wall -Werror -D_Nonnull= -D_Nullable= -I"$generated" bindings/swift/smoke.c \
  -L"$(dirname "$lib")" -lfio_peer -Wl,-rpath,"$PWD/$(dirname "$lib")" -o "$build/smoke"
"$build/smoke"

# The README's quick start, verbatim in the XCTest target.
bindings/snippet.py swift >"$build/quickstart.swift"
if cmp -s "$build/quickstart.swift" ios/Tests/FioPeerTests/Quickstart.swift; then
  echo "swift quick start: 1 passed, 0 failed (README Swift quick start = ios/Tests/FioPeerTests/Quickstart.swift)"
else
  diff "$build/quickstart.swift" ios/Tests/FioPeerTests/Quickstart.swift >&2 || true
  echo "swift quick start: 0 passed, 1 failed (README Swift quick start differs from ios/Tests/FioPeerTests/Quickstart.swift)"
  exit 1
fi
