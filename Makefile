# SPDX-License-Identifier: MIT
#
# One Makefile for the whole tree.  Sources are found by directory, so a new
# file under src/ or tests/ needs no edit here.
#
#   make                    release build into build/
#   make test               build and run every test (last line: "N passed, N failed")
#   make bench              benchmarks, side by side with real KVM and QEMU TCG
#   make MODE=debug|asan|ubsan|tsan [test]   other builds, into build-$(MODE)/

MODE ?= rel
.SECONDEXPANSION:
ifeq ($(MODE),rel)
O ?= build
MODE_CFLAGS := -O2 -g
else
O ?= build-$(MODE)
endif
ifeq ($(MODE),debug)
MODE_CFLAGS := -O0 -g3 -DUSERKVM_DEBUG
endif
ifeq ($(MODE),asan)
MODE_CFLAGS := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -DUSERKVM_DEBUG
MODE_LDFLAGS := -fsanitize=address,undefined
endif
ifeq ($(MODE),ubsan)
MODE_CFLAGS := -O1 -g -fsanitize=undefined -fno-sanitize-recover=all -DUSERKVM_DEBUG
MODE_LDFLAGS := -fsanitize=undefined
endif
ifeq ($(MODE),tsan)
MODE_CFLAGS := -O1 -g -fsanitize=thread -DUSERKVM_DEBUG
MODE_LDFLAGS := -fsanitize=thread
endif
ifeq ($(MODE_CFLAGS),)
$(error unknown MODE=$(MODE): use rel, debug, asan, ubsan or tsan)
endif

CC ?= cc
WARN := -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers
CFLAGS := -std=gnu11 $(WARN) $(MODE_CFLAGS) -fPIC -pthread -MMD -MP \
	-Iinclude -Isrc -D_GNU_SOURCE $(EXTRA_CFLAGS)
LDFLAGS := -pthread $(MODE_LDFLAGS) $(EXTRA_LDFLAGS)

LIB_SRCS  := $(sort $(shell find src/util src/api src/kvm src/x86 src/silicon -name '*.c'))
VMM_SRCS  := $(sort $(shell find src/vmm -name '*.c'))
SHIM_SRCS := src/shim/preload.c
LIB_OBJS  := $(LIB_SRCS:%.c=$(O)/%.o)
VMM_OBJS  := $(VMM_SRCS:%.c=$(O)/%.o)
SHIM_OBJS := $(SHIM_SRCS:%.c=$(O)/%.o)

# Tests: every tests/<dir>/<name>_test.c is one program; the other .c and .S
# files of its directory are linked into each program of that directory.
TEST_DIRS  := $(sort $(dir $(wildcard tests/*/*_test.c)))
TEST_SRCS  := $(sort $(wildcard tests/*/*_test.c))
TEST_BINS  := $(TEST_SRCS:%_test.c=$(O)/%_test)
test_support = $(patsubst %,$(O)/%.o,$(basename $(filter-out %_test.c,$(wildcard $(1)*.c $(1)*.S))))

BENCH_SRCS := $(sort $(wildcard bench/*.c))
BENCH_BINS := $(BENCH_SRCS:%.c=$(O)/%)

# Guests: guests/<name>/*.S -> $(O)/guests/<name>.elf, multiboot ELF32 at 1 MiB.
GUESTS := $(patsubst guests/%/,%,$(sort $(dir $(wildcard guests/*/*.S))))
GUEST_ELFS := $(GUESTS:%=$(O)/guests/%.elf)

all: $(O)/userkvm $(O)/libuserkvm.a $(O)/libuserkvm.so $(O)/libuserkvm-preload.so $(GUEST_ELFS)

guest_objs = $(patsubst %.S,$(O)/%.g32.o,$(wildcard guests/$(1)/*.S))
$(O)/guests/%.elf: $$(call guest_objs,$$*) guests/guest.ld
	ld -m elf_i386 --no-warn-rwx-segments -T guests/guest.ld -o $@ $(filter %.o,$^)

$(O)/guests/%.g32.o: guests/%.S
	@mkdir -p $(dir $@)
	$(CC) -m32 -E -P -x assembler-with-cpp -Iguests/include $< | as --32 -o $@

# Library code is built with hidden visibility: only what include/userkvm.h
# declares (USERKVM_API) and the shim's libc entry points are exported.
$(O)/src/%.o: CFLAGS += -fvisibility=hidden

$(O)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(O)/%.o: %.S
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(O)/libuserkvm.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(O)/libuserkvm.so: $(LIB_OBJS)
	$(CC) -shared -o $@ $^ $(LDFLAGS)

$(O)/libuserkvm-preload.so: $(LIB_OBJS) $(SHIM_OBJS)
	$(CC) -shared -o $@ $^ $(LDFLAGS) -ldl

$(O)/userkvm: $(VMM_OBJS) $(O)/libuserkvm.a
	$(CC) -o $@ $(VMM_OBJS) $(O)/libuserkvm.a $(LDFLAGS)

$(O)/tests/%_test: $(O)/tests/%_test.o $$(call test_support,tests/$$(dir $$*)) $(O)/libuserkvm.a
	$(CC) -o $@ $(filter %.o,$^) $(O)/libuserkvm.a $(LDFLAGS) -ldl

$(O)/bench/%: $(O)/bench/%.o $(O)/libuserkvm.a
	$(CC) -o $@ $< $(O)/libuserkvm.a $(LDFLAGS)

test: all $(TEST_BINS)
	@MODE=$(MODE) tests/run.sh $(O)

bench: all $(BENCH_BINS)
	@bench/run.sh $(O)

# The KVM selftests from Debian's linux-source, for tests/scripts/selftests.sh.
kvm-selftests:
	tests/selftests/build.sh build/kvm-selftests

clean:
	rm -rf build build-*

.PHONY: all test bench clean kvm-selftests
.SECONDARY:
-include $(shell find $(O) -path $(O)/kvm-selftests -prune -o -name '*.d' -type f -print 2>/dev/null)
