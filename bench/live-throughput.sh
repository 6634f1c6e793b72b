#!/usr/bin/env bash
# live-throughput: what the live status region (--progress tty) costs
# prefixed output: SIZE of 18-byte lines (bench/probes/genlines) from one
# job, to /dev/null, with the region on (--progress tty, forced: the
# region goes to stderr, /dev/null here, so only its work is measured,
# not a terminal's) and off (--progress plain, what CI and pipes get).
# Floor: the same bytes through one `cat` pipe, for scale.
# Target (issue 18, point 4): the region costs <= 2 % of throughput
# (plain time / tty time >= 0.98, median of the per-round ratios).
# All three run interleaved (ROUNDS rounds, order reversed every other
# one, after a warm-up), as in prefixed-throughput.
. "$(dirname "$0")/lib.sh"

SIZE_MIB=${SIZE_MIB:-$([ "$QUICK" = 1 ] && echo 128 || echo 512)}
ROUNDS=${ROUNDS:-$([ "$QUICK" = 1 ] && echo 8 || echo 15)}
WARM=${WARM:-$([ "$QUICK" = 1 ] && echo 1 || echo 2)}

bench_init live-throughput "${SIZE_MIB} MiB of 18-byte lines, live region on and off"
G=$BENCH_BIN/genlines

hf_rounds "$BENCH_TMP/rounds" "$ROUNDS" "$WARM" \
	floor "$(qcmd sh -c "$G ${SIZE_MIB}M | cat")" \
	plain "$(qcmd "$CTXRUN" -q --progress plain -n gen -c "$G ${SIZE_MIB}M")" \
	ctxrun "$(qcmd "$CTXRUN" -q --progress tty -n gen -c "$G ${SIZE_MIB}M")" || exit 1
note "floor, plain and tty: $ROUNDS interleaved rounds after $WARM warm-up runs of each"
paired_rows "$BENCH_TMP/rounds" plain "ctxrun --progress plain" \
	"ctxrun --progress tty" "$SIZE_MIB" "--progress plain"
read -r med mn mx < <(rounds_mibs "$BENCH_TMP/rounds" floor "$SIZE_MIB" | stats)
row "floor: genlines | cat" "$med" "$mn" "$mx" MiB/s "$(ratio "$med" "$REF_MIBS")" "($ROUNDS runs)"
# PAIRED_RATIO: plain's time over tty's, per round: tty's throughput as a
# share of plain's.
target "the live region costs <= 2 % of prefixed throughput (tty/plain >= 0.98)" "$PAIRED_RATIO" ge 0.98
