#!/usr/bin/env bash
# Installs kotlinc (the npm package kotlin-compiler) and a JDK if missing,
# and prints the directory of kotlinc's installation (bin/kotlinc, lib/).
#
#   K=$(scripts/kotlinc.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
KOTLIN_VERSION=2.4.20
tools=$PWD/target/tools
source scripts/apt.sh
# A JDK to run kotlinc and the tests, JNA (≥ 5.12) for the generated Kotlin.
if [ ! -f /usr/share/java/jna.jar ] || ! command -v java >/dev/null; then
  apt_install libjna-java default-jdk-headless >&2
fi
if [ ! -x "$tools/kotlinc/bin/kotlinc" ]; then
  command -v npm >/dev/null || apt_install npm >&2
  rm -rf "$tools/kotlinc" && mkdir -p "$tools/kotlinc"
  (cd "$tools" && npm pack -q "kotlin-compiler@$KOTLIN_VERSION" >/dev/null \
    && tar xzf "kotlin-compiler-$KOTLIN_VERSION.tgz" -C kotlinc --strip-components=1 \
    && rm "kotlin-compiler-$KOTLIN_VERSION.tgz") >&2
fi
echo "$tools/kotlinc"
