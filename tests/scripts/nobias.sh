#!/bin/bash
# SPDX-License-Identifier: MIT
#
# vcpu->mutex without its thread bias (kvm/mutex.h): USERKVM_NO_BIAS=1, as
# in a process without membarrier(2), where every KVM_RUN takes the plain
# lock.  The cases that run vCPUs from several threads, close descriptors
# during runs and change memslots while a vCPU runs must pass that way too.
B=${USERKVM_TEST_BUILD:-build}
for t in unit/fd_exact_test unit/srcu_test; do
	if USERKVM_NO_BIAS=1 "$B/tests/$t" > /tmp/nobias.$$ 2>&1; then
		echo "ok nobias-$(basename "$t")"
	else
		echo "FAIL nobias-$(basename "$t"): $(grep -m1 -E '^FAIL' /tmp/nobias.$$ || tail -1 /tmp/nobias.$$)"
	fi
done
for c in run_slot_delete_while_running run_slot_delete_while_spinning smp_ipi_4vcpus smp_init_sipi_sipi; do
	if USERKVM_NO_BIAS=1 "$B/tests/api/conformance_test" --case=$c > /tmp/nobias.$$ 2>&1 &&
	   grep -q "^ok $c" /tmp/nobias.$$; then
		echo "ok nobias-$c"
	else
		echo "FAIL nobias-$c: $(grep -m1 -E '^FAIL' /tmp/nobias.$$ || tail -1 /tmp/nobias.$$)"
	fi
done
rm -f /tmp/nobias.$$
