#!/bin/sh
# Installs what proctor needs to build and test, from Debian's packages,
# when it is missing. Safe to run repeatedly; does nothing when all is there.
# chromium: the HTML report is loaded in a real headless browser by the tests.
set -eu
pkgs="meson ninja-build pkg-config gcc make libsqlite3-dev libjansson-dev
libmsgpack-dev zlib1g-dev liblzma-dev libpcre2-dev libyaml-dev libmicrohttpd-dev libcurl4-openssl-dev
libxml2-utils perl chromium curl python3 binutils slurm-wlm munge"
[ "${PROCTOR_BENCH_DEPS:-0}" = 1 ] && pkgs="$pkgs parallel valgrind"
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
