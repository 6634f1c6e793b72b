# bash completion for ctxrun(1): options, their values (signal names,
# output modes, colour, cgroup), pipeline files, and the job names of the
# pipeline file in use (-f FILE, or ./ctxrun.ini). Installed by
# `make install` into $(PREFIX)/share/bash-completion/completions/ctxrun.

# Print the job names of pipeline file $1, one per line.
_ctxrun_jobs()
{
	[ -r "$1" ] || return 0
	sed -n 's/^[[:blank:]]*\[job:\([^]]*\)\][[:blank:]]*$/\1/p' -- "$1"
}

_ctxrun()
{
	local cur prev i file=ctxrun.ini
	local opts="-t --timeout -g --grace --kill-after -s --signal -c -n --names
		--service --ready
		-f --file -j --jobs -k --keep-going --check --preserve-status
		--foreground --events --junit --cgroup --host -o --output --color
		--timestamps --log-dir --failure-lines --progress
		-v --verbose -q --quiet -h --help -V --version --"

	COMPREPLY=()
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD - 1]}

	# After --, complete the command and its arguments as bash would.
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		--)
			if ((i == COMP_CWORD - 1)); then
				mapfile -t COMPREPLY < <(compgen -c -- "$cur")
			else
				mapfile -t COMPREPLY < <(compgen -f -- "$cur")
			fi
			return 0
			;;
		-f | --file) file=${COMP_WORDS[i + 1]} ;;
		esac
	done

	case $prev in
	-s | --signal)
		mapfile -t COMPREPLY < <(compgen -W "TERM INT HUP QUIT KILL USR1 USR2
			ALRM CONT STOP TSTP PIPE SIGTERM SIGINT SIGHUP SIGQUIT SIGKILL
			SIGUSR1 SIGUSR2" -- "$cur")
		return 0
		;;
	-o | --output)
		mapfile -t COMPREPLY < <(compgen -W "prefixed grouped raw" -- "$cur")
		return 0
		;;
	--color)
		mapfile -t COMPREPLY < <(compgen -W "auto always never" -- "$cur")
		return 0
		;;
	--progress)
		mapfile -t COMPREPLY < <(compgen -W "auto tty plain" -- "$cur")
		return 0
		;;
	--cgroup)
		mapfile -t COMPREPLY < <(compgen -W "auto on off" -- "$cur")
		return 0
		;;
	--ready)
		# The probe kinds; what follows the kind is the user's.
		compopt -o nospace 2>/dev/null
		mapfile -t COMPREPLY < <(compgen -W "exec: tcp:127.0.0.1: http://127.0.0.1:
			log: notify" -- "$cur")
		return 0
		;;
	-f | --file)
		mapfile -t COMPREPLY < <(compgen -f -X '!*.ini' -- "$cur"; compgen -d -- "$cur")
		return 0
		;;
	--events | --junit)
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		return 0
		;;
	--host)
		mapfile -t COMPREPLY < <(compgen -A hostname -- "$cur")
		return 0
		;;
	--log-dir)
		mapfile -t COMPREPLY < <(compgen -d -- "$cur")
		return 0
		;;
	-t | --timeout | -g | --grace | --kill-after | -j | --jobs | -c | -n | --names | --failure-lines | --service)
		return 0
		;;
	esac
	if [[ $cur == -* ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$opts" -- "$cur")
	else
		mapfile -t COMPREPLY < <(compgen -W "$(_ctxrun_jobs "$file")" -- "$cur")
	fi
	return 0
}

complete -F _ctxrun ctxrun
