/* SPDX-License-Identifier: MIT */
/* The benchmark guest's workloads, assembled into the host test program. */
#include "../../bench/guest/workloads.S"

	.section .note.GNU-stack, "", @progbits
