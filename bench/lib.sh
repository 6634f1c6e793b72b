# shellcheck shell=bash
# bench/lib.sh: what every benchmark script shares. Sourced, never run.
#
# Environment:
#   CTXRUN     the binary under test (default: build/ctxrun, else ./ctxrun)
#   BENCH_BIN  where the probes are built (default: build/bench; built here
#              with cc when missing, so a script also runs on its own)
#   BENCH_OUT  where results go (default: build/bench/out); each script
#              appends tab-separated rows to $BENCH_OUT/results.tsv
#   QUICK=1    small sizes, few repetitions (make bench-quick)
#
# Every script prints, per tool: the median, min–max and the ratio to the
# benchmark's floor or reference, then the issue's target and whether it is
# met. Medians come from hyperfine --export-json, or from our probes'
# repetitions.

set -u

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
QUICK=${QUICK:-0}
BENCH_BIN=${BENCH_BIN:-$ROOT/build/bench}
BENCH_OUT=${BENCH_OUT:-$ROOT/build/bench/out}
if [ -z "${CTXRUN:-}" ]; then
	if [ -x "$ROOT/build/ctxrun" ]; then CTXRUN=$ROOT/build/ctxrun; else CTXRUN=$ROOT/ctxrun; fi
fi
case $CTXRUN in /*) ;; *) CTXRUN=$PWD/$CTXRUN ;; esac
case $BENCH_BIN in /*) ;; *) BENCH_BIN=$PWD/$BENCH_BIN ;; esac
case $BENCH_OUT in /*) ;; *) BENCH_OUT=$PWD/$BENCH_OUT ;; esac
# Under `make bench`, the peer `make` must not join our make's jobserver.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES
export CTXRUN BENCH_BIN BENCH_OUT QUICK

# Build any probe that is missing or older than its source.
build_probes() {
	mkdir -p "$BENCH_BIN"
	for src in "$BENCH_DIR"/probes/*.c; do
		name=$(basename "$src" .c)
		if [ ! -x "$BENCH_BIN/$name" ] || [ "$src" -nt "$BENCH_BIN/$name" ] ||
			[ "$BENCH_DIR/probes/common.h" -nt "$BENCH_BIN/$name" ]; then
			${CC:-cc} -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror \
				-o "$BENCH_BIN/$name" "$src" || exit 1
		fi
	done
}

BENCH_NAME=
BENCH_TMP=
BENCH_PIDS=()

# Kill what this script started (by PID: probes that take their own
# descendants down on SIGTERM), then remove its scratch directory.
bench_cleanup() {
	local pid
	for pid in "${BENCH_PIDS[@]+"${BENCH_PIDS[@]}"}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${BENCH_PIDS[@]+"${BENCH_PIDS[@]}"}"; do
		wait "$pid" 2>/dev/null
	done
	BENCH_PIDS=()
	[ -n "$BENCH_TMP" ] && rm -rf "$BENCH_TMP"
	BENCH_TMP=
}

# cpu_busy: percent of both cores busy over half a second (/proc/stat;
# 0.2 s with QUICK=1).
cpu_busy() {
	local a b
	a=$(head -1 /proc/stat)
	sleep "$([ "$QUICK" = 1 ] && echo 0.2 || echo 0.5)"
	b=$(head -1 /proc/stat)
	printf '%s\n%s\n' "$a" "$b" | awk '
		{ idle = $5 + $6; total = 0; for (i = 2; i <= NF; i++) total += $i
		  if (NR == 1) { i0 = idle; t0 = total } else { i1 = idle; t1 = total } }
		END { dt = t1 - t0; if (dt <= 0) { print 0; exit }
		      printf "%d\n", 100 * (1 - (i1 - i0) / dt) }'
}

# wait_quiet: other work on the machine skews every figure. Wait (up to
# QUIET_MAX seconds: 20 by default, 0 with QUICK=1) until less than
# QUIET_PCT (25) percent of the CPU is busy, and say how busy it was.
wait_quiet() {
	local max=${QUIET_MAX:-$([ "$QUICK" = 1 ] && echo 0 || echo 20)}
	local pct=${QUIET_PCT:-25} start=$SECONDS busy
	busy=$(cpu_busy)
	while [ "$busy" -ge "$pct" ] && [ $((SECONDS - start)) -lt "$max" ]; do
		sleep 2
		busy=$(cpu_busy)
	done
	BENCH_BUSY=$busy
	if [ "$busy" -ge "$pct" ]; then
		note "machine busy before this benchmark: ${busy}% CPU used by other work; figures are skewed"
	fi
}

# bench_init NAME TITLE: header, scratch dir, traps.
bench_init() {
	BENCH_NAME=$1
	build_probes
	if [ ! -x "$CTXRUN" ]; then
		echo "bench: $CTXRUN not built (run make)" >&2
		exit 1
	fi
	mkdir -p "$BENCH_OUT"
	BENCH_TMP=$(mktemp -d "${TMPDIR:-/tmp}/ctxrun-bench.XXXXXX")
	trap bench_cleanup EXIT
	trap 'bench_cleanup; trap - INT; kill -INT $$' INT
	trap 'bench_cleanup; exit 143' TERM
	echo
	echo "== $BENCH_NAME: $2 =="
	wait_quiet
	echo "   (CPU busy before: ${BENCH_BUSY}%; load average: $(cut -d' ' -f1-3 /proc/loadavg); QUICK=$QUICK)"
}

have() { command -v "$1" >/dev/null 2>&1; }

# note TEXT: a line of the report, kept in the results too.
note() {
	echo "   note: $*"
	printf '%s\tnote\t\t\t\t\t\t%s\n' "$BENCH_NAME" "$*" >>"$BENCH_OUT/results.tsv"
}

# Peers: concurrently only when already installed (no network fetch here).
have_concurrently() {
	have concurrently || [ -x "$ROOT/node_modules/.bin/concurrently" ]
}
concurrently_cmd() {
	if have concurrently; then echo concurrently; else echo "$ROOT/node_modules/.bin/concurrently"; fi
}
skip_missing_peers() {
	local p
	for p in "$@"; do
		case $p in
		concurrently) have_concurrently || note "peer concurrently skipped: not installed (npx would fetch it from the network; install it with npm to include it)" ;;
		*) have "$p" || note "peer $p skipped: not installed" ;;
		esac
	done
}

# stats < numbers: "median min max" (numbers one per line; "never" sorts last).
stats() {
	awk '
		$1 == "never" { never++; next }
		{ v[n++] = $1 }
		END {
			total = n + never
			if (total == 0) { print "- - -"; exit }
			# sort the finite values
			for (i = 1; i < n; i++) { x = v[i]; j = i - 1
				while (j >= 0 && v[j] > x) { v[j + 1] = v[j]; j-- }
				v[j + 1] = x }
			mid = int((total - 1) / 2)
			if (total % 2 == 1) {
				med = (mid < n) ? v[mid] : "never"
			} else if (mid + 1 < n) {
				med = (v[mid] + v[mid + 1]) / 2
			} else {
				med = "never"
			}
			mn = (n > 0) ? v[0] : "never"
			mx = (never > 0) ? "never" : v[n - 1]
			print med, mn, mx
		}'
}

# fmt VALUE: a number with 3 significant digits' worth of decimals.
fmt() {
	awk -v x="$1" 'BEGIN {
		if (x == "never" || x == "-" || x == "") { print x; exit }
		a = x < 0 ? -x : x
		if (x == int(x) && a < 1e9) printf "%d\n", x
		else if (a >= 100) printf "%.0f\n", x
		else if (a >= 10) printf "%.1f\n", x
		else if (a >= 1) printf "%.2f\n", x
		else printf "%.3f\n", x
	}'
}

# ratio A B: A/B with two decimals, "-" when either is not a number.
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		num = "^-?[0-9]+([.][0-9]*)?([eE][-+]?[0-9]+)?$"
		if (a !~ num || b !~ num || b + 0 == 0) { print "-"; exit }
		printf "%.2f\n", a / b
	}'
}

# row TOOL MEDIAN MIN MAX UNIT RATIO [NOTE]: one line of the table.
row() {
	local tool=$1 med=$2 mn=$3 mx=$4 unit=$5 r=$6 extra=${7:-}
	local rr=$r u=$unit
	[ "$r" != "-" ] && rr="${r}x"
	case $med in never | -) u= ;; esac
	printf '   %-44s %10s %-6s (%s–%s) %8s  %s\n' "$tool" "$(fmt "$med")" "$u" \
		"$(fmt "$mn")" "$(fmt "$mx")" "$rr" "$extra"
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$BENCH_NAME" "$tool" "$med" "$mn" "$mx" \
		"$unit" "$r" "$extra" >>"$BENCH_OUT/results.tsv"
}

# header REFERENCE_LABEL: column titles.
header() {
	printf '   %-44s %10s %-6s %s %8s\n' "tool" "median" "" "(min–max)" "ratio to $1"
}

# target TEXT VALUE OP LIMIT: print and record whether VALUE OP LIMIT holds
# (OP is le, ge, lt or eq). VALUE "never" or "-" is not met.
target() {
	local text=$1 value=$2 op=$3 limit=$4 verdict
	verdict=$(awk -v v="$value" -v op="$op" -v l="$limit" 'BEGIN {
		if (v !~ "^-?[0-9]+([.][0-9]*)?([eE][-+]?[0-9]+)?$") { print "NOT MET"; exit }
		ok = (op == "le" && v + 0 <= l + 0) || (op == "ge" && v + 0 >= l + 0) ||
		     (op == "lt" && v + 0 < l + 0) || (op == "eq" && v + 0 == l + 0)
		print ok ? "MET" : "NOT MET"
	}')
	printf '   target: %s -> %s (%s)\n' "$text" "$verdict" "$(fmt "$value")"
	printf '%s\ttarget\t%s\t\t\t\t%s\t%s\n' "$BENCH_NAME" "$value" "$verdict" "$text" \
		>>"$BENCH_OUT/results.tsv"
}

# skipped_target TEXT WHY: a target that could not be measured.
skipped_target() {
	printf '   target: %s -> SKIPPED (%s)\n' "$1" "$2"
	printf '%s\ttarget\t-\t\t\t\tSKIPPED\t%s\n' "$BENCH_NAME" "$1" >>"$BENCH_OUT/results.tsv"
}

# hf OUT.json RUNS WARMUP NAME CMD [NAME CMD...]: hyperfine, no shell (-N),
# failures allowed (-i), results in OUT.json.
hf() {
	local json=$1 runs=$2 warm=$3
	shift 3
	local args=()
	while [ $# -gt 0 ]; do
		args+=(-n "$1" "$2")
		shift 2
	done
	hyperfine -N -i --style none --runs "$runs" --warmup "$warm" \
		--export-json "$json" "${args[@]}" >/dev/null 2>"$json.err" ||
		{ echo "   hyperfine failed:"; sed 's/^/     /' "$json.err"; return 1; }
}

# hf_rounds OUT ROUNDS WARMUP NAME CMD [NAME CMD...]: the commands
# interleaved, for comparisons that a change of load on the machine would
# skew: ROUNDS calls of hyperfine (no shell, failures allowed), each one run
# of every command, in the given order in even rounds and reversed in odd
# ones (A B, B A, A B...); the first call adds WARMUP unmeasured runs of
# each. OUT gets one line per run: "ROUND NAME SECONDS" (NAME without spaces).
# With HF_PREPARE set, hyperfine runs that command (untimed) before each run.
hf_rounds() {
	local out=$1 rounds=$2 warm=$3 r k i n
	shift 3
	local -a cmds=("$@") args
	n=$((${#cmds[@]} / 2))
	: >"$out"
	for ((r = 0; r < rounds; r++)); do
		args=()
		[ -n "${HF_PREPARE:-}" ] && args+=(--prepare "$HF_PREPARE")
		for ((k = 0; k < n; k++)); do
			i=$((r % 2 ? n - 1 - k : k))
			args+=(-n "${cmds[2 * i]}" "${cmds[2 * i + 1]}")
		done
		hyperfine -N -i --style none --runs 1 --warmup "$((r ? 0 : warm))" \
			--export-json "$out.json" "${args[@]}" >/dev/null 2>"$out.err" ||
			{ echo "   hyperfine failed:"; sed 's/^/     /' "$out.err"; return 1; }
		jq -r --argjson r "$r" '.results[] | "\($r) \(.command) \(.times[0])"' "$out.json" >>"$out"
	done
}

# rounds_mibs OUT NAME MIB: NAME's throughputs in MiB/s, one per run.
rounds_mibs() {
	awk -v n="$2" -v m="$3" '$2 == n && $3 > 0 { print m / $3 }' "$1"
}

# rounds_ms OUT NAME: NAME's times in ms, one per run.
rounds_ms() {
	awk -v n="$2" '$2 == n { print $3 * 1000 }' "$1"
}

# rounds_ratio OUT A B: per round, A's time over B's (B's throughput over
# A's, the same bytes), one per line.
rounds_ratio() {
	awk -v a="$2" -v b="$3" '
		$2 == a { ta[$1] = $3 } $2 == b { tb[$1] = $3 }
		END { for (r in ta) if ((r in tb) && tb[r] > 0) print ta[r] / tb[r] }' "$1"
}

# paired_rows OUT REF REF_LABEL CTX_LABEL MIB HEADER: the header, then
# the throughput rows of REF and of ctxrun from interleaved rounds (OUT of
# hf_rounds) and the median of their per-round ratios. Sets REF_MIBS (REF's
# median throughput) and PAIRED_RATIO (ctxrun's over REF's, per round).
# shellcheck disable=SC2153 # ROUNDS: set by the calling script
paired_rows() {
	local out=$1 ref=$2 mib=$5 med mn mx
	read -r REF_MIBS _ _ < <(rounds_mibs "$out" "$ref" "$mib" | stats)
	header "$6"
	read -r med mn mx < <(rounds_mibs "$out" "$ref" "$mib" | stats)
	row "$3" "$med" "$mn" "$mx" MiB/s "$(ratio "$med" "$REF_MIBS")" "($ROUNDS runs)"
	read -r med mn mx < <(rounds_mibs "$out" ctxrun "$mib" | stats)
	row "$4" "$med" "$mn" "$mx" MiB/s "$(ratio "$med" "$REF_MIBS")" "($ROUNDS runs; ratio of the medians)"
	read -r PAIRED_RATIO mn mx < <(rounds_ratio "$out" "$ref" ctxrun | stats)
	row "ctxrun / $ref, per round" "$PAIRED_RATIO" "$mn" "$mx" x "-" "(median of $ROUNDS paired ratios)"
}

# pinned_rounds OUT REF REF_CMD CTX_CMD: hf_rounds of REF_CMD (named REF)
# and CTX_CMD (named ctxrun), both pinned to CPU 0 (taskset): a floor at
# its best, where a wake-up on the other CPU of a VM is dear. Nothing
# without taskset.
# shellcheck disable=SC2153 # ROUNDS, WARM: set by the calling script
pinned_rounds() {
	have taskset || return 0
	hf_rounds "$1" "$ROUNDS" "$WARM" "$2" "taskset -c 0 $3" ctxrun "taskset -c 0 $4"
}

# pinned_target OUT REF REF_LABEL CTX_LABEL MIB TEXT LIMIT: the rows of
# pinned_rounds' OUT and the target TEXT: ctxrun >= LIMIT x REF, per round.
pinned_target() {
	if ! have taskset; then
		skipped_target "pinned to one CPU: $6" "taskset is not installed"
		return
	fi
	paired_rows "$1" "$2" "one CPU: $3" "one CPU: $4" "$5" "$2 on one CPU"
	target "pinned to one CPU: $6" "$PAIRED_RATIO" ge "$7"
}

# hf_stat OUT.json NAME [SCALE] [OFFSET_MS]: "median min max" of NAME in ms
# (times SCALE, minus OFFSET_MS).
hf_stat() {
	local scale=${3:-1} off=${4:-0}
	jq -r --arg n "$2" --argjson s "$scale" --argjson o "$off" \
		'.results[] | select(.command == $n) |
		 "\(.median * 1000 * $s - $o) \(.min * 1000 * $s - $o) \(.max * 1000 * $s - $o)"' "$1"
}

# field KEY < "k=v k=v" lines: the values of KEY, one per line.
field() {
	awk -v k="$1" '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) print kv[2] } }'
}

# Generated inputs.
# make_targets FILE N RECIPE: a Makefile with N independent targets.
make_targets() {
	local f=$1 n=$2 recipe=$3 i
	{
		printf 'all:'
		for i in $(seq "$n"); do printf ' t%d' "$i"; done
		printf '\n'
		for i in $(seq "$n"); do printf 't%d:\n\t@%s\n' "$i" "$recipe"; done
	} >"$f"
}

# ctx_args N CMD: fill the array CTX_ARGS with N times -c CMD.
ctx_args() {
	local i
	CTX_ARGS=()
	for ((i = 0; i < $1; i++)); do CTX_ARGS+=(-c "$2"); done
}

# rep_args N WORD: fill the array REP_ARGS with N times WORD (concurrently).
rep_args() {
	local i
	REP_ARGS=()
	for ((i = 0; i < $1; i++)); do REP_ARGS+=("$2"); done
}

# ctx_names N: a -n list naming N jobs j1..jN.
ctx_names() {
	local i s=j1
	for ((i = 2; i <= $1; i++)); do s="$s,j$i"; done
	echo "$s"
}

# A benchmark's tools: add_tool LABEL CMD ARGS... appends LABEL to TOOLS and
# keeps the command line in the array TOOL_CMD_<index>; tool_cmd I copies
# tool I's command line into the array CMD.
TOOLS=()
CMD=()
add_tool() {
	local -n _add_ref="TOOL_CMD_${#TOOLS[@]}"
	TOOLS+=("$1")
	shift
	_add_ref=("$@")
}
tool_cmd() {
	local -n _cmd_ref="TOOL_CMD_$1"
	# shellcheck disable=SC2034 # CMD is what the scripts run
	CMD=("${_cmd_ref[@]}")
}

# first_word LIST, last_word LIST: the ends of a space-separated list.
# shellcheck disable=SC2086 # split on purpose
first_word() { set -- $1; echo "$1"; }
last_word() { local w; for w in $1; do :; done; echo "$w"; }

# Quote an array as one hyperfine command line.
qcmd() {
	local out='' a
	for a in "$@"; do out="$out $(printf '%q' "$a")"; done
	echo "${out# }"
}

# reps FILE REPS CMD...: run a probe REPS times, its lines into FILE; stop
# early once a repetition says "never" (nothing more to learn, and the
# waits add up). Errors of the probe are shown and count as no result.
reps() {
	local file=$1 n=$2 k out
	shift 2
	: >"$file"
	for ((k = 0; k < n; k++)); do
		out=$("$@" </dev/null 2>"$file.err")
		case $out in
		error=*)
			echo "   probe error: $out"
			break
			;;
		esac
		echo "$out" >>"$file"
		case $out in *never*) break ;; esac
	done
}

# reps_rounds PREFIX REPS PROBE...: REPS rounds over the tools of TOOLS,
# one repetition of each tool per round, in order (interleaved: a change of
# load on the machine hits every tool alike, the floor included). Each runs
# as PROBE... -- the tool's command; tool T's lines go to PREFIX$T. A tool is
# not run again after a "never" (nothing more to learn, and the waits add up)
# or a probe error (shown, and no result).
reps_rounds() {
	local prefix=$1 n=$2 k t out
	local -a stopped=()
	shift 2
	for ((t = 0; t < ${#TOOLS[@]}; t++)); do : >"$prefix$t"; done
	for ((k = 0; k < n; k++)); do
		for ((t = 0; t < ${#TOOLS[@]}; t++)); do
			[ -n "${stopped[t]:-}" ] && continue
			tool_cmd "$t"
			out=$("$@" -- "${CMD[@]}" </dev/null 2>"$prefix$t.err")
			case $out in
			error=*)
				echo "   probe error (${TOOLS[t]}): $out"
				stopped[t]=1
				continue
				;;
			esac
			echo "$out" >>"$prefix$t"
			case $out in *never*) stopped[t]=1 ;; esac
		done
	done
}

# minus A B: A - B; "never" when A is, "-" when either is not a number.
minus() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		num = "^-?[0-9]+([.][0-9]*)?([eE][-+]?[0-9]+)?$"
		if (a == "never") { print "never"; exit }
		if (a !~ num || b !~ num) { print "-"; exit }
		print a - b
	}'
}

# over_floor A FLOOR: "; +X ms over the floor" (empty when not a number).
over_floor() {
	local d
	d=$(minus "$1" "$2")
	case $d in never | -) ;; *) printf '; %+g ms over the floor' "$(fmt "$d")" ;; esac
}

# stat_of FILE KEY: "median min max" of KEY over FILE's lines.
stat_of() {
	field "$2" <"$1" | stats
}

# reps_done FILE: how many repetitions gave a result.
reps_done() {
	wc -l <"$1" | tr -d ' '
}
