#!/usr/bin/env bash
# bench/containment.sh: what each tool leaves behind (issue 4, "Done when").
#
# The escape cases of the torture suite (tests/e2e/test_torture.c), run
# under GNU timeout, GNU parallel --halt now,fail=1, concurrently
# --kill-others-on-fail (only when already installed: nothing is fetched)
# and ctxrun. After the tool has exited (and a settle time), it counts:
#   survivors  live processes carrying the case's marker word in their
#              environment (BENCH_MARK=...), plus the case's escapee and
#              leader by pid (the noenv escapee clears its environment)
#   zombies    zombies whose parent is one of the run's live processes
#              (orphans re-parented to pid 1 are pid 1's to reap, and a
#              zombie has no environment left to tell whose it was)
# then kills every survivor by pid. A tool that does not exit within
# HANG_S seconds is reported as "hung", counted, then killed by pid.
#
# Usage: bash bench/containment.sh [> bench/CONTAINMENT.md]
# Environment: CTXRUN, TH (default build/ctxrun, build/th), HANG_S (10),
# SETTLE_S (2.5: longer than every grace, -g 1 and timeout -k 1, so a
# watchdog that outlives its tool is given the time to finish), TOOLS and
# KINDS (space-separated subsets).
# Prints a Markdown table on stdout.

set -u
set -m # background jobs get default SIGINT and groups of their own

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CTXRUN=${CTXRUN:-$ROOT/build/ctxrun}
TH=${TH:-$ROOT/build/th}
HANG_S=${HANG_S:-10}
SETTLE_S=${SETTLE_S:-2.5}
read -ra KINDS <<<"${KINDS:-tree holdout setsid daemon nohup ignterm noenv}"
TMP=$(mktemp -d /tmp/ctxrun-containment-XXXXXX)
trap 'rm -rf "$TMP"' EXIT

if [ ! -x "$CTXRUN" ] || [ ! -x "$TH" ]; then
	echo "containment.sh: build first: make build/ctxrun build/th" >&2
	exit 1
fi

CONCURRENTLY=
if command -v concurrently >/dev/null; then
	CONCURRENTLY=$(command -v concurrently)
elif [ -x "$ROOT/node_modules/.bin/concurrently" ]; then
	CONCURRENTLY=$ROOT/node_modules/.bin/concurrently
fi

# Pids of processes whose environment holds BENCH_MARK=MARK (one grep).
marked_pids() {
	grep -lzx "BENCH_MARK=$1" /proc/[0-9]*/environ 2>/dev/null |
		sed 's|^/proc/||; s|/environ$||' | grep -vx "$$"
}

