# bench/bench.mk: the benchmark suite's rules (issue 6). The top Makefile
# takes them with one line:  include bench/bench.mk
#
#   make bench         every benchmark at full size (~10-15 min on 2 cores)
#   make bench-quick   the same ratios on small sizes (about a minute)
#
# Results: the report on stdout and in build/bench/out/report.txt, each
# figure in build/bench/out/results.tsv, a Markdown digest in
# build/bench/out/summary.md (bench-quick: build/bench/out-quick/).
# bench/README.md says what each benchmark measures.

BENCH_DEPS := /usr/bin/hyperfine:hyperfine /usr/bin/parallel:parallel \
	/usr/bin/valgrind:valgrind \
	/usr/bin/strace:strace /usr/bin/time:time /usr/bin/jq:jq
BENCH_PROBES := $(patsubst bench/probes/%.c,$(BUILD)/bench/%,$(wildcard bench/probes/*.c))
BENCH_ENV = CTXRUN=$(BUILD)/ctxrun BENCH_BIN=$(BUILD)/bench

.PHONY: bench bench-quick bench-deps

$(BUILD)/.bench-deps:
	$(call install_missing,$(BENCH_DEPS))
	@mkdir -p $(@D) && touch $@

bench-deps: $(BUILD)/.bench-deps

# The probes: small C programs that measure what a shell cannot.
$(BUILD)/bench/%: bench/probes/%.c bench/probes/common.h | $(BUILD)/.deps
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(WARNINGS) -O2 -o $@ $<

bench: $(BUILD)/ctxrun $(BENCH_PROBES) bench-deps
	$(BENCH_ENV) BENCH_OUT=$(BUILD)/bench/out bash bench/run.sh

bench-quick: $(BUILD)/ctxrun $(BENCH_PROBES) bench-deps
	QUICK=1 $(BENCH_ENV) BENCH_OUT=$(BUILD)/bench/out-quick bash bench/run.sh
