#!/usr/bin/env bash
# The bash completion offers what it should: run by `make test`.
set -u
# shellcheck source=completion/ctxrun.bash
. "$(dirname "$0")/../completion/ctxrun.bash"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
printf '[pipeline]\n[job:build]\ncommand = true\n[job:unit]\nneeds = build\ncommand = true\n' >"$dir/ci.ini"
fails=0

# check WANT WORD...: complete the last WORD of "ctxrun WORD..." and compare.
check()
{
	local want=$1 got
	shift
	COMP_WORDS=(ctxrun "$@")
	COMP_CWORD=$#
	_ctxrun
	got=
	if [ "${#COMPREPLY[@]}" -gt 0 ]; then
		got=$(printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ')
	fi
	if [ "$got" != "$want" ]; then
		echo "completion: ctxrun $*: got <$got>, want <$want>" >&2
		fails=$((fails + 1))
	fi
}

check "--cgroup --check --color " --c
check "KILL " -s KI
check "grouped " -o gr
check "off on " --cgroup o
check "never " --color n
check "--ready " --rea
check "notify " --service x --ready n
check "http://127.0.0.1: " --service x --ready ht
check "" --service x
check "build " -f "$dir/ci.ini" b
check "unit " --file "$dir/ci.ini" -v u
check "" -t 1
check "$dir/ci.ini " -f "$dir/c"
cp "$dir/ci.ini" "$dir/ctxrun.ini"
(cd "$dir" && check "build unit " "" && [ "$fails" -eq 0 ]) || fails=$((fails + 1))
check "" -- ctxrun-no-such-program
check "" -- ctxrun-no-such-program --
[ "$fails" -eq 0 ] && echo "completion: ok"
[ "$fails" -eq 0 ]
