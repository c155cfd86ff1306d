// SPDX-License-Identifier: MIT
/*
 * An 8250/16550 UART at COM1 (0x3f8), output to stdout.  Enough of the
 * register file for firmware-style and Linux-style drivers: the divisor
 * latch, LCR/MCR/SCR that read back, and a line status that always reports
 * the transmitter empty (output is immediate).  No input yet.
 */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#include "vmm/vmm.h"

#define UART_BASE 0x3f8

enum { RBR_THR = 0, IER = 1, IIR_FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7 };
#define LCR_DLAB 0x80
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define IIR_NO_INT 0x01
#define MCR_LOOP 0x10

static struct serial8250 {
	uint8_t ier, lcr, mcr, scr, dll, dlm, fcr;
	char out[4096];
	size_t out_len;
} com1 = { .dll = 12 /* 9600 baud */ };

void serial8250__flush(void)
{
	size_t off = 0;

	while (off < com1.out_len) {
		ssize_t n = write(1, com1.out + off, com1.out_len - off);

		if (n <= 0)
			break;
		off += n;
	}
	com1.out_len = 0;
}

static void serial8250__tx(uint8_t c)
{
	com1.out[com1.out_len++] = c;
	if (c == '\n' || com1.out_len == sizeof(com1.out))
		serial8250__flush();
}

static void serial8250__io_locked(void *opaque, uint64_t off, uint8_t *data, uint32_t len,
				  bool is_write);

/* vCPU threads of an SMP guest share the UART: one access at a time. */
static pthread_mutex_t com1_lock = PTHREAD_MUTEX_INITIALIZER;

static void serial8250__io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	pthread_mutex_lock(&com1_lock);
	serial8250__io_locked(opaque, off, data, len, is_write);
	pthread_mutex_unlock(&com1_lock);
}

static void serial8250__io_locked(void *opaque, uint64_t off, uint8_t *data, uint32_t len,
				  bool is_write)
{
	struct serial8250 *s = opaque;
	bool dlab = s->lcr & LCR_DLAB;

	if (is_write) {
		uint8_t v = data[0];

		switch (off) {
		case RBR_THR:
			if (dlab)
				s->dll = v;
			else if (!(s->mcr & MCR_LOOP))
				serial8250__tx(v);
			break;
		case IER:
			if (dlab)
				s->dlm = v;
			else
				s->ier = v & 0x0f;
			break;
		case IIR_FCR: s->fcr = v; break;
		case LCR: s->lcr = v; break;
		case MCR: s->mcr = v & 0x1f; break;
		case SCR: s->scr = v; break;
		}
		return;
	}
	switch (off) {
	case RBR_THR: data[0] = dlab ? s->dll : 0; break;
	case IER: data[0] = dlab ? s->dlm : s->ier; break;
	case IIR_FCR: data[0] = IIR_NO_INT | (s->fcr & 1 ? 0xc0 : 0); break;
	case LCR: data[0] = s->lcr; break;
	case MCR: data[0] = s->mcr; break;
	case LSR: data[0] = LSR_THRE | LSR_TEMT; break;
	case MSR: data[0] = 0xb0; break;	/* DCD, DSR, CTS */
	case SCR: data[0] = s->scr; break;
	}
	for (uint32_t i = 1; i < len; i++)
		data[i] = 0xff;
}

void serial8250__init(struct vmm *vmm)
{
	if (vmm__register_pio(UART_BASE, 8, serial8250__io, &com1) < 0)
		die("cannot register the serial port");
}
