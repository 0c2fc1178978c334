# bash completion for git-monitor, as git's completion script expects it:
# `git monitor <TAB>` calls _git_monitor (git's completion loads this file
# by the name git-monitor from bash-completion's completions directory, or
# source it from ~/.bashrc after git's).  Also completes `git-monitor`
# typed alone when git's completion is loaded.
#
# Subcommands and their options; branch names for review and its --drop
# path:function (the branch's changed functions, asked of
# `git monitor __complete changed <branch>`); function names for
# refactor -f (`git monitor __complete functions`).

__git_monitor_commands="refactor scan review list clean hook doctor help"

__git_monitor_opts_refactor="--goal= --goal-file= --base= --since= --staged --function= --branch= --jobs=
	--local-only --plan --dry-run --json --max-cost= --verify= --max-complexity= --no-cache
	--quiet --progress --no-progress --verbose --batch --resume= --color --color= --no-color"
__git_monitor_opts_scan="--json --rev= --staged --jobs= --no-cache --sort= --top= --min-complexity=
	--quiet --verbose --no-pager --color --color= --no-color"
__git_monitor_opts_review="--diff --json --drop= --undo-drop --interactive --function= --web --html=
	--show= --no-open --idle-timeout= --no-color --verbose --no-pager --color --color="
__git_monitor_opts_list="--json --verbose --no-pager --color --color= --no-color"
__git_monitor_opts_clean="--merged --older-than= --all --dry-run"
__git_monitor_opts_hook="--force"
__git_monitor_opts_doctor="--json --verbose --color --color= --no-color"
__git_monitor_opts_help="--man"

# The branch named on the command line (review's), else none.
__git_monitor_branch ()
{
	local i
	for ((i = __git_monitor_cmd_idx + 1; i < cword; i++)); do
		case "${words[i]}" in
		--drop|-f|--function|--html|--show|--idle-timeout) ((i++)) ;;
		-*) ;;
		*) echo "${words[i]}"; return ;;
		esac
	done
}

# Readline replaces only what follows the last word break of the word being
# completed, and ':' is one (COMP_WORDBREAKS): an answer for "a.py:pa" must
# be "parse_args", not "a.py:parse_args" (which would make "a.py:a.py:...").
# As bash-completion's __ltrim_colon_completions; $1 is the value completed.
__git_monitor_ltrim_colon ()
{
	local i before
	case "$COMP_WORDBREAKS" in *:*) ;; *) return ;; esac
	case "$1" in *:*) ;; *) return ;; esac
	before="${1%"${1##*:}"}"
	for ((i = 0; i < ${#COMPREPLY[@]}; i++)); do
		COMPREPLY[i]="${COMPREPLY[i]#"$before"}"
	done
}

# Names that may hold ':' (path:function, ns::f), for the value `cur_`.
__git_monitor_comp_names ()
{
	local names="$1" cur_="$2"
	__gitcomp_nl "$names" "" "$cur_"
	__git_monitor_ltrim_colon "$cur_"
}

_git_monitor ()
{
	local __git_monitor_cmd_idx subcommand i
	# the word after "monitor" (git monitor ...) or after "git-monitor"
	for ((i = ${__git_cmd_idx:-0}; i < cword; i++)); do
		case "${words[i]}" in
		monitor|git-monitor) __git_monitor_cmd_idx=$((i + 1)); break ;;
		esac
	done
	[ -n "$__git_monitor_cmd_idx" ] || __git_monitor_cmd_idx=$((${__git_cmd_idx:-0} + 1))
	# top-level options before the command
	while [ "$__git_monitor_cmd_idx" -lt "$cword" ]; do
		case "${words[__git_monitor_cmd_idx]}" in
		-p|--paginate|-P|--no-pager) ((__git_monitor_cmd_idx++)) ;;
		*) break ;;
		esac
	done
	if [ "$__git_monitor_cmd_idx" -ge "$cword" ]; then
		case "$cur" in
		-*) __gitcomp "--version --help --paginate --no-pager" ;;
		*) __gitcomp "$__git_monitor_commands" ;;
		esac
		return
	fi
	subcommand="${words[__git_monitor_cmd_idx]}"

	# values of the option before the cursor, or after its '='
	case "$subcommand,$prev" in
	refactor,-f|refactor,--function)
		__git_monitor_comp_names "$(__git monitor __complete functions 2>/dev/null)" "$cur"
		return ;;
	refactor,--base|refactor,--since|scan,--rev)
		__git_complete_refs
		return ;;
	refactor,-g|refactor,--goal|refactor,-b|refactor,--branch|refactor,--verify|\
	refactor,--max-cost|refactor,-j|refactor,--jobs|refactor,--max-complexity|refactor,--resume|\
	scan,-j|scan,--jobs|scan,--top|scan,--min-complexity|clean,--older-than)
		return ;;
	scan,--sort)
		__gitcomp "cc lines fan-in name"
		return ;;
	refactor,--goal-file)
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(compgen -f -- "$cur"))
		return ;;
	review,--drop)
		__git_monitor_comp_names "$(__git monitor __complete changed $(__git_monitor_branch) 2>/dev/null)" "$cur"
		return ;;
	review,--html)
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(compgen -f -- "$cur"))
		return ;;
	review,-f|review,--function|review,--show|review,--idle-timeout)
		return ;;
	esac
	case "$subcommand,$cur" in
	refactor,--function=*)
		__git_monitor_comp_names "$(__git monitor __complete functions 2>/dev/null)" "${cur##--function=}"
		return ;;
	refactor,--base=*|refactor,--since=*|scan,--rev=*)
		__git_complete_refs --cur="${cur#*=}"
		return ;;
	scan,--sort=*)
		__gitcomp "cc lines fan-in name" "" "${cur##--sort=}"
		return ;;
	review,--drop=*)
		__git_monitor_comp_names "$(__git monitor __complete changed $(__git_monitor_branch) 2>/dev/null)" "${cur##--drop=}"
		return ;;
	*,--color=*)
		__gitcomp "always never auto" "" "${cur##--color=}"
		return ;;
	esac

	case "$subcommand" in
	refactor|scan|review|list|clean|hook|doctor|help) ;;
	*) return ;;
	esac
	case "$cur" in
	-*)
		local v="__git_monitor_opts_$subcommand"
		__gitcomp "${!v}"
		return ;;
	esac
	case "$subcommand" in
	review)
		# one branch: the generated ones first (monitor/...)
		[ -z "$(__git_monitor_branch)" ] && __git_complete_refs --mode=heads ;;
	hook)
		if [ "$cword" -eq $((__git_monitor_cmd_idx + 1)) ]; then
			__gitcomp "install uninstall run"
		elif [ "${words[__git_monitor_cmd_idx + 1]}" = run ]; then
			__gitcomp "pre-commit"
		fi ;;
	help)
		__gitcomp "$__git_monitor_commands" ;;
	refactor|scan)
		# pathspecs: the files git knows
		__git_complete_index_file "--cached" 2>/dev/null || COMPREPLY=($(compgen -f -- "$cur")) ;;
	esac
}

# git-monitor typed as a command of its own
if declare -F __git_complete >/dev/null 2>&1; then
	__git_complete git-monitor _git_monitor
fi
