#!/usr/bin/env zsh
# Usage: zsh_complete.zsh COMPLETION_FILE LINE
#
# Prints, one per line, what zsh's completion system offers for LINE (the
# word to complete is the last one; end LINE with a space to complete a new
# word), using the completion function in COMPLETION_FILE (_switchboard).
#
# zsh completes only inside its line editor, so this runs an interactive
# zsh on a pseudo-terminal (zsh/zpty), types LINE and a Tab there, and
# reads back what compadd was given: compadd is wrapped to print the matches
# between two marker lines instead of showing them. Exits 2 when that zsh
# does not answer.

emulate -L zsh
zmodload zsh/zpty zsh/zselect || exit 77

file=$1
line=$2

# The completion function must be found as an autoloaded function named after
# its file on $fpath; its directory may hold other files, so it gets one of
# its own. Starting the completion system (compinit) takes most of the time
# of a run; with ZSH_COMPLETE_DIR, the directory and compinit's dump are
# kept there and reused by the next run.
if [[ -n ${ZSH_COMPLETE_DIR:-} ]]; then
  work=$ZSH_COMPLETE_DIR
  mkdir -p $work || exit 2
  if ! cmp -s $file $work/_switchboard; then
    cp $file $work/_switchboard
    rm -f $work/zcompdump
  fi
else
  work=$(mktemp -d) || exit 2
  trap 'rm -rf $work' EXIT
  cp $file $work/_switchboard
fi

cat > $work/setup.zsh <<EOF
PROMPT=''
RPROMPT=''
unsetopt zle_bracketed_paste 2>/dev/null
fpath=($work \$fpath)
autoload -Uz compinit
if [[ -f $work/zcompdump ]]; then
  compinit -C -d $work/zcompdump
else
  compinit -u -d $work/zcompdump
fi
zstyle ':completion:*' list-grouped false
zstyle ':completion:*' insert-tab false
bindkey '^I' complete-word
bindkey '^M' undefined-key
bindkey '^J' undefined-key
compprefuncs=(__marker)
comppostfuncs=(__marker exit)
__marker() { print -r -- '@@SWITCHBOARD-COMPLETIONS@@' }
compadd() {
  # Calls that only ask for matches (-O, -A, -D) are internal; pass them on.
  if [[ \${@[1,(i)(-|--)]} == *-(O|A|D)\\ * ]]; then
    builtin compadd "\$@"
    return
  fi
  local -a __hits
  builtin compadd -A __hits "\$@"
  (( \$#__hits )) && print -rl -- \$__hits
  builtin compadd "\$@"
}
print -r -- '@@SWITCHBOARD-READY@@'
EOF

zpty sbz zsh -f -i
zpty -w sbz "source $work/setup.zsh"
ready=0
for i in {1..250}; do
  zpty -r -t sbz out 2>/dev/null || { zselect -t 2; continue }
  [[ $out == *@@SWITCHBOARD-READY@@* ]] && { ready=1; break }
done
(( ready )) || { print -u2 "zsh did not start"; zpty -d sbz; exit 2 }

# Type the line and a Tab.
zpty -w -n sbz "$line"$'\t'

# What comes between the two markers is the list of matches.
seen=0
output=()
for i in {1..750}; do
  if ! zpty -r -t sbz out 2>/dev/null; then
    zselect -t 2
    continue
  fi
  out=${out%$'\r\n'}
  out=${out%$'\n'}
  out=${out%$'\r'}
  if [[ $out == *@@SWITCHBOARD-COMPLETIONS@@* ]]; then
    (( seen++ ))
    (( seen == 2 )) && break
    continue
  fi
  (( seen == 1 )) && output+=("$out")
done
zpty -d sbz 2>/dev/null
(( seen == 2 )) || { print -u2 "zsh did not complete \"$line\""; exit 2 }
print -rl -- ${(u)output}
