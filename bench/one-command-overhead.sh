#!/usr/bin/env bash
# one-command-overhead: start, supervise and reap one `true`.
# Floor: `true` exec'd by hyperfine itself. Reference: GNU timeout.
# Target (issue 6): ctxrun -- true <= 1.2x `timeout 10 true`.
. "$(dirname "$0")/lib.sh"

RUNS=${RUNS:-$([ "$QUICK" = 1 ] && echo 40 || echo 300)}
WARM=$([ "$QUICK" = 1 ] && echo 5 || echo 30)

bench_init one-command-overhead "one command: true, $RUNS runs each"
skip_missing_peers timeout

cmds=(
	"floor: true" "true"
	"timeout 10 true" "timeout 10 true"
	"ctxrun -- true" "$(qcmd "$CTXRUN" -- true)"
	"ctxrun -t 10s -- true" "$(qcmd "$CTXRUN" -t 10s -- true)"
)
hf "$BENCH_TMP/a.json" "$RUNS" "$WARM" "${cmds[@]}" || exit 1

read -r tmed _ _ < <(hf_stat "$BENCH_TMP/a.json" "timeout 10 true")
read -r fmed _ _ < <(hf_stat "$BENCH_TMP/a.json" "floor: true")
header "timeout"
for ((i = 0; i < ${#cmds[@]}; i += 2)); do
	read -r med mn mx < <(hf_stat "$BENCH_TMP/a.json" "${cmds[i]}")
	row "${cmds[i]}" "$med" "$mn" "$mx" ms "$(ratio "$med" "$tmed")" \
		"(+$(fmt "$(awk -v a="$med" -v b="$fmed" 'BEGIN { print a - b }')") ms over the floor)"
	case ${cmds[i]} in "ctxrun -t 10s -- true") cmed=$med ;; esac
done
target "ctxrun -t 10s -- true <= 1.2x timeout 10 true" "$(ratio "$cmed" "$tmed")" le 1.2
