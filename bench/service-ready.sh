#!/usr/bin/env bash
# service-ready: from a service's readiness to its dependent's start
# (issue 15; issue 18, point 4). The service (probe svcstamp) stamps
# CLOCK_MONOTONIC just before it becomes ready: before it sends READY=1
# (notify), before it prints "ready" (log:), right after listen() (tcp:,
# polled every 1 ms, so up to 1 ms of the figure is the wait for the next
# attempt); the dependent stamps the same clock first thing. The figure is
# the difference: ctxrun hearing the probe succeed, the ready event,
# scheduling, the spawn (into a cgroup by default) and the exec.
# Floor: readyfloor, the same service and dependent under a supervisor
# that does nothing else (blocking recv, a pipe read, a connect loop, then
# posix_spawn). Rounds interleave the floor and ctxrun, order alternating.
# Target (issue 15): median <= 5 ms past the probe's success.
. "$(dirname "$0")/lib.sh"

ROUNDS=${ROUNDS:-$([ "$QUICK" = 1 ] && echo 5 || echo 20)}
KINDS=${KINDS:-notify log tcp}

bench_init service-ready "a service's readiness to its dependent's start, $ROUNDS interleaved rounds"

SVC=$BENCH_BIN/svcstamp
T0=$BENCH_TMP/t0
T1=$BENCH_TMP/t1

# A loopback port free now (the kernel's choice); the service binds it next.
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# ini KIND PORT: the pipeline of one service of KIND and its dependent.
ini() {
	local cmd probe
	case $1 in
	notify) cmd="$SVC notify $T0" probe=notify ;;
	log) cmd="$SVC log $T0" probe='log:^ready$' ;;
	tcp) cmd="$SVC listen $2 $T0" probe="tcp:127.0.0.1:$2" ;;
	esac
	printf '[job:svc]\ncommand = %s\nservice = true\nready = %s\nready_interval = 1ms\n' "$cmd" "$probe"
	printf '[job:dep]\ncommand = %s stamp %s\nneeds = svc\n' "$SVC" "$T1"
}

# one TOOL KIND: one run; prints the latency in ms, or "never".
one() {
	local port=0 rc
	rm -f "$T0" "$T1"
	[ "$2" = tcp ] && port=$(free_port)
	case $1 in
	floor)
		if [ "$2" = tcp ]; then
			timeout 20 "$BENCH_BIN/readyfloor" tcp "$port" 1 "$SVC" "$T0" "$T1"
		else
			timeout 20 "$BENCH_BIN/readyfloor" "$2" "$SVC" "$T0" "$T1"
		fi
		;;
	ctxrun) ini "$2" "$port" >"$BENCH_TMP/p.ini"
		timeout 20 "$CTXRUN" -q -f "$BENCH_TMP/p.ini" >/dev/null 2>&1 ;;
	ctxrun-off) ini "$2" "$port" >"$BENCH_TMP/p.ini"
		timeout 20 "$CTXRUN" -q --cgroup off -f "$BENCH_TMP/p.ini" >/dev/null 2>&1 ;;
	esac
	rc=$?
	if [ "$rc" != 0 ] || [ ! -s "$T0" ] || [ ! -s "$T1" ]; then
		echo never
		return
	fi
	awk -v a="$(cat "$T0")" -v b="$(cat "$T1")" 'BEGIN { printf "%.3f\n", (b - a) / 1e6 }'
}

TOOLS_HERE=(floor ctxrun-off ctxrun)
for kind in $KINDS; do
	for t in "${TOOLS_HERE[@]}"; do : >"$BENCH_TMP/$kind.$t"; done
	for ((r = 0; r < ROUNDS; r++)); do
		for ((k = 0; k < ${#TOOLS_HERE[@]}; k++)); do
			i=$((r % 2 ? ${#TOOLS_HERE[@]} - 1 - k : k))
			t=${TOOLS_HERE[i]}
			one "$t" "$kind" >>"$BENCH_TMP/$kind.$t"
		done
	done
done

header "floor"
for kind in $KINDS; do
	read -r fmed _ _ < <(stats <"$BENCH_TMP/$kind.floor")
	for t in "${TOOLS_HERE[@]}"; do
		read -r med mn mx < <(stats <"$BENCH_TMP/$kind.$t")
		case $t in
		floor) label="floor ($kind): readyfloor" ;;
		ctxrun-off) label="ctxrun --cgroup off, ready = $kind" ;;
		ctxrun) label="ctxrun, ready = $kind" ;;
		esac
		row "$label" "$med" "$mn" "$mx" ms "$(ratio "$med" "$fmed")" \
			"(ready to dependent started, $ROUNDS runs$(over_floor "$med" "$fmed"))"
		[ "$t" = ctxrun ] && target "ready = $kind: dependent started <= 5 ms after the probe's success" "$med" le 5
	done
done
