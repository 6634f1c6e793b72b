#!/usr/bin/env bash
# raw-throughput: the same bytes as prefixed-throughput through ctxrun's
# `raw` output mode (-o raw), against GNU timeout (which does not touch the
# job's output at all). Target (issue 6): >= 0.95x timeout.
# Skipped, with a note, while ctxrun has no -o raw.
. "$(dirname "$0")/lib.sh"

SIZE_MIB=${SIZE_MIB:-$([ "$QUICK" = 1 ] && echo 32 || echo 1024)}
RUNS=${RUNS:-$([ "$QUICK" = 1 ] && echo 2 || echo 3)}

bench_init raw-throughput "${SIZE_MIB} MiB of 18-byte lines through raw output"
if ! "$CTXRUN" -q -o raw -c true >/dev/null 2>&1; then
	note "skipped: this ctxrun has no output mode 'raw' (-o raw); the grouped mode (-o grouped) is missing too"
	skipped_target "ctxrun -o raw >= 0.95x timeout" "no -o raw in this ctxrun"
	exit 0
fi
G=$BENCH_BIN/genlines
cmds=(
	"timeout 60 genlines | cat" "$(qcmd sh -c "timeout 60 $G ${SIZE_MIB}M | cat")"
	"ctxrun -o raw -c genlines | cat" "$(qcmd sh -c "$(printf '%q' "$CTXRUN") -q -o raw -c '$G ${SIZE_MIB}M' | cat")"
)
hf "$BENCH_TMP/a.json" "$RUNS" 1 "${cmds[@]}" || exit 1
mibs() {
	jq -r --arg n "$2" --argjson m "$3" '.results[] | select(.command == $n) |
		"\($m / .median) \($m / .max) \($m / .min)"' "$1"
}
read -r tmed _ _ < <(mibs "$BENCH_TMP/a.json" "${cmds[0]}" "$SIZE_MIB")
header "timeout"
for ((i = 0; i < ${#cmds[@]}; i += 2)); do
	read -r med mn mx < <(mibs "$BENCH_TMP/a.json" "${cmds[i]}" "$SIZE_MIB")
	row "${cmds[i]}" "$med" "$mn" "$mx" MiB/s "$(ratio "$med" "$tmed")"
	[ $i = 2 ] && cmed=$med
done
target "ctxrun -o raw >= 0.95x timeout" "$(ratio "$cmed" "$tmed")" ge 0.95
