#!/bin/sh
# Usage: completion_test.sh SHELL FILE [SWITCHBOARD]
#
# Checks a shell completion file from contrib/completions: SHELL must accept
# its syntax (bash -n, zsh -n, fish --no-execute) and complete commands,
# options, log levels and workspace files with it. bash and fish are asked
# directly; zsh through zsh_complete.zsh, which drives it on a
# pseudo-terminal.
#
# With the SWITCHBOARD binary, also: completing `switchboard COMMAND --`
# offers every long option of `switchboard COMMAND --help`, for every
# command of `switchboard --help`; and, against a real server started here
# on a private runtime directory, worker names, groups, key names and
# delivery ids are offered where the commands take them.
#
# Exits 77, meson's "skipped", when SHELL is not installed.

set -eu

shell=$1
file=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
binary=${3:-}
if [ -n "$binary" ]; then
    binary=$(cd "$(dirname "$binary")" && pwd)/$(basename "$binary")
fi
here=$(cd "$(dirname "$0")" && pwd)

if ! command -v "$shell" >/dev/null 2>&1; then
    echo "$shell is not installed; skipping $file"
    exit 77
fi

case $shell in
bash | zsh) "$shell" -n "$file" ;;
fish) fish --no-config --no-execute "$file" ;;
*)
    echo "unknown shell $shell" >&2
    exit 2
    ;;
esac
echo "$shell accepts the syntax of $file"

if [ "$shell" = zsh ] && ! zsh -fc 'zmodload zsh/zpty' 2>/dev/null; then
    echo "zsh has no zsh/zpty module; not completing with $file"
    exit 0
fi

work=$(mktemp -d)
server_started=no
cleanup() {
    if [ "$server_started" = yes ]; then
        "$binary" -f "$work/team/switchboard.yaml" down --timeout 1s >/dev/null 2>&1 || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
# A test killed for its time still stops the server it started.
trap 'exit 1' INT TERM
cd "$work"
mkdir project
touch team.yaml other.yml notes.txt

# Prints the completions of a command line, one per line, sorted.
complete_line() {
    case $shell in
    bash)
        # The words of the line as bash splits them; the last may be empty.
        bash --norc --noprofile -c '
            source "$1"
            shift
            COMP_LINE=$1
            shift
            COMP_WORDS=("$@")
            COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
            COMP_POINT=${#COMP_LINE}
            _switchboard
            printf "%s\n" "${COMPREPLY[@]}"
        ' completion "$file" "$@"
        ;;
    fish)
        # shellcheck disable=SC2016 # $argv is fish's, not ours
        fish --no-config -c 'source $argv[1]; complete -C $argv[2]' "$file" "$1" | cut -f1
        ;;
    zsh)
        ZSH_COMPLETE_DIR="$work/zsh" zsh -f "$here/zsh_complete.zsh" "$file" "$1"
        ;;
    esac | sort
}

failures=0
# expect LINE WANTED... [NOT UNWANTED...]
expect() {
    line=$1
    shift
    if [ "$shell" = bash ]; then
        # bash gets the words of the line, the last one empty after a space.
        last=
        case $line in *' ') last='""' ;; esac
        got=$(eval "complete_line \"\$line\" $line $last")
    else
        got=$(complete_line "$line")
    fi
    wanted=yes
    for word in "$@"; do
        if [ "$word" = NOT ]; then
            wanted=no
            continue
        fi
        if printf '%s\n' "$got" | grep -qx -- "$word"; then
            found=yes
        else
            found=no
        fi
        if [ "$found" != "$wanted" ]; then
            [ "$wanted" = yes ] && what="does not offer" || what="offers"
            echo "FAIL: completing \"$line\" $what \"$word\"; it offers: $(printf '%s\n' "$got" | tr '\n' ' ')"
            failures=$((failures + 1))
        fi
    done
}

# Fish offers a directory with its slash; bash and zsh without.
dir=project
[ "$shell" = fish ] && dir=project/

