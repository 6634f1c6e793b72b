#!/usr/bin/env bash
# prefixed-throughput: SIZE of 18-byte lines (bench/probes/genlines) from one
# job through ctxrun's prefixed output ("gen | line"), to /dev/null.
# Floor: the same bytes through one `cat` pipe. Peers: a sed prefixer,
# parallel --line-buffer --tagstring.
# Target (issue 6): ctxrun >= 0.7x the cat floor of the same run.
. "$(dirname "$0")/lib.sh"

SIZE_MIB=${SIZE_MIB:-$([ "$QUICK" = 1 ] && echo 32 || echo 1024)}
RUNS=${RUNS:-$([ "$QUICK" = 1 ] && echo 2 || echo 3)}
PSIZE_MIB=$((SIZE_MIB / 4)) # GNU parallel is slow: a quarter of the bytes

bench_init prefixed-throughput "${SIZE_MIB} MiB of 18-byte lines through prefixed output"
skip_missing_peers sed parallel concurrently
G=$BENCH_BIN/genlines

cmds=(
	"floor: genlines | cat" "$(qcmd sh -c "$G ${SIZE_MIB}M | cat")"
	"ctxrun -n gen -c genlines" "$(qcmd "$CTXRUN" -q -n gen -c "$G ${SIZE_MIB}M")"
)
have sed && cmds+=("sed prefixer: genlines | sed" "$(qcmd sh -c "$G ${SIZE_MIB}M | sed 's/^/gen | /'")")
have_concurrently && cmds+=("concurrently -n gen" "$(qcmd "$(concurrently_cmd)" -n gen "$G ${SIZE_MIB}M")")
hf "$BENCH_TMP/a.json" "$RUNS" 1 "${cmds[@]}" || exit 1
if have parallel; then
	note "parallel moves ${PSIZE_MIB} MiB (a quarter): its throughput, not its time, is compared"
	hf "$BENCH_TMP/p.json" "$RUNS" 0 "parallel --line-buffer --tagstring gen" \
		"$(qcmd parallel --will-cite --line-buffer --tagstring gen -N0 "$G" "${PSIZE_MIB}M" ::: 1)" || exit 1
fi

# MiB/s from seconds: median of the times gives the median throughput.
mibs() { # JSON NAME MIB -> "median min max" in MiB/s (min from the slowest run)
	jq -r --arg n "$2" --argjson m "$3" '.results[] | select(.command == $n) |
		"\($m / .median) \($m / .max) \($m / .min)"' "$1"
}
read -r fmed _ _ < <(mibs "$BENCH_TMP/a.json" "floor: genlines | cat" "$SIZE_MIB")
header "cat floor"
for ((i = 0; i < ${#cmds[@]}; i += 2)); do
	read -r med mn mx < <(mibs "$BENCH_TMP/a.json" "${cmds[i]}" "$SIZE_MIB")
	row "${cmds[i]}" "$med" "$mn" "$mx" MiB/s "$(ratio "$med" "$fmed")"
	[ $i = 2 ] && cmed=$med
done
if have parallel; then
	read -r med mn mx < <(mibs "$BENCH_TMP/p.json" "parallel --line-buffer --tagstring gen" "$PSIZE_MIB")
	row "parallel --line-buffer --tagstring gen" "$med" "$mn" "$mx" MiB/s "$(ratio "$med" "$fmed")" "(${PSIZE_MIB} MiB)"
fi
target "ctxrun prefixed >= 0.7x the cat floor" "$(ratio "$cmed" "$fmed")" ge 0.7
