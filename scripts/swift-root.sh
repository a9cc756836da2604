#!/usr/bin/env bash
# Makes, or reuses, a Debian 13 (trixie) root with Swift 6.0 (swiftlang:
# the compiler, Foundation and XCTest), from Debian's packages only: Debian
# 12, which runs CI, packages no Swift. The root is a cache folder; a finished
# one is reused as it is. Prints the root's path.
#
#   scripts/swift-root.sh [DIR]        (default target/tools/swift-root)
#
# Needs root (debootstrap and chroot). About 2.5 minutes when made fresh.
set -euo pipefail
cd "$(dirname "$0")/.."
root=${1:-target/tools/swift-root}
mirror=${FIO_PEER_DEBIAN_MIRROR:-http://deb.debian.org/debian}
# The marker is written last, so a root cut short is made again.
ready=$root/.fio-peer-swift-ready
if [ -f "$ready" ]; then echo "$root"; exit 0; fi

source scripts/apt.sh
command -v debootstrap >/dev/null || apt_install debootstrap
[ ! -d "$root" ] || { umount "$root/proc" 2>/dev/null || true; rm -rf "$root"; }
mkdir -p "$(dirname "$root")"
partial=$root.partial
[ ! -d "$partial" ] || { umount "$partial/proc" 2>/dev/null || true; rm -rf "$partial"; }
echo "making a Debian trixie root for Swift in $root" >&2
as_root debootstrap --variant=minbase trixie "$partial" "$mirror" >&2
as_root chroot "$partial" apt-get update -qq >&2
# libc6-dev: without it Swift's linker misses crti.o.
as_root chroot "$partial" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
  --no-install-recommends swiftlang swiftlang-dev libc6-dev >&2
as_root chroot "$partial" apt-get clean >&2
mv "$partial" "$root"
touch "$ready"
echo "$root"
