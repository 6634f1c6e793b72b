#!/usr/bin/env bash
# bench/run.sh: every benchmark of ctxrun against its peers, one after the
# other, each bounded in time. QUICK=1 runs small sizes (make bench-quick,
# about a minute); BENCHES="many-true scaling" runs a subset.
# Output: the report on stdout and in $BENCH_OUT/report.txt, each figure in
# $BENCH_OUT/results.tsv, a Markdown digest in $BENCH_OUT/summary.md.
. "$(dirname "$0")/lib.sh"

ALL="one-command-overhead spaced many-true sigint-100 fail-fast-100 escalation
timeout-overshoot prefixed-throughput live-throughput raw-throughput rss-1000 idle-syscalls scaling
service-ready remote-true"
BENCHES=${BENCHES:-$ALL}

# Time limit of each script, seconds (full run; QUICK=1 uses 60 for all).
limit_of() {
	[ "$QUICK" = 1 ] && { echo 60; return; }
	case $1 in
	many-true) echo 360 ;; scaling) echo 420 ;; sigint-100 | fail-fast-100) echo 240 ;;
	prefixed-throughput | rss-1000 | spaced) echo 240 ;; *) echo 150 ;;
	esac
}

build_probes
mkdir -p "$BENCH_OUT"
: >"$BENCH_OUT/results.tsv"
report=$BENCH_OUT/report.txt
start=$SECONDS
{
	echo "ctxrun benchmarks ($([ "$QUICK" = 1 ] && echo quick || echo full) run)"
	echo "date:     $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
	echo "machine:  $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)"
	echo "kernel:   $(uname -sr)"
	echo "ctxrun:   $CTXRUN ($("$CTXRUN" --version 2>&1 | head -1); git $(git -C "$ROOT" describe --always --dirty 2>/dev/null))"
	echo "peers:    $(timeout --version | head -1); $(make --version | head -1); $(xargs --version | head -1)"
	echo "          $(have parallel && parallel --version | head -1 || echo 'GNU parallel: not installed'); $(have_concurrently && echo "concurrently $($(concurrently_cmd) --version)" || echo 'concurrently: not installed')"
	echo "tools:    $(hyperfine --version); $(strace -V | head -1); /usr/bin/time (GNU time)"
} | tee "$report"

for b in $BENCHES; do
	lim=$(limit_of "$b")
	t0=$SECONDS
	timeout -k 10 "$lim" bash "$BENCH_DIR/$b.sh" 2>&1 | tee -a "$report"
	rc=${PIPESTATUS[0]}
	if [ "$rc" = 124 ]; then
		echo "   !! $b stopped after its time limit of ${lim} s" | tee -a "$report"
		printf '%s\tnote\t\t\t\t\t\t%s\n' "$b" "stopped after its time limit of ${lim} s" >>"$BENCH_OUT/results.tsv"
	elif [ "$rc" != 0 ]; then
		echo "   !! $b failed (exit $rc)" | tee -a "$report"
	fi
	echo "   ($b took $((SECONDS - t0)) s)" | tee -a "$report"
done
echo | tee -a "$report"
echo "all benchmarks took $((SECONDS - start)) s" | tee -a "$report"

# A Markdown digest of every figure and target.
digest_awk='
	function esc(s) { gsub(/\|/, "\\|", s); return s }
	function num(x,  a) {
		if (x !~ /^-?[0-9]+([.][0-9]*)?([eE][-+]?[0-9]+)?$/) return x
		a = x < 0 ? -x : x
		if (x == int(x)) return sprintf("%d", x)
		if (a >= 100) return sprintf("%.0f", x)
		if (a >= 10) return sprintf("%.1f", x)
		if (a >= 1) return sprintf("%.2f", x)
		return sprintf("%.3f", x)
	}'
{
	echo "| benchmark | tool / figure | median | min–max | unit | ratio | note |"
	echo "|---|---|---|---|---|---|---|"
	awk -F'\t' "$digest_awk"'
		$2 != "target" && $2 != "note" {
			printf "| %s | %s | %s | %s–%s | %s | %s | %s |\n", $1, esc($2), num($3), num($4),
				num($5), $6, $7, esc($8) }' "$BENCH_OUT/results.tsv"
	echo
	echo "| benchmark | target | value | verdict |"
	echo "|---|---|---|---|"
	awk -F'\t' "$digest_awk"'
		$2 == "target" { printf "| %s | %s | %s | %s |\n", $1, esc($8), num($3), $7 }' "$BENCH_OUT/results.tsv"
	echo
	awk -F'\t' '$2 == "note" { printf "- %s: %s\n", $1, $8 }' "$BENCH_OUT/results.tsv"
} >"$BENCH_OUT/summary.md"
echo "report: $report; digest: $BENCH_OUT/summary.md"