expect 'switchboard ' up down ls capture keys send check help NOT --json
expect 'switchboard --' --file --socket --log-level --version --help
expect 'switchboard check --' --json --file --help
expect 'switchboard help ' check help up events NOT --json
expect 'switchboard help check ' NOT check help
expect 'switchboard --log-level ' trace debug info warn error off
expect 'switchboard -f ' team.yaml other.yml "$dir" NOT notes.txt
expect 'switchboard check --file ' team.yaml other.yml NOT notes.txt
expect 'switchboard -f team.yaml ' check help NOT team.yaml

if [ -n "$binary" ]; then
    # Every command's long options, as its --help lists them.
    # Every heading but Options (Workspace:, Workers:, ...) lists commands.
    commands=$("$binary" --help | awk '/^[A-Z][A-Za-z ]*:$/ { on = ($0 != "Options:"); next } /^$/ { on = 0 } on && /^  [a-z]/ { print $1 }')
    if [ -z "$commands" ]; then
        echo "FAIL: no commands in the output of $binary --help"
        failures=$((failures + 1))
    fi
    for command in $commands; do
        options=$("$binary" "$command" --help |
            awk '/^Options:/ { on = 1; next } /^$/ { on = 0 } on && /^  -/ { print $1 }' |
            tr ',' '\n' | grep -- '^--' || true)
        # shellcheck disable=SC2086 # one word per option
        expect "switchboard $command --" $options
    done

    # Worker names, groups, key names and delivery ids come from a running
    # server: one started here, on a runtime directory of its own.
    mkdir team run state
    export XDG_RUNTIME_DIR="$work/run" XDG_STATE_HOME="$work/state"
    unset SWITCHBOARD_SOCKET SWITCHBOARD_WORKER SWITCHBOARD_WORKSPACE
    cat >team/switchboard.yaml <<EOF
version: 1
name: completion-$shell
defaults:
  restart: never
  stop_timeout: 1s
  profile: shell
workers:
  alice:
    command: [sleep, "600"]
    groups: [reviewers]
  bob:
    command: [sleep, "600"]
EOF
    # The completions run `switchboard` as the line names it.
    mkdir bin
    ln -s "$binary" bin/switchboard
    PATH="$work/bin:$PATH"
    "$binary" -f team/switchboard.yaml up >/dev/null
    server_started=yes
    "$binary" -f team/switchboard.yaml hold bob
    delivery=$("$binary" -f team/switchboard.yaml send bob 'a message that waits')

    ws='-f team/switchboard.yaml'
    expect "switchboard $ws capture " alice bob NOT team.yaml
    expect "switchboard $ws keys " alice bob NOT Enter
    expect "switchboard $ws keys alice " Enter Escape C-c Up F1 NOT alice
    expect "switchboard $ws keys --literal alice " NOT Enter C-c
    expect "switchboard $ws stop " alice bob
    expect "switchboard $ws stop alice " bob
    expect "switchboard $ws stop --all " NOT alice bob
    expect "switchboard $ws restart " alice bob
    expect "switchboard $ws resize " alice bob
    expect "switchboard $ws hold " alice bob
    expect "switchboard $ws send " alice bob @reviewers all
    expect "switchboard $ws send --from " alice bob user
    expect "switchboard $ws send alice " NOT alice bob
    expect "switchboard $ws cancel " "$delivery"
    expect "switchboard $ws events " NOT alice bob
    # Inside a worker, SWITCHBOARD_SOCKET names the workspace.
    SWITCHBOARD_SOCKET="$work/run/switchboard/completion-$shell.sock"
    export SWITCHBOARD_SOCKET
    expect 'switchboard capture ' alice bob
    unset SWITCHBOARD_SOCKET
    # No workspace here: no workers.
    expect 'switchboard capture ' NOT alice bob
fi

if [ "$failures" -ne 0 ]; then
    echo "$failures failure(s) in $file"
    exit 1
fi
echo "$file completes commands, options, workspace files and workers in $shell"
