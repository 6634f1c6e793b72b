#!/usr/bin/env bash
# escalation: jobs that ignore the stop signal (bench/probes/stubborn: it
# catches TERM, INT and HUP, notes the instant, and goes on sleeping), a
# 200 ms deadline and a 500 ms grace. Per job: its death (pidfd) minus the
# instant TERM reached it minus 500 ms; the worst job of the run counts.
# Reference for one job: GNU timeout -k, which does no more than a floor
# would (an alarm, kill, an alarm, kill). Floor for the K jobs of a group:
# bench/probes/killfloor with the same K stubborn jobs, each in a process
# group of its own: at the deadline SIGTERM to each with kill() in one
# loop, 500 ms later SIGKILL to each in one loop; what the kernel needs to
# take K jobs down one after the other.
# Target (issue 6): <= +2 ms (timeout: +0.8 ms; parallel: +56 ms); for the
# group also read in floor form (<= the floor + 2 ms).
. "$(dirname "$0")/lib.sh"

K=${K:-$([ "$QUICK" = 1 ] && echo 2 || echo 10)}
REPS=${REPS:-$([ "$QUICK" = 1 ] && echo 1 || echo 7)}

bench_init escalation "TERM-ignoring jobs, 200 ms deadline, 500 ms grace -> gone"
skip_missing_peers timeout parallel concurrently
note "make and xargs have no deadline nor grace: not in this benchmark"
note "timeout and ctxrun -- supervise 1 stubborn job; the floor and the groups run $K"
note "GNU parallel stops timed-out jobs one at a time (TERM, 500 ms, KILL), so its $K jobs get TERM about 0.5 s apart; the figure is per job"

export STUBBORN_LOG=$BENCH_TMP/term.log STUBBORN_MAX_S=20
SB=$BENCH_BIN/stubborn
ctx_args "$K" "$SB"
seq "$K" >"$BENCH_TMP/in"

# Tools, with how many stubborn jobs each one runs.
counts=()
tmed=- fmed=- c1=- c2=-
add_tool "floor: kill(2) loop (x$K)" "$BENCH_BIN/killfloor" -n "$K" -t 200 -g 500 -x "$SB"; counts+=("$K")
if have timeout; then
	add_tool "timeout -k 0.5 0.2 (1 job)" timeout -k 0.5 0.2 "$SB"; counts+=(1)
fi
add_tool "ctxrun -t 200ms -g 500ms -- (1 job)" "$CTXRUN" -q -t 200ms -g 500ms -- "$SB"; counts+=(1)
add_tool "ctxrun -t 200ms -g 500ms -c x$K" "$CTXRUN" -q -t 200ms -g 500ms "${CTX_ARGS[@]}"; counts+=("$K")
if have parallel; then
	add_tool "parallel --termseq TERM,500,KILL,25 (x$K)" parallel --will-cite -j "$K" --timeout 0.2 \
		--termseq TERM,500,KILL,25 -N0 "$SB" :::: "$BENCH_TMP/in"
	counts+=("$K")
fi

for ((t = 0; t < ${#TOOLS[@]}; t++)); do
	tool_cmd "$t"
	reps "$BENCH_TMP/r$t" "$REPS" "$BENCH_BIN/deaths" -n "${counts[t]}" -m stubborn \
		-e "$STUBBORN_LOG" -g 500 -w 15000 -- "${CMD[@]}"
done

# Tool 0 is the floor, tool 1 timeout (when installed).
have timeout && read -r tmed _ _ < <(stat_of "$BENCH_TMP/r1" esc_ms)
read -r fmed _ _ < <(stat_of "$BENCH_TMP/r0" esc_ms)
header "timeout"
for ((t = 0; t < ${#TOOLS[@]}; t++)); do
	n=$(reps_done "$BENCH_TMP/r$t")
	read -r med mn mx < <(stat_of "$BENCH_TMP/r$t" esc_ms)
	extra="past the grace ($n runs)"
	[ "${counts[t]}" = "$K" ] && [ $t != 0 ] && extra="past the grace ($n runs$(over_floor "$med" "$fmed"))"
	row "${TOOLS[t]}" "$med" "$mn" "$mx" ms "$(ratio "$med" "$tmed")" "$extra"
	case ${TOOLS[t]} in
	"ctxrun -t 200ms -g 500ms -- (1 job)") c1=$med ;;
	"ctxrun -t 200ms -g 500ms -c x$K") c2=$med ;;
	esac
done
target "ctxrun -- (1 job): gone <= 2 ms past the grace" "$c1" le 2
target "ctxrun -c (x$K): gone <= 2 ms past the grace" "$c2" le 2
target "floor form: ctxrun -c (x$K): gone <= floor + 2 ms (figure: ms past the floor)" \
	"$(minus "$c2" "$fmed")" le 2
have timeout && target "ratio form (issue: 2 ms vs timeout's 0.8 ms): ctxrun -- <= 2.5x timeout" \
	"$(ratio "$c1" "$tmed")" le 2.5
