#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The LD_PRELOAD shim: the conformance cases' "kvm" backend (plain
# open("/dev/kvm") + ioctl()) run through the shim must give the transcript
# the host's real KVM gives, and the in-process comparison against the
# library must pass under the shim too.
B=${USERKVM_TEST_BUILD:-build}
P=${USERKVM_TEST_PRELOAD:-$B/libuserkvm-preload.so}
T=$B/tests/api/conformance_test
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

if ! LD_PRELOAD=$P "$T" > "$tmp/inproc" 2>&1; then
	echo "FAIL shim-conformance-vs-library: conformance_test under the shim failed:"
	grep -A3 '^FAIL' "$tmp/inproc" | head -40 | sed 's/^/      /'
else
	echo "ok shim-conformance-vs-library"
fi

if [ ! -r /dev/kvm ] || ! exec 3<>/dev/kvm 2>/dev/null; then
	echo "skip shim-transcript-vs-real-kvm: /dev/kvm is missing or not accessible here"
	exit 0
fi
exec 3>&-
"$T" --dump=kvm | grep -v '^~' > "$tmp/real"
LD_PRELOAD=$P "$T" --dump=kvm | grep -v '^~' > "$tmp/shim"
if diff -u "$tmp/real" "$tmp/shim" > "$tmp/diff"; then
	echo "ok shim-transcript-vs-real-kvm ($(grep -c '^==' "$tmp/real") cases)"
else
	echo "FAIL shim-transcript-vs-real-kvm: transcripts differ (- real KVM, + shim):"
	# The differing lines with the case each belongs to.
	awk '/^[ +-]== / { c = $0 } /^[-+][^-+=]/ { print c; print }' "$tmp/diff" | head -40 |
		sed 's/^/      /'
fi

# The shim logs intercepted calls when asked, and nothing otherwise.
out=$(USERKVM_TRACE=1 LD_PRELOAD=$P "$T" --case=sys_api_version 2>&1 >/dev/null)
if grep -q 'open("/dev/kvm"' <<<"$out" && grep -q 'ioctl(' <<<"$out"; then
	echo "ok shim-trace"
else
	echo "FAIL shim-trace: USERKVM_TRACE=1 printed: $out"
fi
out=$(LD_PRELOAD=$P "$T" --case=sys_api_version 2>&1 >/dev/null)
if [ -z "$out" ]; then echo "ok shim-quiet"; else echo "FAIL shim-quiet: printed: $out"; fi
