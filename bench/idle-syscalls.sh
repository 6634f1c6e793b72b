#!/usr/bin/env bash
# idle-syscalls: system calls the supervisor makes while its one job sleeps.
# Every supervisor runs `sleep`; once it has settled, strace -f -c attaches
# to the supervisor's pid (and to its helper processes: children bearing its
# name) for WINDOW seconds, then detaches (SIGINT). All
# supervisors run side by side: they are idle, and each is traced alone.
# Target (issue 6): 0 (timeout, xargs, make: 0; parallel: 234).
. "$(dirname "$0")/lib.sh"

SETTLE=${SETTLE:-$([ "$QUICK" = 1 ] && echo 0.6 || echo 1.5)}
WINDOW=${WINDOW:-$([ "$QUICK" = 1 ] && echo 0.8 || echo 5)}
SLEEP=$(awk -v a="$SETTLE" -v b="$WINDOW" 'BEGIN { print a + b + 0.7 }')

bench_init idle-syscalls "syscalls while one job sleeps, over ${WINDOW} s"
skip_missing_peers strace timeout xargs make parallel concurrently
have strace || { skipped_target "no syscalls while idle" "strace not installed"; exit 0; }

echo 1 >"$BENCH_TMP/in"
make_targets "$BENCH_TMP/mk" 1 "sleep $SLEEP"
have timeout && add_tool "timeout 60 sleep" timeout 60 sleep "$SLEEP"
add_tool "ctxrun -t 60s -- sleep" "$CTXRUN" -t 60s -- sleep "$SLEEP"
add_tool "ctxrun -c 'sleep'" "$CTXRUN" -q -c "sleep $SLEEP"
have xargs && add_tool "xargs sh -c 'sleep'" xargs -a "$BENCH_TMP/in" -n 1 sh -c "sleep $SLEEP"
have make && add_tool "make" make -s -f "$BENCH_TMP/mk"
have parallel && add_tool "parallel sleep" parallel --will-cite -N0 sleep "$SLEEP" ::: 1
if have_concurrently; then add_tool "concurrently 'sleep'" "$(concurrently_cmd)" "sleep $SLEEP"; fi

rpids=()
for ((t = 0; t < ${#TOOLS[@]}; t++)); do
	tool_cmd "$t"
	"$BENCH_BIN/runstat" -- "${CMD[@]}" </dev/null >/dev/null 2>&1 &
	rpids+=($!)
	BENCH_PIDS+=($!)
done
sleep "$SETTLE"
spids=() helpers=()
for ((t = 0; t < ${#TOOLS[@]}; t++)); do
	r=${rpids[t]}
	sup=$(cut -d' ' -f1 "/proc/$r/task/$r/children" 2>/dev/null)
	if [ -z "$sup" ]; then
		echo "   ${TOOLS[t]}: supervisor already gone" >"$BENCH_TMP/s$t"
		continue
	fi
	# The supervisor and its own helper processes (children with its name,
	# e.g. ctxrun's watchdog), not its jobs.
	comm=$(cat "/proc/$sup/comm" 2>/dev/null)
	pargs=(-p "$sup")
	# shellcheck disable=SC2013 # the file is one line of pids
	for c in $(cat "/proc/$sup/task/$sup/children" 2>/dev/null); do
		[ "$(cat "/proc/$c/comm" 2>/dev/null)" = "$comm" ] && pargs+=(-p "$c")
	done
	helpers[t]=$(( ${#pargs[@]} / 2 - 1 ))
	timeout -s INT "$WINDOW" strace -f -c -o "$BENCH_TMP/s$t" "${pargs[@]}" 2>/dev/null &
	spids+=($!)
	BENCH_PIDS+=($!)
done
for p in "${spids[@]}" "${rpids[@]}"; do wait "$p" 2>/dev/null; done
BENCH_PIDS=()

header "(absolute count)"
for ((t = 0; t < ${#TOOLS[@]}; t++)); do
	n=$(awk '$NF == "total" { print $4 }' "$BENCH_TMP/s$t")
	[ -z "$n" ] && n=0
	top=$(awk '$NF != "total" && $NF ~ /^[a-z_0-9]+$/ && $4 ~ /^[0-9]+$/ { printf "%s%s %s", sep, $NF, $4; sep = ", " }' "$BENCH_TMP/s$t")
	h=${helpers[t]:-0}
	hn=; [ "$h" -gt 0 ] && hn="[+$h helper process traced] "
	row "${TOOLS[t]}" "$n" "$n" "$n" calls "-" "$hn${top:+($top)}"
	[ "${TOOLS[t]}" = "ctxrun -t 60s -- sleep" ] && c1=$n
	[ "${TOOLS[t]}" = "ctxrun -c 'sleep'" ] && c2=$n
done
target "ctxrun -- : no syscalls while its job sleeps" "$c1" eq 0
target "ctxrun -c: no syscalls while its job sleeps" "$c2" eq 0
