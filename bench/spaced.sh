#!/usr/bin/env bash
# spaced: what one run costs as a user meets it, one command at a time
# with a pause between runs (issue 18), not in a warm loop: start-up and
# exit of `true`, and the overshoot of a 200 ms deadline. Each run comes
# 0.5 s after the last, with no warm-up; rounds interleave ctxrun with GNU
# timeout, in alternating order. A cost the kernel pays only on a cold
# path (a cgroup migration waits for an RCU grace period) shows here and
# not in one-command-overhead.
# Targets (issue 18): ctxrun -- true <= 1.2x timeout 10 true; ctxrun's
# -t 200ms overshoot <= timeout's.
# CTXRUN_BEFORE=path adds an older build of ctxrun to the same rounds, for
# a before/after taken in one run.
. "$(dirname "$0")/lib.sh"

# A spaced run's time spreads over 2-4 ms on a VM: 15 rounds moved the
# median by 30 % from one run to the next, 40 by a few per cent.
ROUNDS=${ROUNDS:-$([ "$QUICK" = 1 ] && echo 8 || echo 40)}

bench_init spaced "one run at a time, 0.5 s apart, $ROUNDS interleaved rounds"
skip_missing_peers timeout

# Names without blanks: hf_rounds' output is split on them.
start=(
	timeout "timeout 10 true"
	ctxrun "$(qcmd "$CTXRUN" -- true)"
	ctxrun-off "$(qcmd "$CTXRUN" --cgroup off -- true)"
)
over=(
	timeout "timeout 0.2 sleep 10"
	ctxrun "$(qcmd "$CTXRUN" -q -t 200ms -- sleep 10)"
)
before_start=() before_over=()
if [ -n "${CTXRUN_BEFORE:-}" ]; then
	before_start=(ctxrun-before "$(qcmd "$CTXRUN_BEFORE" -- true)")
	before_over=(ctxrun-before "$(qcmd "$CTXRUN_BEFORE" -q -t 200ms -- sleep 10)")
	note "ctxrun before: $CTXRUN_BEFORE ($("$CTXRUN_BEFORE" --version 2>&1 | head -1))"
fi
start+=("${before_start[@]}")
over+=("${before_over[@]}")
HF_PREPARE="sleep 0.5" hf_rounds "$BENCH_TMP/start" "$ROUNDS" 0 "${start[@]}" || exit 1
HF_PREPARE="sleep 0.5" hf_rounds "$BENCH_TMP/over" "$ROUNDS" 0 "${over[@]}" || exit 1

# spaced_rows OUT OFFSET_MS NOTE NAME LABEL [NAME LABEL...]: a row per
# NAME (ms minus OFFSET_MS), ratios to the first; sets FIRST and LAST
# (their medians).
spaced_rows() {
	local out=$1 off=$2 what=$3 med mn mx
	shift 3
	FIRST=
	while [ $# -gt 0 ]; do
		read -r med mn mx < <(rounds_ms "$out" "$1" |
			awk -v o="$off" '{ print $1 - o }' | stats)
		FIRST=${FIRST:-$med}
		LAST=$med
		row "$2" "$med" "$mn" "$mx" ms "$(ratio "$med" "$FIRST")" "$what ($ROUNDS runs)"
		shift 2
	done
}

header "timeout"
before_row=()
[ -n "${CTXRUN_BEFORE:-}" ] && before_row=(ctxrun-before "ctxrun before -- true")
spaced_rows "$BENCH_TMP/start" 0 "start to exit" timeout "timeout 10 true" \
	ctxrun-off "ctxrun --cgroup off -- true" "${before_row[@]}" ctxrun "ctxrun -- true"
target "spaced: ctxrun -- true <= 1.2x timeout 10 true" "$(ratio "$LAST" "$FIRST")" le 1.2
[ -n "${CTXRUN_BEFORE:-}" ] && before_row=(ctxrun-before "ctxrun before -t 200ms")
spaced_rows "$BENCH_TMP/over" 200 "overshoot" timeout "timeout 0.2 sleep 10" \
	"${before_row[@]}" ctxrun "ctxrun -t 200ms -- sleep 10"
target "spaced: ctxrun -t 200ms overshoot <= timeout's" "$(ratio "$LAST" "$FIRST")" le 1.0
