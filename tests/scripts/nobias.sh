#!/bin/bash
# SPDX-License-Identifier: MIT
#
# vcpu->mutex without its thread bias (kvm/mutex.h): USERKVM_NO_BIAS=1, as
# in a process without membarrier(2), where every KVM_RUN takes the plain
# lock.  The cases that run vCPUs from several threads, close descriptors
# during runs and change memslots while a vCPU runs must pass that way too.
B=${USERKVM_TEST_BUILD:-build}
# A failing run's output is kept ($B/tests/nobias-NAME.log) and its first
# FAIL line, else a sanitizer's or the crash's line, else its last, is shown.
why() {	# name -> the line, and where the log is
	cp /tmp/nobias.$$ "$B/tests/nobias-$1.log" 2>/dev/null
	echo "$(grep -m1 -E '^FAIL' /tmp/nobias.$$ ||
		grep -m1 -E 'ERROR: [A-Za-z]*Sanitizer|runtime error|SUMMARY|Segmentation|Aborted' /tmp/nobias.$$ ||
		tail -1 /tmp/nobias.$$) (log: $B/tests/nobias-$1.log)"
}
for t in unit/fd_exact_test unit/srcu_test; do
	n=$(basename "$t")
	if USERKVM_NO_BIAS=1 "$B/tests/$t" > /tmp/nobias.$$ 2>&1; then
		echo "ok nobias-$n"
	else
		echo "FAIL nobias-$n: exit $?: $(why "$n")"
	fi
done
for c in run_slot_delete_while_running run_slot_delete_while_spinning smp_ipi_4vcpus smp_init_sipi_sipi; do
	if USERKVM_NO_BIAS=1 "$B/tests/api/conformance_test" --case=$c > /tmp/nobias.$$ 2>&1 &&
	   grep -q "^ok $c" /tmp/nobias.$$; then
		echo "ok nobias-$c"
	else
		echo "FAIL nobias-$c: $(why "$c")"
	fi
done
rm -f /tmp/nobias.$$