# State letter and ppid of PID, or nothing when it is gone (no fork).
stat_of() {
	local s
	{ read -r s <"/proc/$1/stat"; } 2>/dev/null || return 1
	s=${s##*) }
	read -r -a f <<<"$s"
	echo "${f[0]} ${f[1]}"
}

# Command line for TOOL, KIND, END; the other job of a group waits for GO.
command_for() {
	local tool=$1 kind=$2 end=$3 go=$4 mode="stay"
	[ "$end" = leader-exit ] && mode="exit"
	local job="$TH contain $kind $mode 30000"
	local fail="$TH await $go 10000 3"
	case $tool/$end in
	timeout/timeout) echo "timeout -k 1 1 $job" ;;
	timeout/*) echo "timeout -k 1 60 $job" ;;
	parallel/fail-fast)
		echo "parallel --line-buffer --halt now,fail=1 ::: '$job' '$fail'" ;;
	parallel/*) echo "parallel --line-buffer --halt now,fail=1 ::: '$job'" ;;
	concurrently/fail-fast)
		echo "$CONCURRENTLY --kill-others-on-fail '$job' '$fail'" ;;
	concurrently/*) echo "$CONCURRENTLY --kill-others-on-fail '$job'" ;;
	ctxrun/timeout) echo "$CTXRUN -g 1 -t 1 -- $job" ;;
	ctxrun/fail-fast) echo "$CTXRUN -g 1 -c '$job' -c '$fail'" ;;
	ctxrun/*) echo "$CTXRUN -g 1 -- $job" ;;
	esac
}

# Run one case and print its table row.
run_case() {
	local tool=$1 kind=$2 end=$3
	local mark="ctxrun-bench-$$-$tool-$kind-$end"
	local out=$TMP/out go=$TMP/go cmd pid status=- i t0 t1 note=
	local -a pids=()
	rm -f "$out" "$go"
	cmd=$(command_for "$tool" "$kind" "$end" "$go")
	t0=$(date +%s.%N)
	BENCH_MARK=$mark bash -c "exec $cmd" >"$out" 2>&1 </dev/null &
	pid=$!
	for ((i = 0; i < 500; i++)); do
		grep -q 'ready ' "$out" 2>/dev/null && break
		sleep 0.02
	done
	local leader esc
	read -r leader esc < <(grep -o 'ready [0-9]* [0-9]*' "$out" | head -1 | cut -d' ' -f2-)
	case $end in
	sigint) kill -INT "$pid" ;;
	sigkill) kill -KILL "$pid" ;;
	leader-exit | fail-fast) : >"$go" ;;
	esac
	for ((i = 0; i < HANG_S * 20; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$pid" 2>/dev/null; then
		note="hung"
		pids+=("$pid")
	else
		wait "$pid"
		status=$?
	fi
	t1=$(date +%s.%N)
	sleep "$SETTLE_S"
	local p live=0 zombies=0 st
	local -A seen=()
	for p in $(marked_pids "$mark") ${leader:-} ${esc:-}; do
		[ -n "${seen[$p]:-}" ] && continue
		seen[$p]=1
		st=$(stat_of "$p") || continue
		[ "${st%% *}" = Z ] && continue
		live=$((live + 1))
		pids+=("$p")
	done
	# Zombies whose parent is one of the run's live processes.
	local f
	for f in /proc/[0-9]*; do
		st=$(stat_of "${f#/proc/}") || continue
		[ "${st%% *}" = Z ] || continue
		[ -n "${seen[${st#* }]:-}" ] && zombies=$((zombies + 1))
	done
	[ -z "${leader:-}" ] && note="${note:+$note, }no ready line"
	printf '| %s | %s | %s | %s | %s | %s | %.1f | %s |\n' "$tool" "$kind" \
		"$end" "$live" "$zombies" "$status" \
		"$(echo "$t1 - $t0" | bc)" "$note"
	for p in "${pids[@]+"${pids[@]}"}"; do
		kill -KILL "$p" 2>/dev/null
	done
	wait "$pid" 2>/dev/null
}

ends_of() {
	case $1 in
	timeout) echo "leader-exit timeout sigint sigkill" ;;
	parallel | concurrently) echo "leader-exit fail-fast sigint sigkill" ;;
	ctxrun) echo "leader-exit timeout fail-fast sigint sigkill" ;;
	esac
}

read -ra TOOLS <<<"${TOOLS:-timeout parallel concurrently ctxrun}"
if [ -z "$CONCURRENTLY" ]; then
	read -ra TOOLS <<<"${TOOLS[*]/concurrently/}"
fi

echo "| tool | escape | end of run | survivors | zombies | exit | seconds | note |"
echo "|---|---|---|---|---|---|---|---|"
for tool in "${TOOLS[@]}"; do
	for end in $(ends_of "$tool"); do
		for kind in "${KINDS[@]}"; do
			run_case "$tool" "$kind" "$end"
		done
	done
done
if [ -z "$CONCURRENTLY" ]; then
	echo
	echo "concurrently: not installed (no \`concurrently\` on PATH nor" \
		"node_modules/.bin/): skipped, nothing was fetched."
fi
