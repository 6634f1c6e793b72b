#!/usr/bin/env bash
# many-true: N × `true`, 2 at a time, via -c.
# Floor: bench/probes/spawnfloor, posix_spawn + wait and nothing else, with
# one /bin/sh per job (and, as the "no shell" floor, true exec'd directly).
# Targets (issue 6): ctxrun wall <= 1.10x the sh floor; <= 0.10 ms of
# ctxrun's own CPU per job; below the sh floor (direct exec, as make does).
. "$(dirname "$0")/lib.sh"

N=${N:-$([ "$QUICK" = 1 ] && echo 30 || echo 1000)}
J=2
RUNS=${RUNS:-$([ "$QUICK" = 1 ] && echo 2 || echo 3)}
WARM=0 # 1000 process creations warm everything up within the first run
PRUNS=1 # GNU parallel takes ~35 ms a job here: one run
CPU_REPS=$([ "$QUICK" = 1 ] && echo 1 || echo 2)

bench_init many-true "$N x true, $J at a time"
skip_missing_peers make xargs parallel concurrently
note "ctxrun runs with -q (no lifecycle lines), as make runs with -s"

seq "$N" >"$BENCH_TMP/in"
make_targets "$BENCH_TMP/mk" "$N" true
ctx_args "$N" true
names=$(ctx_names "$N")
J_ARGS=(-q -j "$J")

cmds=(
	"floor: sh per job (spawnfloor)" "$(qcmd "$BENCH_BIN/spawnfloor" -j "$J" -n "$N" -c true)"
	"floor: no shell (spawnfloor -x)" "$(qcmd "$BENCH_BIN/spawnfloor" -j "$J" -n "$N" -x true)"
	"ctxrun -c (default names)" "$(qcmd "$CTXRUN" "${J_ARGS[@]}" "${CTX_ARGS[@]}")"
	"ctxrun -c -n j1,j2,..." "$(qcmd "$CTXRUN" "${J_ARGS[@]}" -n "$names" "${CTX_ARGS[@]}")"
)
have make && cmds+=("make -j$J" "$(qcmd make -s -j "$J" -f "$BENCH_TMP/mk")")
have xargs && cmds+=("xargs -P$J (sh -c per job)" "$(qcmd xargs -a "$BENCH_TMP/in" -P "$J" -n 1 sh -c true)")
if have_concurrently; then
	rep_args "$N" true
	cmds+=("concurrently -m $J" "$(qcmd "$(concurrently_cmd)" -m "$J" "${REP_ARGS[@]}")")
fi

hf "$BENCH_TMP/a.json" "$RUNS" "$WARM" "${cmds[@]}" || exit 1
if have parallel; then
	hf "$BENCH_TMP/p.json" "$PRUNS" 0 "parallel -j$J" \
		"$(qcmd parallel --will-cite -j "$J" -N0 true :::: "$BENCH_TMP/in")" || exit 1
fi

read -r fmed _ _ < <(hf_stat "$BENCH_TMP/a.json" "floor: sh per job (spawnfloor)")
header "sh floor"
for ((i = 0; i < ${#cmds[@]}; i += 2)); do
	read -r med mn mx < <(hf_stat "$BENCH_TMP/a.json" "${cmds[i]}")
	row "${cmds[i]}" "$med" "$mn" "$mx" ms "$(ratio "$med" "$fmed")"
	case ${cmds[i]} in "ctxrun -c (default names)") ctx_med=$med ;; esac
done
if have parallel; then
	read -r med mn mx < <(hf_stat "$BENCH_TMP/p.json" "parallel -j$J")
	row "parallel -j$J" "$med" "$mn" "$mx" ms "$(ratio "$med" "$fmed")" "($PRUNS runs)"
fi

# Own CPU of each supervisor process alone, children excluded (runstat):
# what it costs itself per job, next to the bare posix_spawn loop's. Their
# stderr (ctxrun's summary lines) goes to a file, not into the report.
add_tool "floor: sh per job (spawnfloor)" "$BENCH_BIN/spawnfloor" -j "$J" -n "$N" -c true
add_tool "ctxrun -c (default names)" "$CTXRUN" "${J_ARGS[@]}" "${CTX_ARGS[@]}"
add_tool "ctxrun -c -n j1,j2,..." "$CTXRUN" "${J_ARGS[@]}" -n "$names" "${CTX_ARGS[@]}"
have make && add_tool "make -j$J" make -s -j "$J" -f "$BENCH_TMP/mk"
have xargs && add_tool "xargs -P$J (sh -c per job)" xargs -a "$BENCH_TMP/in" -P "$J" -n 1 sh -c true
for ((t = 0; t < ${#TOOLS[@]}; t++)); do
	tool_cmd "$t"
	: >"$BENCH_TMP/cpu$t"
	for ((k = 0; k < CPU_REPS; k++)); do
		"$BENCH_BIN/runstat" -- "${CMD[@]}" </dev/null 2>>"$BENCH_TMP/stderr" |
			field cpu_ms | awk -v n="$N" '{ print $1 * 1000 / n }' >>"$BENCH_TMP/cpu$t"
	done
done
read -r fcpu _ _ < <(stats <"$BENCH_TMP/cpu0")
for ((t = 0; t < ${#TOOLS[@]}; t++)); do
	read -r med mn mx < <(stats <"$BENCH_TMP/cpu$t")
	row "own CPU per job: ${TOOLS[t]}" "$med" "$mn" "$mx" us "$(ratio "$med" "$fcpu")" "(ratio to the floor's own CPU; $CPU_REPS runs)"
	[ $t = 1 ] && cpu_med=$med
done

target "ctxrun wall <= 1.10x the sh floor" "$(ratio "$ctx_med" "$fmed")" le 1.10
target "ctxrun own CPU <= 100 us per job" "$cpu_med" le 100
target "ratio form (issue: 0.10 ms vs a 0.434 ms sh-floor job): own CPU per job <= 0.23x the sh floor's wall per job" \
	"$(awk -v c="$cpu_med" -v f="$fmed" -v n="$N" 'BEGIN { printf "%.3f\n", c / (f * 1000 / n) }')" le 0.23
target "ctxrun wall below the sh floor (direct exec without shell syntax)" \
	"$(ratio "$ctx_med" "$fmed")" lt 1.00
