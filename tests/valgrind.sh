#!/bin/sh
# Run ctxrun through its main paths under valgrind: any memory error, leak
# or fd left open (beyond the three standard ones) fails the run.
set -u
bin=${CTXRUN_BIN:-build/ctxrun}
th=${TH_BIN:-build/th}
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT
fails=0 passes=0

# check NAME EXPECTED_STATUS ARGS...: run ctxrun ARGS under valgrind.
check() {
	name=$1 want=$2
	shift 2
	valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=all \
		--errors-for-leak-kinds=definite,indirect,possible --track-fds=yes --child-silent-after-fork=yes \
		--log-file="$log/$name.log" "$bin" "$@" </dev/null >/dev/null 2>&1
	got=$?
	# --track-fds lists the fds open at exit: any ctxrun opened is a leak.
	extra=$(awk '/Open file descriptor/ { fd = 1; next }
		fd && /inherited from parent/ { fd = 0 }
		fd && /^==[0-9]+== *$/ { n++; fd = 0 }
		END { print n + 0 }' "$log/$name.log")
	if [ "$got" -eq "$want" ] && [ "$extra" -eq 0 ] && ! grep -q 'ERROR SUMMARY: [1-9]' "$log/$name.log"; then
		passes=$((passes + 1))
		echo "valgrind: $name: ok (exit $got)"
	else
		fails=$((fails + 1))
		echo "valgrind: $name: FAILED (exit $got, wanted $want, $extra fds left)"
		cat "$log/$name.log"
	fi
}

check success 0 -- "$th" exit 0
check failure 3 -- "$th" exit 3
check timeout 124 -t 0.3 -- "$th" sleep 30000
check escalation 124 -t 0.2 -g 0.3 -- "$th" ignore-term 30000
check leftovers 0 -g 5 -- "$th" grandchild 30000
check not-found 127 -- ctxrun-no-such-command
# The far side of a remote job: stdin at EOF at once is a lost supervisor.
check remote-far-side 143 --remote -t 30000ms -g 1000ms --job far --env A=%24x \
	-- "$th" sleep 30000
check usage 125 -t 5x -- true
check group 3 -c 'exit 3' -c 'sleep 30'
check pipeline 0 -f examples/ci.ini
check escapee 0 -- sh -c 'setsid sleep 30 & exit 0'
check reports-command 124 --events "$log/c.jsonl" --junit "$log/c.xml" -t 0.3 -- "$th" sleep 30000
check reports-group 3 --events "$log/g.jsonl" --junit "$log/g.xml" -c 'printf "x\377]]>"; exit 3' -c 'sleep 30'
check reports-unwritable 125 --events "$log/no/such/dir" -- true
# A FIFO nobody reads: the JUnit report outgrows the pipe, waits, is dropped.
mkfifo "$log/r.fifo"
check reports-fifo 0 -q --events "$log/r.fifo" --junit "$log/r.fifo" -n f -c "$th flood 300000"
check prefixed 0 -n a,b -c "$th flood 300000" -c "$th print out err; printf tail"
check prefixed-mixed 0 --color always -n m -c "$th mixed 7 5000"
check grouped-spill 0 -o grouped -c "$th flood 1500000" -c "$th print out err"
check one-prefixed 3 -o prefixed -q -- sh -c 'echo out; echo err >&2; exit 3'
check quiet 2 -q --color always -c 'exit 2' -c 'sleep 30'
# The live region (forced: stderr is not a terminal here), long enough for
# the clock; log files, stamps and the failure last.
check live 2 --progress tty --color always -n a,b -c "$th flood 300000" -c "$th sleep 1200; exit 2"
check log-dir 2 --log-dir "$log/logs" --timestamps -o grouped -n a,b -c "$th print out err; printf tail" -c "$th print x y; exit 2"
mkdir "$log/planted" && ln -s /dev/null "$log/planted/a.log"
check log-dir-planted 125 --log-dir "$log/planted" -n a -c true
# The torture suite's escapes (tests/e2e/test_torture.c), a few ends each.
check torture-daemon 0 -- "$th" contain daemon exit 30000
check torture-nohup 124 -t 0.3 -- "$th" contain nohup stay 30000
check torture-ignterm 124 -t 0.3 -g 0.3 -- "$th" contain ignterm stay 30000
check torture-noenv 0 -- "$th" contain noenv exit 30000
check torture-fail-fast 3 -c "$th contain setsid stay 30000" -c "$th sleep 300; exit 3"
check torture-flood-err 0 -c "$th flood-err 1000000" -c "$th close-stdout 100"
# Services: each probe kind, one that never gets ready, a teardown job.
check services 0 -f examples/services.ini
check service-exec 0 --service 'sleep 30' --ready 'exec:true' -c true
printf '[job:db]\ncommand = sleep 30\nservice = true\nready = exec:sleep 30\nready_timeout = 300ms\n[job:web]\ncommand = sleep 30\nservice = true\nready = tcp:127.0.0.1:1\nready_timeout = 300ms\nready_interval = 50ms\n[job:t]\ncommand = true\nneeds = db, web\n[job:td]\ncommand = true\nalways = true\n' >"$log/never.ini"
check service-never-ready 1 --events "$log/s.jsonl" --junit "$log/s.xml" -f "$log/never.ini"
# 300 short jobs, 8 at a time: nothing may pile up per job.
set -- -j 8
i=0
while [ $i -lt 300 ]; do
	set -- "$@" -c true
	i=$((i + 1))
done
check torture-300-jobs 0 "$@"
echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
