#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The KVM selftests (Debian's linux-source), unmodified, through the shim,
# and on the host's /dev/kvm for comparison.  tests/selftests/list says what
# each must do on userkvm.  Skipped when the selftests are not built
# (`make kvm-selftests`, which needs the linux-source package).
cd "$(dirname "$0")/../.."
B=${USERKVM_TEST_BUILD:-$PWD/build}
P=${USERKVM_TEST_PRELOAD:-$B/libuserkvm-preload.so}
dir=$(ls -d "$B"/kvm-selftests/linux-source-*/tools/testing/selftests/kvm 2>/dev/null | tail -1)
[ -n "$dir" ] || dir=$(ls -d build/kvm-selftests/linux-source-*/tools/testing/selftests/kvm 2>/dev/null | tail -1)
if [ -z "$dir" ] || [ ! -x "$dir/kvm_create_max_vcpus" ]; then
	echo "skip kvm-selftests: not built (make kvm-selftests; needs Debian's linux-source)"
	exit 0
fi
have_kvm=0
if exec 3<>/dev/kvm 2>/dev/null; then exec 3>&-; have_kvm=1; fi

grep -v '^\s*#' tests/selftests/list | while read -r t want cause; do
	[ -n "$t" ] || continue
	if [ "$want" = slow ]; then
		echo "skip selftest:$t: not run in the suite: $cause"
		continue
	fi
	if [ ! -x "$dir/$t" ]; then
		echo "FAIL selftest:$t: not built"
		continue
	fi
	# The selftests leak on purpose (their own mallocs): no leak check for them.
	# Known failures get a short leash: some (xapic_ipi_test) would wait forever.
	limit=120
	[ "$want" = pass ] || limit=15
	(cd "$dir" && ASAN_OPTIONS=detect_leaks=0:handle_abort=1 LD_PRELOAD=$P timeout $limit "./$t" > /tmp/selftest.$$.out 2>&1)
	rc=$?
	real=""
	if [ $have_kvm = 1 ]; then
		(cd "$dir" && timeout $limit "./$t" > /dev/null 2>&1)
		real=" (host KVM: exit $?)"
	fi
	if [ "$want" = pass ]; then
		if [ $rc = 0 ]; then
			echo "ok selftest:$t$real"
		else
			echo "FAIL selftest:$t: exit $rc through the shim$real:"
			grep -vE '^\s+[0-9]+\s+0x|inlined by' /tmp/selftest.$$.out | tail -3 | sed 's/^/      /'
		fi
	elif [ $rc = 0 ]; then
		echo "FAIL selftest:$t: passes now; update tests/selftests/list (was: $cause)"
	else
		echo "skip selftest:$t: $cause (exit $rc)$real"
	fi
done
rm -f /tmp/selftest.$$.out
