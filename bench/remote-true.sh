#!/usr/bin/env bash
# remote-true: a remote job's cost over the ssh it rides on (issues 17 and
# 18, point 4). `ctxrun --host H -- true` (ssh, then ctxrun --remote on the
# far side, then true) against a bare `ssh H true`, both over loopback to
# an sshd this script starts on a free 127.0.0.1 port with keys and
# configuration of its own (stopped at the end); and ctxrun's local
# `ctxrun -- true`, for the latency a remote true adds over a local one.
# Target (issue 18): ctxrun --host H -- true <= 1.1x ssh H true.
. "$(dirname "$0")/lib.sh"

ROUNDS=${ROUNDS:-$([ "$QUICK" = 1 ] && echo 8 || echo 20)}
RUNS=$ROUNDS
WARM=$([ "$QUICK" = 1 ] && echo 2 || echo 3)

bench_init remote-true "one remote true over loopback ssh, $RUNS runs each"
if [ ! -x /usr/sbin/sshd ] || ! have ssh || ! have ssh-keygen; then
	skipped_target "ctxrun --host H -- true <= 1.1x ssh H true" \
		"no OpenSSH (openssh-server, openssh-client)"
	exit 0
fi

# The sshd: as whoever runs the bench (root: Debian's privsep directory).
d=$BENCH_TMP
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
ssh-keygen -q -t ed25519 -N '' -f "$d/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$d/client_key"
cp "$d/client_key.pub" "$d/authorized_keys"
[ "$(id -u)" = 0 ] && mkdir -p /run/sshd
cat >"$d/sshd_config" <<CONF
ListenAddress 127.0.0.1
Port $port
HostKey $d/host_key
AuthorizedKeysFile $d/authorized_keys
PidFile none
UsePAM no
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
MaxStartups 100
LogLevel ERROR
CONF
cat >"$d/ssh_config" <<CONF
Host *
  Port $port
  IdentityFile $d/client_key
  IdentitiesOnly yes
  UserKnownHostsFile /dev/null
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking no
  LogLevel ERROR
  ControlMaster no
CONF
/usr/sbin/sshd -D -e -f "$d/sshd_config" 2>"$d/sshd.log" &
BENCH_PIDS+=($!)
ssh_cmd=(ssh -F "$d/ssh_config" -o BatchMode=yes)
for _ in $(seq 200); do
	"${ssh_cmd[@]}" 127.0.0.1 true 2>/dev/null && break
	sleep 0.05
done
if ! "${ssh_cmd[@]}" 127.0.0.1 true; then
	skipped_target "ctxrun --host H -- true <= 1.1x ssh H true" \
		"sshd did not start: $(head -c 200 "$d/sshd.log")"
	exit 0
fi
export CTXRUN_SSH="ssh -F $d/ssh_config" CTXRUN_REMOTE_CTXRUN=$CTXRUN

# Interleaved rounds (ssh, ctxrun, local; reversed every other round), so
# that a change of load on the machine skews both sides alike; the target
# is on the median of the per-round ratios.
cmds=(
	ssh "$(qcmd "${ssh_cmd[@]}" 127.0.0.1 true)"
	ctxrun "$(qcmd "$CTXRUN" --host 127.0.0.1 -- true)"
	local "$(qcmd "$CTXRUN" -- true)"
)
hf_rounds "$BENCH_TMP/r" "$RUNS" "$WARM" "${cmds[@]}" || exit 1

header "ssh H true"
read -r smed _ _ < <(rounds_ms "$BENCH_TMP/r" ssh | stats)
for pair in "ssh:ssh H true" "ctxrun:ctxrun --host H -- true" "local:ctxrun -- true (local)"; do
	read -r med mn mx < <(rounds_ms "$BENCH_TMP/r" "${pair%%:*}" | stats)
	row "${pair#*:}" "$med" "$mn" "$mx" ms "$(ratio "$med" "$smed")" "($RUNS runs)"
	case ${pair%%:*} in ctxrun) rmed=$med ;; local) lmed=$med ;; esac
done
read -r pr mn mx < <(rounds_ratio "$BENCH_TMP/r" ctxrun ssh | stats)
row "ctxrun --host / ssh, per round" "$pr" "$mn" "$mx" x "-" "(median of $RUNS paired ratios)"
note "a remote true takes $(fmt "$(awk -v a="$rmed" -v b="$lmed" 'BEGIN { print a - b }')") ms more than a local one (medians)"
target "ctxrun --host H -- true <= 1.1x ssh H true" "$pr" le 1.1
