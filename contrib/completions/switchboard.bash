# bash completion for switchboard(1)                       -*- shell-script -*-
#
# Installed into bash-completion's completions directory, which loads it the
# first time `switchboard` is completed; it also works when sourced by hand
# without bash-completion.

# Directories (to walk into) and YAML files under the word being completed.
_switchboard_workspace_files()
{
    if declare -F _filedir >/dev/null 2>&1; then
        _filedir '@(yaml|yml)'
        return
    fi
    compopt -o filenames 2>/dev/null
    mapfile -t COMPREPLY < <(
        compgen -d -- "$cur"
        compgen -f -X '!*.yaml' -- "$cur"
        compgen -f -X '!*.yml' -- "$cur"
    )
}

# Runs switchboard with the global options of the line being completed (so
# that it asks the same workspace), quietly and for at most two seconds: a
# completion must never hang or print on the terminal.
_switchboard_ask()
{
    local program=${words[0]}
    [[ $program == \~/* ]] && program=$HOME/${program#\~/}
    if command -v timeout >/dev/null 2>&1; then
        timeout 2 "$program" "${globals[@]}" "$@" 2>/dev/null </dev/null
    else
        "$program" "${globals[@]}" "$@" 2>/dev/null </dev/null
    fi
}

# The workers of the running workspace, from `switchboard ls --json`;
# nothing when no server runs.
_switchboard_workers()
{
    _switchboard_ask ls --json | sed -n 's/^ *"name": "\([^"]*\)",\{0,1\}$/\1/p'
}

# The groups of the workspace file, as @GROUP, from `switchboard check --json`.
_switchboard_groups()
{
    command -v python3 >/dev/null 2>&1 || return
    _switchboard_ask check --json | python3 -c '
import json, sys
try:
    workers = json.load(sys.stdin)["workspace"]["workers"]
except Exception:
    sys.exit()
print("\n".join(sorted({"@" + g for w in workers for g in w.get("groups", [])})))
' 2>/dev/null
}

# The deliveries that can be cancelled, from `switchboard pending --json`.
_switchboard_deliveries()
{
    _switchboard_ask pending --json | sed -n 's/^ *"id": "\([^"]*\)",\{0,1\}$/\1/p'
}

# The messages in the inbox, from `switchboard inbox --json`.
_switchboard_inbox()
{
    _switchboard_ask inbox --json | sed -n 's/^ *"id": "\([^"]*\)",\{0,1\}$/\1/p'
}

_switchboard()
{
    local cur prev words cword split=false
    if declare -F _init_completion >/dev/null 2>&1; then
        _init_completion -s || return
    else
        words=("${COMP_WORDS[@]}")
        cword=$COMP_CWORD
        cur=${COMP_WORDS[COMP_CWORD]}
        prev=${COMP_WORDS[COMP_CWORD - 1]}
        # Without bash-completion, `--file=x` arrives as `--file`, `=`, `x`.
        if [[ $cur == = ]]; then
            cur=
            prev=${COMP_WORDS[COMP_CWORD - 1]}
        elif [[ $prev == = ]] && ((COMP_CWORD >= 2)); then
            prev=${COMP_WORDS[COMP_CWORD - 2]}
        fi
    fi

    local commands='up down reload ls attach capture keys start stop restart resize events send pending hold release cancel nudge history inbox dispatch check doctor demo help'
    # Global options are accepted before and after the command.
    local global_options='-f --file -S --socket --log-level -V --version -h --help'
    # Key names of `keys`, as tmux send-keys names them, and a few common chords.
    local key_names='Enter Escape Tab BTab BSpace Space Up Down Left Right Home End
        PageUp PageDown Insert Delete F1 F2 F3 F4 F5 F6 F7 F8 F9 F10 F11 F12
        C-c C-d C-z C-l C-u C-a C-e C-r M-Enter'

    case $prev in
        -f | --file)
            _switchboard_workspace_files
            return
            ;;
        -S | --socket)
            compopt -o filenames 2>/dev/null
            mapfile -t COMPREPLY < <(compgen -f -- "$cur")
            return
            ;;
        --log-level)
            mapfile -t COMPREPLY < <(compgen -W 'trace debug info warn error off' -- "$cur")
            return
            ;;
        --prefix)
            mapfile -t COMPREPLY < <(compgen -W 'C-b C-a C-Space M-a' -- "$cur")
            return
            ;;
        --timeout | --scrollback | --since | --key | --exchanges | --ttl | --reply-to)
            # A duration, a number or a free-form key: nothing to offer.
            return
            ;;
    esac
    [[ $split == true ]] && return

    # The command is the first word that is neither an option nor the value
    # of one; count the words after it that are not options either. The
    # global options that pick the workspace go along when switchboard is
    # asked for worker names.
    local i value command='' arguments=0 all=false literal=false
    local -a globals=()
    for ((i = 1; i < cword; i++)); do
        case ${words[i]} in
            -f | --file | -S | --socket | --log-level | --timeout | --scrollback | --since | --from | --key | --exchanges | --prefix | --ttl | --reply-to)
                value=$((i + 1))
                [[ ${words[i + 1]} == = ]] && value=$((i + 2))
                case ${words[i]} in
                    -f | --file | -S | --socket) globals+=("${words[i]}" "${words[value]/#\~\//$HOME/}") ;;
                esac
                i=$value
                ;;
            --file=* | --socket=*) globals+=("${words[i]}") ;;
            -a | --all) all=true ;;
            -l | --literal | --paste) literal=true ;;
            -* | =) ;;
            *)
                if [[ -z $command ]]; then
                    command=${words[i]}
                else
                    ((arguments++))
                fi
                ;;
        esac
    done

    if [[ $prev == --from ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$(_switchboard_workers) user" -- "$cur")
        return
    fi

    # The command's own options, and what its arguments are.
    local options='' complete=''
    case $command in
        '')
            options=$global_options
            complete=commands
            ;;
        up) options='-F --foreground -d --detach' ;;
        attach)
            options='--prefix'
            ((arguments == 0)) && complete=workers
            ;;
        down) options='--timeout' ;;
        reload) ;;
        ls) options='--json' ;;
        capture)
            options='-e --ansi --scrollback --json'
            ((arguments == 0)) && complete=workers
            ;;
        keys)
            options='-l --literal --paste'
            if ((arguments == 0)); then
                complete=workers
            elif [[ $literal == false ]]; then
                complete=keys
            fi
            ;;
        start | restart)
            options='-a --all'
            [[ $all == false ]] && complete=workers
            ;;
        stop)
            options='-a --all --timeout'
            [[ $all == false ]] && complete=workers
            ;;
        resize) ((arguments == 0)) && complete=workers ;;
        events) options='--follow --since --json' ;;
        send)
            options='--from --key --ttl --to-inbox --reply-to --wait --wait-reply --timeout --json'
            ((arguments == 0)) && complete=targets
            ;;
        pending)
            options='--json'
            ((arguments == 0)) && complete=workers
            ;;
        history)
            options='--since --json'
            ((arguments == 0)) && complete=workers
            ;;
        hold | release) ((arguments == 0)) && complete=workers ;;
        cancel|nudge) complete=deliveries ;;
        inbox) options='--json' ;;
        dispatch)
            if ((arguments == 0)); then
                complete=inbox
            elif ((arguments == 1)); then
                complete=workers
            fi
            ;;
        check) options='--json' ;;
        doctor) options='' ;;
        demo) options='--no-attach --exchanges' ;;
        help)
            if [[ $cur == -* ]]; then
                mapfile -t COMPREPLY < <(compgen -W '-h --help' -- "$cur")
            elif ((arguments == 0)); then
                mapfile -t COMPREPLY < <(compgen -W "$commands" -- "$cur")
            fi
            return
            ;;
        *) return ;;
    esac

    if [[ $cur == -* ]]; then
        [[ -n $command ]] && options+=" $global_options"
        mapfile -t COMPREPLY < <(compgen -W "$options" -- "$cur")
        return
    fi
    local candidates=''
    case $complete in
        commands) candidates=$commands ;;
        workers) candidates=$(_switchboard_workers) ;;
        targets) candidates="$(_switchboard_workers) $(_switchboard_groups) all" ;;
        keys) candidates=$key_names ;;
        deliveries) candidates="$(_switchboard_deliveries) $(_switchboard_inbox)" ;;
        inbox) candidates=$(_switchboard_inbox) ;;
    esac
    [[ -n $candidates ]] && mapfile -t COMPREPLY < <(compgen -W "$candidates" -- "$cur")
} &&
    complete -F _switchboard switchboard

# ex: filetype=sh
