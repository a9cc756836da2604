# Sourced by the scripts that install Debian packages on a fresh machine:
# apt_install PACKAGE... runs apt-get as root (directly, or through sudo),
# its output on stderr so it never mixes with a script's results.
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_install() {
  as_root apt-get update -qq >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}
