#!/bin/bash
# SPDX-License-Identifier: MIT
#
# VM lifetimes under the LD_PRELOAD shim, which sees every close(): each
# VM the conformance cases create is destroyed ("destroy vm" in the
# USERKVM_TRACE=1 log) by the time the program ends, exactly once; and a
# VM whose VM fd is closed lives on until its last vCPU fd is closed.
B=${USERKVM_TEST_BUILD:-build}
P=${USERKVM_TEST_PRELOAD:-$B/libuserkvm-preload.so}
T=$B/tests/api/conformance_test
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# --dump=kvm: only the cases' open("/dev/kvm") side, i.e. the shim's
# userkvm (the program's own statically linked copy, its "soft" side, is in
# library mode and has a table of its own).
USERKVM_TRACE=1 LD_PRELOAD=$P "$T" --dump=kvm > "$tmp/out" 2> "$tmp/trace"
created=$(grep -c '^userkvm: create vm$' "$tmp/trace")
destroyed=$(grep -c '^userkvm: destroy vm' "$tmp/trace")
if [ "$created" -gt 0 ] && [ "$created" -eq "$destroyed" ]; then
	echo "ok shim-every-vm-destroyed ($created VMs)"
else
	echo "FAIL shim-every-vm-destroyed: $created VMs created, $destroyed destroyed"
fi

# One case, line by line: after "close fd VM" the VM survives (no destroy)
# until the vCPU's last descriptor (its dup) is closed.
USERKVM_TRACE=1 LD_PRELOAD=$P "$T" --dump=kvm --case=fd_vcpu_keeps_vm > /dev/null 2> "$tmp/one"
vmfd=$(sed -n 's/^userkvm: kvm-vm = fd \([0-9]*\)$/\1/p' "$tmp/one" | head -1)
order=$(grep -E "^userkvm: (close fd|destroy vm)" "$tmp/one" | sed 's/^userkvm: //' | tr '\n' ',')
# kvm-vcpu:3 is the vCPU; the dup of it is the last descriptor closed
vcpufd=$(sed -n 's/^userkvm: kvm-vcpu:3 = fd \([0-9]*\)$/\1/p' "$tmp/one" | head -1)
dupfd=$(sed -n "s/^userkvm: dup fd $vcpufd -> \([0-9]*\)$/\1/p" "$tmp/one" | head -1)
want="close fd $vmfd,close fd $((vmfd - 1)),close fd $vcpufd,close fd $dupfd,destroy vm (1 vcpus),"
if [ -n "$vmfd" ] && [ -n "$dupfd" ] && [ "${order#*"$want"}" != "$order" ]; then
	echo "ok shim-vm-lives-until-last-vcpu-fd"
else
	echo "FAIL shim-vm-lives-until-last-vcpu-fd: vm fd $vmfd vcpu fd $vcpufd dup $dupfd; saw: $order"
	echo "      want: $want"
fi
