#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Build the KVM selftests from Debian's linux-source package into $1
# (default build/kvm-selftests): `make headers`, then
# `make -C tools/testing/selftests/kvm`, as the issue describes.  Some
# selftests of Debian's 6.1 tree do not build (dirty_log_test misses
# TEST_ASSERT_EQ); `make -k` builds the others.
set -e
# Run from our Makefile, make's variables (MAKEFLAGS, O=...) would leak into
# the kernel's build, which gives O and OUTPUT meanings of its own.
unset MAKEFLAGS MAKELEVEL MFLAGS MAKEOVERRIDES O OUTPUT
out=${1:-build/kvm-selftests}
tarball=$(ls /usr/src/linux-source-*.tar.xz 2>/dev/null | sort -V | tail -1)
if [ -z "$tarball" ]; then
	echo "kvm-selftests: no /usr/src/linux-source-*.tar.xz (apt-get install linux-source)" >&2
	exit 1
fi
ver=$(basename "$tarball" .tar.xz)
if [ -x "$out/$ver/tools/testing/selftests/kvm/kvm_create_max_vcpus" ]; then
	exit 0
fi
mkdir -p "$out"
echo "kvm-selftests: extracting $tarball" >&2
tar -C "$out" -xf "$tarball" --exclude="$ver/drivers" --exclude="$ver/Documentation" \
	--exclude="$ver/sound" --exclude="$ver/fs" --exclude="$ver/net"
echo "kvm-selftests: make headers" >&2
make -s -C "$out/$ver" headers > "$out/headers.log" 2>&1
echo "kvm-selftests: building" >&2
make -k -j"$(nproc)" -C "$out/$ver/tools/testing/selftests/kvm" > "$out/build.log" 2>&1 || true
test -x "$out/$ver/tools/testing/selftests/kvm/kvm_create_max_vcpus"
