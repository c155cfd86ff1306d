#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The architecture rules of shared/DESIGN.md, checked on the source tree:
#  - src/silicon is hardware: it includes no KVM header (kvm/, x86/, linux/kvm.h);
#  - KVM code reaches the processor only through src/x86/vmx/vmx_ops.h;
#  - the shim and the VMM see only the public API and the fd layer;
#  - every source file starts with an SPDX line.
cd "$(dirname "$0")/../.."

bad=$(grep -rnE '#\s*include\s*[<"](kvm/|x86/|api/|linux/kvm\.h|userkvm/kvm_compat\.h)' src/silicon 2>/dev/null)
if [ -n "$bad" ]; then echo "FAIL silicon-includes-no-kvm: $bad"; else echo "ok silicon-includes-no-kvm"; fi

bad=$(grep -rnE '#\s*include\s*[<"]silicon/' src --include='*.[ch]' | grep -v '^src/silicon/' | grep -v '^src/x86/vmx/vmx_ops.h:')
if [ -n "$bad" ]; then echo "FAIL silicon-only-via-vmx_ops: $bad"; else echo "ok silicon-only-via-vmx_ops"; fi

bad=$(grep -rnE '#\s*include\s*"(kvm|x86|silicon)/' src/vmm 2>/dev/null)
if [ -n "$bad" ]; then echo "FAIL vmm-uses-only-the-api: $bad"; else echo "ok vmm-uses-only-the-api"; fi

missing=""
for f in $(git ls-files '*.c' '*.h' '*.S' '*.sh' '*.awk' Makefile 2>/dev/null; git ls-files --others --exclude-standard '*.c' '*.h' '*.S' '*.sh' '*.awk'); do
	[ -f "$f" ] || continue
	head -3 "$f" | grep -q 'SPDX-License-Identifier: MIT' || missing="$missing $f"
done
if [ -n "$missing" ]; then echo "FAIL spdx-lines: missing in$missing"; else echo "ok spdx-lines"; fi
