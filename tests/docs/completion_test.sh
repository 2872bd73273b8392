#!/bin/sh
# Usage: completion_test.sh SHELL FILE
#
# Checks a shell completion file from contrib/completions: SHELL must accept
# its syntax (bash -n, zsh -n, fish --no-execute) and, for bash and fish, it
# must complete commands, options, log levels and workspace files. Exits 77,
# meson's "skipped", when SHELL is not installed.

set -eu

shell=$1
file=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")

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

# Completing commands needs a way to ask the shell for completions without a
# terminal; zsh has none short of driving a pseudo-terminal, so it stops here.
[ "$shell" = zsh ] && exit 0

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
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

# Fish offers a directory with its slash; bash without.
dir=project
[ "$shell" = fish ] && dir=project/

expect 'switchboard ' check help NOT --json
expect 'switchboard --' --file --socket --log-level --version --help
expect 'switchboard check --' --json --file --help
expect 'switchboard help ' check help NOT --json
expect 'switchboard help check ' NOT check help
expect 'switchboard --log-level ' trace debug info warn error off
expect 'switchboard -f ' team.yaml other.yml "$dir" NOT notes.txt
expect 'switchboard check --file ' team.yaml other.yml NOT notes.txt
expect 'switchboard -f team.yaml ' check help NOT team.yaml

if [ "$failures" -ne 0 ]; then
    echo "$failures failure(s) in $file"
    exit 1
fi
echo "$file completes commands, options and workspace files in $shell"
