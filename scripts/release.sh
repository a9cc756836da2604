#!/usr/bin/env bash
# Cuts a release (docs/releasing.md): sets the version, checks the
# changelog, writes the XCFramework's URL and SwiftPM checksum into
# ios/Package.swift, commits and tags vVERSION, then commits Package.swift
# back to development. Pushing and uploading the assets stay with the person
# releasing.
#
#   scripts/release.sh VERSION XCFRAMEWORK_ZIP DOWNLOAD_URL
#
# VERSION is semantic (1.2.3 or 1.2.3-rc.1); XCFRAMEWORK_ZIP is what
# ios/build-xcframework.sh made on macOS; DOWNLOAD_URL is where that zip will
# be served (the release's asset URL). The checksum is computed by
# `swift package compute-checksum`: the host's Swift, or the Swift root's
# (scripts/swift-root.sh) on Linux.
set -euo pipefail
cd "$(dirname "$0")/.."
die() { echo "release: $*" >&2; exit 1; }
[ $# = 3 ] || die "usage: scripts/release.sh VERSION XCFRAMEWORK_ZIP DOWNLOAD_URL"
version=$1 zip=$2 url=$3
[[ "$version" =~ ^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?$ ]] \
  || die "$version is not a semantic version (MAJOR.MINOR.PATCH[-PRERELEASE])"
[ -f "$zip" ] || die "no such file: $zip"
[[ "$url" =~ ^https://[^[:space:]\"]+\.zip$ ]] || die "the download URL must be https and end in .zip: $url"
[ -z "$(git status --porcelain)" ] || die "the working tree has changes; commit or stash them first"
! git rev-parse -q --verify "refs/tags/v$version" >/dev/null || die "tag v$version exists"
grep -q "^## \[$version\] - [0-9]\{4\}-[0-9]\{2\}-[0-9]\{2\}$" CHANGELOG.md \
  || die "CHANGELOG.md has no section '## [$version] - YYYY-MM-DD'; move the Unreleased entries there"

# SwiftPM's checksum is the SHA-256 of the file; ask SwiftPM itself.
if command -v swift >/dev/null && swift package --help >/dev/null 2>&1; then
  checksum=$(swift package compute-checksum "$zip")
else
  source scripts/apt.sh
  root=$(scripts/swift-root.sh)
  cp "$zip" "$root/tmp/release.zip"
  mounted=0
  if ! mountpoint -q "$root/proc"; then as_root mount -t proc proc "$root/proc"; mounted=1; fi
  checksum=$(as_root chroot "$root" swift package compute-checksum /tmp/release.zip) || checksum=
  [ "$mounted" = 0 ] || as_root umount "$root/proc"
  rm -f "$root/tmp/release.zip"
fi
[[ "$checksum" =~ ^[0-9a-f]{64}$ ]] || die "swift package compute-checksum printed $checksum"

# The core's version is the release's (the Android AAR reads it too).
sed -i.bak "0,/^version = \".*\"/s//version = \"$version\"/" Cargo.toml && rm Cargo.toml.bak
cargo update --offline -q -p fio-peer
sed -i.bak -e "s|^let releaseURL: String? = .*|let releaseURL: String? = \"$url\"|" \
  -e "s|^let releaseChecksum: String? = .*|let releaseChecksum: String? = \"$checksum\"|" ios/Package.swift
rm ios/Package.swift.bak
grep -q "\"$checksum\"" ios/Package.swift || die "ios/Package.swift has no releaseChecksum line"
git add Cargo.toml Cargo.lock ios/Package.swift
git commit -q -m "Release $version"
git tag -a "v$version" -m "fio-peer $version"
# Only the tag points SwiftPM at the release asset: main goes back to the
# local XCFramework (and to the Linux system library) for development.
sed -i.bak -e "s|^let releaseURL: String? = .*|let releaseURL: String? = nil|" \
  -e "s|^let releaseChecksum: String? = .*|let releaseChecksum: String? = nil|" ios/Package.swift
rm ios/Package.swift.bak
git commit -q -m "After $version: ios/Package.swift builds from the local library again" ios/Package.swift
echo "tagged v$version (XCFramework checksum $checksum); push with: git push origin main v$version"
