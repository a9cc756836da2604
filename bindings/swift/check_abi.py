#!/usr/bin/env python3
"""Checks the generated Swift bindings against the built library without a
Swift compiler: every C function the header declares exists in the library,
and the contract version and every API checksum the Swift file expects are
what the library returns. A tampered copy must fail (the negative control).
Prints "N passed, M failed".

    check_abi.py FioPeerFFI.h FioPeer.swift libfio_peer.so
"""
import ctypes
import re
import sys

header, swift, library = sys.argv[1:4]
lib = ctypes.CDLL(library)
passed = failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print(f"FAIL {what}")


def problems(swift_text):
    """What is wrong between this Swift text and the library."""
    found = []
    m = re.search(r"let bindings_contract_version = (\d+)", swift_text)
    version = ctypes.CFUNCTYPE(ctypes.c_uint32)(("ffi_fio_peer_uniffi_contract_version", lib))()
    if not m or int(m.group(1)) != version:
        found.append(f"contract version: Swift {m and m.group(1)}, library {version}")
    for name, expected in re.findall(r"\((uniffi_fio_peer_checksum_\w+)\(\) != (\d+)\)", swift_text):
        actual = ctypes.CFUNCTYPE(ctypes.c_uint16)((name, lib))()
        if actual != int(expected):
            found.append(f"{name}: Swift expects {expected}, library has {actual}")
    return found


# 1. Every declared function is in the library.
text = open(header, encoding="utf-8").read()
declared = sorted(set(re.findall(r"^[A-Za-z_][\w \*]*?\b((?:uniffi|ffi)_fio_peer_\w+)\(", text, re.M)))
check(len(declared) > 100, f"only {len(declared)} functions declared")
for name in declared:
    check(hasattr(lib, name), f"{name} is declared but not in {library}")

# 2. The contract version and every checksum match.
swift_text = open(swift, encoding="utf-8").read()
checksums = re.findall(r"uniffi_fio_peer_checksum_\w+\(\) != \d+", swift_text)
check(len(checksums) > 50, f"only {len(checksums)} checksums in {swift}")
found = problems(swift_text)
for problem in found:
    check(False, problem)
check(not found, "contract version and checksums")

# 3. Negative control: a changed checksum and version are noticed.
tampered = re.sub(r"(\(uniffi_fio_peer_checksum_\w+\(\) != )(\d+)",
                  lambda m: m.group(1) + str((int(m.group(2)) + 1) % 65536), swift_text, count=1)
check(len(problems(tampered)) == 1, "a tampered checksum went unnoticed")
tampered = re.sub(r"let bindings_contract_version = \d+", "let bindings_contract_version = 1", swift_text)
check(len(problems(tampered)) == 1, "a tampered contract version went unnoticed")

print(f"swift abi: {len(declared)} functions, {len(checksums)} checksums checked")
print(f"swift abi: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
