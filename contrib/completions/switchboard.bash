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

    local commands='check help'
    # Global options are accepted before and after the command.
    local global_options='-f --file -S --socket --log-level -V --version -h --help'

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
    esac
    [[ $split == true ]] && return

    # The command is the first word that is neither an option nor the value
    # of one; count the words after it.
    local i command='' arguments=0
    for ((i = 1; i < cword; i++)); do
        case ${words[i]} in
            -f | --file | -S | --socket | --log-level)
                if [[ ${words[i + 1]} == = ]]; then
                    ((i += 2))
                else
                    ((i++))
                fi
                ;;
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

    case $command in
        '')
            if [[ $cur == -* ]]; then
                mapfile -t COMPREPLY < <(compgen -W "$global_options" -- "$cur")
            else
                mapfile -t COMPREPLY < <(compgen -W "$commands" -- "$cur")
            fi
            ;;
        check)
            mapfile -t COMPREPLY < <(compgen -W "--json $global_options" -- "$cur")
            ;;
        help)
            if [[ $cur == -* ]]; then
                mapfile -t COMPREPLY < <(compgen -W '-h --help' -- "$cur")
            elif ((arguments == 0)); then
                mapfile -t COMPREPLY < <(compgen -W "$commands" -- "$cur")
            fi
            ;;
    esac
} &&
    complete -F _switchboard switchboard

# ex: filetype=sh
