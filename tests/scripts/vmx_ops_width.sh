#!/bin/bash
# SPDX-License-Identifier: MIT
#
# vmx_ops.h checks VMCS accessor widths at compile time (like Linux's
# vmcs_check16/32/64): each wrong-width use below must fail to build, and
# the right-width uses must build.
cd "$(dirname "$0")/../.."
CC=${CC:-cc}
try() {	# expect(0 builds / 1 fails), statement
	local src
	src=$(printf '#include "x86/vmx/vmx_ops.h"\nvoid f(u32 dyn);\nvoid f(u32 dyn) { (void)dyn; %s; }\n' "$2")
	if echo "$src" | $CC -std=gnu11 -Wall -Werror -Isrc -Iinclude -fsyntax-only -x c - 2>/dev/null; then
		got=0
	else
		got=1
	fi
	[ "$got" = "$1" ] || { echo "FAIL vmx-ops-width: '$2' expected $([ "$1" = 1 ] && echo failure || echo success)"; return 1; }
}
ok=1
try 0 'vmcs_write16(GUEST_CS_SELECTOR, 1)' || ok=0
try 0 'vmcs_write32(PIN_BASED_VM_EXEC_CONTROL, 1)' || ok=0
try 0 'vmcs_write64(EPT_POINTER, 1)' || ok=0
try 0 'vmcs_writel(GUEST_RIP, 1)' || ok=0
try 0 '(void)vmcs_read32(VMCS_HIGH(TSC_OFFSET))' || ok=0
try 0 '(void)vmcs_read32(dyn)' || ok=0
try 1 'vmcs_write16(GUEST_RIP, 1)' || ok=0
try 1 'vmcs_write32(EPT_POINTER, 1)' || ok=0
try 1 'vmcs_write64(VMCS_HIGH(EPT_POINTER), 1)' || ok=0
try 1 'vmcs_write64(GUEST_ES_LIMIT, 1)' || ok=0
try 1 '(void)vmcs_readl(VM_EXIT_REASON)' || ok=0
try 1 '(void)vmcs_read16(EXIT_QUALIFICATION)' || ok=0
try 1 '(void)vmcs_read64(GUEST_CR0)' || ok=0
[ $ok = 1 ] && echo "ok vmx-ops-width"
exit 0
