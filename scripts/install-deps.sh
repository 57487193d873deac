#!/bin/sh
# Installs every build and test dependency of pvstack from Debian's archive.
# Idempotent: packages already present are left alone.
set -eu

PKGS="build-essential pkg-config meson ninja-build clang
libevent-dev libnl-3-dev libnl-route-3-dev libudev-dev libaio-dev
libcriterion-dev libxen-dev libyajl-dev musl-tools
xenstore-utils iproute2 procps util-linux
fio
debootstrap e2fsprogs user-mode-linux openssl
libsystemd-dev systemd man-db debhelper dpkg-dev fakeroot"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: need root to install:$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
