# ctxrun — see README.md. `make` builds ./ctxrun, `make test` runs every test.

CC ?= cc
CFLAGS ?= -O2 -g
WARNINGS = -std=c11 -Wall -Wextra -Wshadow -Wstrict-prototypes -Werror
CPPFLAGS += -D_GNU_SOURCE -Iinclude
LDLIBS = -lev -linih
PREFIX ?= /usr/local
# ctxrun itself links statically where glibc's libc.a is installed (Debian's
# libc6-dev): no dynamic loader at start-up halves what ctxrun adds to a
# short command (issue 6). Sanitizer builds link dynamically, and valgrind
# runs a dynamic twin, since memcheck cannot replace malloc in a static
# binary. STATIC=0 forces a dynamic build.
STATIC ?= $(if $(wildcard $(shell $(CC) -print-file-name=libc.a)),1,0)

BUILD ?= build
SAN ?=
ifneq ($(SAN),)
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=address,undefined
STATIC = 0
endif

LIB_SRC := $(filter-out src/main.c,$(wildcard src/*.c))
LIB_OBJ := $(LIB_SRC:src/%.c=$(BUILD)/obj/%.o)
UNIT_SRC := $(wildcard tests/unit/*.c)
E2E_SRC := $(wildcard tests/e2e/*.c)

# Debian packages the build and the tests need, each found by one file.
BUILD_DEPS := /usr/include/ev.h:libev-dev /usr/include/ini.h:libinih-dev
TEST_DEPS := /usr/include/criterion/criterion.h:libcriterion-dev \
	/usr/bin/valgrind:valgrind /usr/bin/mandoc:mandoc \
	/usr/bin/xmllint:libxml2-utils /usr/bin/python3:python3 \
	/usr/sbin/sshd:openssh-server /usr/bin/ssh:openssh-client \
	/usr/bin/strace:strace

.PHONY: all deps test-deps demo test test-plain golden-update check check-asan check-valgrind \
	check-clang check-man check-completion clean install install-timeout \
	uninstall fuzz fuzz-build fuzz-merge

all: ctxrun

# Install what is missing with apt-get (through sudo when not root), and say so.
define install_missing
	@missing=""; for dep in $(1); do f=$${dep%%:*}; p=$${dep##*:}; \
		[ -e "$$f" ] || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "ctxrun build: installing missing Debian packages:$$missing"; \
		sudo=""; [ "$$(id -u)" = 0 ] || sudo="sudo"; \
		export DEBIAN_FRONTEND=noninteractive; \
		$$sudo apt-get update -qq && \
		$$sudo apt-get install -y -qq --no-install-recommends $$missing </dev/null \
		|| { echo "ctxrun build: could not install:$$missing" >&2; exit 1; }; \
	fi
endef

$(BUILD)/.deps:
	$(call install_missing,$(BUILD_DEPS))
	@mkdir -p $(@D) && touch $@

$(BUILD)/.test-deps:
	$(call install_missing,$(TEST_DEPS))
	@mkdir -p $(@D) && touch $@

deps: $(BUILD)/.deps
test-deps: $(BUILD)/.deps $(BUILD)/.test-deps

$(BUILD)/obj/%.o: src/%.c | $(BUILD)/.deps
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(WARNINGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/libctxrun.a: $(LIB_OBJ)
	$(AR) rcs $@ $^

$(BUILD)/ctxrun: $(BUILD)/obj/main.o $(BUILD)/libctxrun.a
	$(CC) $(LDFLAGS) $(if $(filter 1,$(STATIC)),-static-pie) -o $@ $^ $(LDLIBS)

$(BUILD)/ctxrun-dynamic: $(BUILD)/obj/main.o $(BUILD)/libctxrun.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

ctxrun: $(BUILD)/ctxrun
	cp $< $@

$(BUILD)/th: tests/helpers/th.c | $(BUILD)/.deps
	$(CC) $(CPPFLAGS) $(WARNINGS) $(CFLAGS) -o $@ $<

$(BUILD)/test_unit: $(UNIT_SRC) $(wildcard tests/unit/*.h) $(BUILD)/libctxrun.a \
		| $(BUILD)/.test-deps
	$(CC) $(CPPFLAGS) $(WARNINGS) $(CFLAGS) $(LDFLAGS) -o $@ $(UNIT_SRC) \
		$(BUILD)/libctxrun.a -lcriterion $(LDLIBS)

$(BUILD)/test_e2e: $(E2E_SRC) $(wildcard tests/e2e/*.h) | $(BUILD)/.test-deps
	$(CC) $(CPPFLAGS) $(WARNINGS) $(CFLAGS) $(LDFLAGS) -Itests/e2e -o $@ \
		$(E2E_SRC) -lcriterion -lutil

demo: ctxrun
	@echo '$$ ./ctxrun -v -t 1s -g 2s -- sh -c "trap ... TERM; sleep 30 & wait"'
	@./ctxrun -v -t 1s -g 2s -- sh -c \
		'echo "working (pid $$$$)..."; trap "echo got SIGTERM, cleaning up; exit 0" TERM; sleep 30 & wait'; \
		echo "exit status: $$? (124: the deadline expired, the whole tree is gone)"

# Every test: the plain build, then sanitizers, valgrind and clang.
test: test-plain check

test-plain: test-deps $(BUILD)/ctxrun $(BUILD)/th $(BUILD)/test_unit $(BUILD)/test_e2e
	$(BUILD)/test_unit
	CTXRUN_BIN=$(BUILD)/ctxrun TH_BIN=$(BUILD)/th $(BUILD)/test_e2e
	@# Again without cgroups, where the first pass had them: the fallback
	@# (process groups, marks, the final sweep) must hold on its own.
	@if $(BUILD)/ctxrun --cgroup on -- true 2>/dev/null; then \
		echo "CTXRUN_CGROUP=off $(BUILD)/test_e2e"; \
		CTXRUN_CGROUP=off CTXRUN_BIN=$(BUILD)/ctxrun TH_BIN=$(BUILD)/th \
			$(BUILD)/test_e2e; \
	fi
	@for f in examples/*.ini; do $(BUILD)/ctxrun --check -f "$$f" >/dev/null || exit 1; done

check: check-man check-completion check-clang check-asan check-valgrind

check-completion:
	bash tests/completion.sh

# Rewrite tests/golden/ from what the reports tests get (review the diff).
golden-update: test-deps $(BUILD)/ctxrun $(BUILD)/th $(BUILD)/test_e2e
	CTXRUN_GOLDEN_UPDATE=1 CTXRUN_BIN=$(BUILD)/ctxrun TH_BIN=$(BUILD)/th \
		$(BUILD)/test_e2e --filter '*/golden*'

# The man pages must render without a single warning.
check-man: test-deps
	@out=$$(mandoc -T lint -W warning man/*.1 man/*.5 2>&1 | grep -v 'outdated mandoc.db'); \
	if [ -n "$$out" ]; then echo "$$out"; exit 1; else echo "check-man: man pages lint clean"; fi

# The sanitizers make each spawn slower: 2,000 short jobs instead of 10,000.
check-asan: test-deps
	CTXRUN_TORTURE_JOBS=2000 LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp \
		$(MAKE) --no-print-directory BUILD=build/asan SAN=1 test-plain

check-valgrind: test-deps $(BUILD)/ctxrun-dynamic $(BUILD)/th
	CTXRUN_BIN=$(BUILD)/ctxrun-dynamic TH_BIN=$(BUILD)/th sh tests/valgrind.sh

check-clang: test-deps
	@if command -v clang >/dev/null; then \
		$(MAKE) --no-print-directory BUILD=build/clang CC=clang \
			build/clang/ctxrun build/clang/test_unit build/clang/th build/clang/test_e2e; \
	else echo "check-clang: clang not installed, skipped"; fi
	@# The fuzz targets are built, not run, so that they cannot rot unseen.
	@if ! command -v $(firstword $(FUZZ_CC)) >/dev/null; then \
		echo "check-clang: $(FUZZ_CC) not installed, fuzz targets skipped"; \
	elif ! $(FUZZ_LINKS); then \
		echo "check-clang: $(FUZZ_CC) cannot link -fsanitize=fuzzer" \
			"(Debian: libclang-rt-14-dev), fuzz targets skipped"; \
	else $(MAKE) --no-print-directory fuzz-build; fi

# Fuzzing with clang's libFuzzer: `make fuzz` runs each target FUZZ_TIME
# seconds (ASan and UBSan abort on the first finding). New inputs go to
# build/fuzz/corpus/; the seeds in tests/fuzz/corpus/ are only read.
# `make fuzz-merge` copies inputs that reach new code back into the seeds.
# The targets link a library of their own, every module instrumented, so
# that a parser that starts calling another module needs no change here
# (a list of sources per target went stale unnoticed once).
FUZZ_CC ?= clang
FUZZ_TIME ?= 60
FUZZ_SAN = -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS = -g -O1 $(FUZZ_SAN)
FUZZ_TARGETS = config duration gnu_timeout probe remote
FUZZ_OBJ := $(LIB_SRC:src/%.c=$(BUILD)/fuzz/obj/%.o)

# Does FUZZ_CC link a fuzz target? Debian's clang-14 only recommends the
# package with libFuzzer and the sanitizer runtimes (libclang-rt-14-dev).
FUZZ_LINKS = { mkdir -p $(BUILD)/fuzz && printf '%s\n' \
	'int LLVMFuzzerTestOneInput(const char *d, unsigned long n);' \
	'int LLVMFuzzerTestOneInput(const char *d, unsigned long n)' \
	'{ return !d && n; }' | $(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer \
	-x c -o $(BUILD)/fuzz/links - 2>/dev/null; }

$(BUILD)/fuzz/obj/%.o: src/%.c | $(BUILD)/.deps
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CPPFLAGS) $(WARNINGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link \
		-MMD -MP -c -o $@ $<

$(BUILD)/fuzz/libctxrun.a: $(FUZZ_OBJ)
	$(AR) rcs $@ $^

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(BUILD)/fuzz/libctxrun.a
	$(FUZZ_CC) $(CPPFLAGS) $(WARNINGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer \
		-o $@ $^ $(LDLIBS)

fuzz-build: $(FUZZ_TARGETS:%=$(BUILD)/fuzz/fuzz_%)

fuzz: fuzz-build
	@for t in $(FUZZ_TARGETS); do \
		mkdir -p $(BUILD)/fuzz/corpus/$$t; \
		dict=; [ -f tests/fuzz/$$t.dict ] && dict=-dict=tests/fuzz/$$t.dict; \
		echo "fuzz: $$t for $(FUZZ_TIME)s"; \
		$(BUILD)/fuzz/fuzz_$$t -max_total_time=$(FUZZ_TIME) $$dict \
			-artifact_prefix=$(BUILD)/fuzz/$$t- -print_final_stats=1 \
			$(BUILD)/fuzz/corpus/$$t tests/fuzz/corpus/$$t || exit 1; \
	done

fuzz-merge: $(FUZZ_TARGETS:%=$(BUILD)/fuzz/fuzz_%)
	@for t in $(FUZZ_TARGETS); do \
		$(BUILD)/fuzz/fuzz_$$t -merge=1 -use_counters=0 tests/fuzz/corpus/$$t \
			$(BUILD)/fuzz/corpus/$$t || exit 1; \
	done

install: ctxrun
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 ctxrun $(DESTDIR)$(PREFIX)/bin/ctxrun
	install -m 644 man/ctxrun.1 $(DESTDIR)$(PREFIX)/share/man/man1/ctxrun.1
	install -d $(DESTDIR)$(PREFIX)/share/man/man5
	install -m 644 man/ctxrun.ini.5 $(DESTDIR)$(PREFIX)/share/man/man5/ctxrun.ini.5
	install -d $(DESTDIR)$(PREFIX)/share/bash-completion/completions
	install -m 644 completion/ctxrun.bash \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/ctxrun

# ctxrun as `timeout` too: GNU timeout's command line, with ctxrun's
# containment (ctxrun(1), REPLACING GNU TIMEOUT). A link in $(PREFIX)/bin,
# which must come before /usr/bin in PATH for scripts to find it first
# (Debian's default PATH puts /usr/local/bin there).
install-timeout: install
	ln -sf ctxrun $(DESTDIR)$(PREFIX)/bin/timeout

uninstall:
	@# The timeout link only if it is ours: GNU's may live there too.
	if [ "$$(readlink $(DESTDIR)$(PREFIX)/bin/timeout)" = ctxrun ]; then \
		rm -f $(DESTDIR)$(PREFIX)/bin/timeout; fi
	rm -f $(DESTDIR)$(PREFIX)/bin/ctxrun $(DESTDIR)$(PREFIX)/share/man/man1/ctxrun.1 \
		$(DESTDIR)$(PREFIX)/share/man/man5/ctxrun.ini.5 \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/ctxrun

clean:
	rm -rf build ctxrun

include bench/bench.mk

-include $(wildcard $(BUILD)/obj/*.d $(BUILD)/fuzz/obj/*.d)
