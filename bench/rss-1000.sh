#!/usr/bin/env bash
# rss-1000: peak RSS of the supervisor while N jobs `sleep S` run at once.
# Two figures per tool, from the same run:
#   - VmHWM of the supervisor process alone, sampled every 20 ms from
#     /proc/PID/status by bench/probes/runstat;
#   - /usr/bin/time -v's "Maximum resident set size": wait4's ru_maxrss,
#     the largest of the supervisor and of every descendant it reaped.
# "concurrent" is the most `sleep S` processes seen alive at once. A tool
# still running S + 20 s after its start (GNU parallel, which starts its
# jobs slowly) is stopped then: its figure is for the concurrency it reached.
# Target (issue 6): ctxrun <= 4 MB (xargs 1.8, make 6.8, parallel 29 MB).
. "$(dirname "$0")/lib.sh"

N=${N:-$([ "$QUICK" = 1 ] && echo 30 || echo 1000)}
S=${S:-$([ "$QUICK" = 1 ] && echo 0.5 || echo 12)}
REPS=${REPS:-1}
LIMIT=$(awk -v s="$S" 'BEGIN { print s + 20 }') # seconds: a supervisor slower to start its jobs is stopped then

bench_init rss-1000 "peak RSS of the supervisor with $N concurrent jobs (sleep $S)"
skip_missing_peers xargs make parallel concurrently
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((4 * N + 64)) ]; then
	ulimit -n "$(ulimit -Hn)" 2>/dev/null
	note "open-file limit raised to $(ulimit -n) (ctxrun holds 2 pipes per running job)"
fi

seq "$N" >"$BENCH_TMP/in"
make_targets "$BENCH_TMP/mk" "$N" "sleep $S"
ctx_args "$N" "sleep $S"

add_tool "ctxrun -c x$N" "$CTXRUN" -q "${CTX_ARGS[@]}"
have xargs && add_tool "xargs -P$N" xargs -a "$BENCH_TMP/in" -P "$N" -n 1 sh -c "sleep $S"
have make && add_tool "make -j$N" make -s -j "$N" -f "$BENCH_TMP/mk"
have parallel && add_tool "parallel -j$N" parallel --will-cite -j "$N" -N0 sleep "$S" :::: "$BENCH_TMP/in"
if have_concurrently; then
	rep_args "$N" "sleep $S"
	add_tool "concurrently" "$(concurrently_cmd)" "${REP_ARGS[@]}"
fi

header "xargs"
for ((t = 0; t < ${#TOOLS[@]}; t++)); do
	tool_cmd "$t"
	: >"$BENCH_TMP/r$t"
	for ((k = 0; k < REPS; k++)); do
		line=$("$BENCH_BIN/runstat" -D 2 -m "sleep $S" -t "$LIMIT" -- \
			/usr/bin/time -v -o "$BENCH_TMP/time$t" "${CMD[@]}" </dev/null 2>"$BENCH_TMP/err$t")
		tv=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$BENCH_TMP/time$t")
		echo "$line timev_kb=$tv" >>"$BENCH_TMP/r$t"
	done
done
read -r xhwm _ _ < <(field hwm_kb <"$BENCH_TMP/r1" | awk '{ print $1 / 1024 }' | stats)
read -r xtv _ _ < <(field timev_kb <"$BENCH_TMP/r1" | awk '{ print $1 / 1024 }' | stats)
for ((t = 0; t < ${#TOOLS[@]}; t++)); do
	conc=$(field concurrent <"$BENCH_TMP/r$t" | sort -n | head -1)
	lim=; [ "$(field limited <"$BENCH_TMP/r$t" | sort -n | tail -1)" = 1 ] && lim="; stopped after $LIMIT s"
	read -r med mn mx < <(field hwm_kb <"$BENCH_TMP/r$t" | awk '{ print $1 / 1024 }' | stats)
	row "${TOOLS[t]}: supervisor VmHWM" "$med" "$mn" "$mx" MiB "$(ratio "$med" "$xhwm")" "(concurrent: $conc of $N$lim)"
	[ $t = 0 ] && chwm=$med
	read -r med mn mx < <(field timev_kb <"$BENCH_TMP/r$t" | awk '{ print $1 / 1024 }' | stats)
	row "${TOOLS[t]}: time -v max RSS" "$med" "$mn" "$mx" MiB "$(ratio "$med" "$xtv")"
done
target "ctxrun peak RSS (VmHWM, itself) <= 4 MB" "$chwm" le 3.815 # 4 MB = 3.815 MiB
