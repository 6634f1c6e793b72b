#!/usr/bin/env bash
# scaling: the cost per job as the run grows, to catch anything O(n^2).
#   series A: N x `true`, 2 at a time (-j 2), N = 100, 1000, 10000: the
#             scheduler, per-job set-up and teardown. Jobs are named with
#             -n j1,...,jN; default names (true, true#2, ...) are measured
#             separately up to 2000 jobs.
#   series B: N x `sleep 2` all at once, N = 100, 1000 (quick: sleep 0.5): the reaper, the
#             exit path and the output streams with many live jobs.
# ctxrun's stderr (with -q, still one summary line per job) and the probes'
# go to a file in the scratch directory, not into the report.
# Per job: ctxrun's wall time (and the spawnfloor floor's, same N), and
# ctxrun's own CPU (its process alone, bench/probes/runstat).
# Target (issue 6): cost per job flat from 100 to 10,000 jobs. Read here as:
# own CPU per job at the largest N <= 1.25x that at N=100, in every series.
. "$(dirname "$0")/lib.sh"

if [ "$QUICK" = 1 ]; then
	A_SIZES=${A_SIZES:-"20 150"}; D_SIZES=${D_SIZES:-"20 150"}; B_SIZES=${B_SIZES:-"20 100"}; B_SLEEP=0.5
else
	A_SIZES=${A_SIZES:-"100 1000 10000"}; D_SIZES=${D_SIZES:-"100 1000 2000"}; B_SIZES=${B_SIZES:-"100 1000"}; B_SLEEP=2
fi
reps_for() { # N MODE
	if [ "$QUICK" = 1 ] || { [ "$1" -ge 5000 ] && [ "$2" != b ]; }; then echo 1
	elif [ "$2" = b ]; then echo 3
	elif [ "$1" -ge 1000 ]; then [ "$2" = a ] && echo 2 || echo 1
	else echo 3; fi
}

bench_init scaling "cost per job from $(first_word "$A_SIZES") to $(last_word "$A_SIZES") jobs"
ulimit -n "$(ulimit -Hn)" 2>/dev/null

# one_run N MODE: one run of series MODE at size N, appended to c$N (and f$N).
one_run() {
	local n=$1 mode=$2 names
	case $mode in
	a | d) ctx_args "$n" true ;;
	b) ctx_args "$n" "sleep $B_SLEEP" ;;
	esac
	case $mode in
	a) names=$(ctx_names "$n"); "$BENCH_BIN/runstat" -- "$CTXRUN" -q -j 2 -n "$names" "${CTX_ARGS[@]}" ;;
	d) "$BENCH_BIN/runstat" -- "$CTXRUN" -q -j 2 "${CTX_ARGS[@]}" ;;
	b) names=$(ctx_names "$n"); "$BENCH_BIN/runstat" -- "$CTXRUN" -q -n "$names" "${CTX_ARGS[@]}" ;;
	esac </dev/null >>"$BENCH_TMP/c$n" 2>>"$BENCH_TMP/stderr"
	if [ "$mode" = a ]; then
		"$BENCH_BIN/runstat" -- "$BENCH_BIN/spawnfloor" -j 2 -n "$n" -c true </dev/null >>"$BENCH_TMP/f$n" 2>>"$BENCH_TMP/stderr"
	fi
}

# run_series LABEL SIZES MODE: MODE a (named, -j2), d (default names, -j2),
# b (all at once). The sizes take turns, round by round, so that a machine
# whose speed drifts during the series weighs on every size alike.
run_series() {
	local label=$1 sizes=$2 mode=$3 n k r rounds=0 first_cpu='' last_cpu=''
	for n in $sizes; do
		: >"$BENCH_TMP/c$n"; : >"$BENCH_TMP/f$n"
		r=$(reps_for "$n" "$mode")
		[ "$r" -gt "$rounds" ] && rounds=$r
	done
	for ((k = 0; k < rounds; k++)); do
		for n in $sizes; do
			[ "$k" -lt "$(reps_for "$n" "$mode")" ] && one_run "$n" "$mode"
		done
	done
	for n in $sizes; do
		r=$(reps_for "$n" "$mode")
		read -r cw _ _ < <(field wall_ms <"$BENCH_TMP/c$n" | awk -v n="$n" '{ print $1 * 1000 / n }' | stats)
		read -r cc ccmin ccmax < <(field cpu_ms <"$BENCH_TMP/c$n" | awk -v n="$n" '{ print $1 * 1000 / n }' | stats)
		[ -z "$first_cpu" ] && first_cpu=$cc
		last_cpu=$cc
		if [ "$mode" = a ]; then
			read -r fw _ _ < <(field wall_ms <"$BENCH_TMP/f$n" | awk -v n="$n" '{ print $1 * 1000 / n }' | stats)
			row "$label N=$n: wall per job (floor $(fmt "$fw") us)" "$cw" "$cw" "$cw" us "$(ratio "$cw" "$fw")" "($r runs; ratio to the floor)"
		else
			row "$label N=$n: wall per job" "$cw" "$cw" "$cw" us "-" "($r runs)"
		fi
		row "$label N=$n: own CPU per job" "$cc" "$ccmin" "$ccmax" us "$(ratio "$cc" "$first_cpu")" "(ratio to the smallest N)"
	done
	target "$label: own CPU per job flat (<= 1.25x from N=$(first_word "$sizes") to N=$(last_word "$sizes"))" \
		"$(ratio "$last_cpu" "$first_cpu")" le 1.25
}

header "floor / smallest N"
run_series "A: -j2 true, named" "$A_SIZES" a
run_series "A': -j2 true, default names" "$D_SIZES" d
run_series "B: all at once, sleep $B_SLEEP" "$B_SIZES" b
