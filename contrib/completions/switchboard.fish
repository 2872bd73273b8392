# fish completion for switchboard(1)

set -l commands up down reload ls attach capture keys start stop restart resize events send pending hold release cancel nudge history inbox dispatch check doctor demo help

# Directories (to walk into) and YAML files under the token being completed.
function __switchboard_workspace_files
    set -l token (commandline -ct)
    for path in $token*
        if test -d $path
            printf '%s/\n' $path
        else if string match -qr '\.ya?ml$' -- $path
            printf '%s\n' $path
        end
    end
end

# True when the command line is `switchboard ... help` with nothing after help
# yet: then the word to complete is the command to describe.
function __switchboard_wants_help_topic
    set -l tokens (commandline -opc)
    set -l seen_help 0
    for token in $tokens[2..-1]
        if test $seen_help -eq 1
            string match -q -- '-*' $token; or return 1
        else if test $token = help
            set seen_help 1
        end
    end
    test $seen_help -eq 1
end

# The command of the line and how many arguments follow it, not counting
# options and their values: "COMMAND COUNT".
function __switchboard_parse
    set -l tokens (commandline -opc)
    set -l command ''
    set -l count 0
    set -l skip 0
    for token in $tokens[2..-1]
        if test $skip -eq 1
            set skip 0
            continue
        end
        switch $token
            case -f --file -S --socket --log-level --timeout --scrollback --since --from --key --ttl --reply-to
                set skip 1
            case '-*'
            case '*'
                if test -z "$command"
                    set command $token
                else
                    set count (math $count + 1)
                end
        end
    end
    echo $command $count
end

# True when the token being completed is an argument of one of the commands
# $argv[1] (separated by commas) at position $argv[2]: a number from 0,
# "rest" for 1 and after, or "any".
function __switchboard_argument
    set -l state (string split ' ' -- (__switchboard_parse))
    contains -- "$state[1]" (string split , -- $argv[1]); or return 1
    switch $argv[2]
        case any
            return 0
        case rest
            test $state[2] -ge 1
        case '*'
            test $state[2] -eq $argv[2]
    end
end

# True when one of the options $argv is on the command line.
function __switchboard_seen
    set -l tokens (commandline -opc)
    for option in $argv
        contains -- $option $tokens; and return 0
    end
    return 1
end

# Runs switchboard with the -f and -S of the command line (so that it asks
# the same workspace), quietly and for at most two seconds: a completion
# must never hang or print on the terminal.
function __switchboard_ask
    set -l tokens (commandline -opc)
    set -l globals
    for i in (seq 2 (count $tokens))
        switch $tokens[$i]
            case -f --file -S --socket
                set -l next (math $i + 1)
                if test $next -le (count $tokens)
                    set -a globals $tokens[$i] (string replace -r '^~/' "$HOME/" -- $tokens[$next])
                end
            case '--file=*' '--socket=*'
                set -a globals $tokens[$i]
        end
    end
    if command -q timeout
        timeout 2 $tokens[1] $globals $argv 2>/dev/null </dev/null
    else
        $tokens[1] $globals $argv 2>/dev/null </dev/null
    end
end

# The workers of the running workspace, from `switchboard ls --json`.
function __switchboard_workers
    __switchboard_ask ls --json | string match -rg '^\s*"name": "([^"]*)",?$'
end

# The groups of the workspace file, as @GROUP, from `switchboard check --json`.
function __switchboard_groups
    command -q python3; or return
    __switchboard_ask check --json | python3 -c '
import json, sys
try:
    workers = json.load(sys.stdin)["workspace"]["workers"]
except Exception:
    sys.exit()
print("\n".join(sorted({"@" + g for w in workers for g in w.get("groups", [])})))
' 2>/dev/null
end

# The deliveries that can be cancelled, from `switchboard pending --json`.
function __switchboard_deliveries
    __switchboard_ask pending --json | string match -rg '^\s*"id": "([^"]*)",?$'
end

# The messages in the inbox, from `switchboard inbox --json`.
function __switchboard_inbox
    __switchboard_ask inbox --json | string match -rg '^\s*"id": "([^"]*)",?$'
end

complete -c switchboard -f

# Global options, accepted before and after the command.
complete -c switchboard -s h -l help -d 'Print help and exit'
complete -c switchboard -s V -l version -n "not __fish_seen_subcommand_from $commands" -d 'Print the version and exit'
complete -c switchboard -s f -l file -r -f -a '(__switchboard_workspace_files)' -d 'Workspace file'
complete -c switchboard -s S -l socket -r -F -d 'Control socket of a running workspace'
complete -c switchboard -l log-level -x -a 'trace debug info warn error off' -d 'How much to log'

# Commands.
set -l no_command "not __fish_seen_subcommand_from $commands"
complete -c switchboard -n $no_command -a up -d 'Start the server and every worker'
complete -c switchboard -n $no_command -a down -d 'Stop every worker and the server'
complete -c switchboard -n $no_command -a reload -d 'Apply changes of the workspace file'
complete -c switchboard -n $no_command -a ls -d 'List the workers with their state'
complete -c switchboard -n $no_command -a attach -d 'Show workers in this terminal and type into them'
complete -c switchboard -n $no_command -a capture -d "Print what a worker's screen shows"
complete -c switchboard -n $no_command -a keys -d "Type keys or text into a worker's terminal"
complete -c switchboard -n $no_command -a start -d 'Start stopped, exited or failed workers'
complete -c switchboard -n $no_command -a stop -d 'Stop workers and wait until they have ended'
complete -c switchboard -n $no_command -a restart -d 'Stop workers and start them again'
complete -c switchboard -n $no_command -a resize -d 'Change the terminal size of a worker'
complete -c switchboard -n $no_command -a events -d "Print the workspace's events, or follow them"
complete -c switchboard -n $no_command -a send -d 'Send a message to a worker, a @group, or all'
complete -c switchboard -n $no_command -a pending -d 'List queued and in-flight deliveries'
complete -c switchboard -n $no_command -a hold -d 'Pause injection into a worker'
complete -c switchboard -n $no_command -a release -d 'Resume injection into a held worker'
complete -c switchboard -n $no_command -a cancel -d 'Remove queued deliveries or messages in the inbox'
complete -c switchboard -n $no_command -a nudge -d 'Press submit again for a stalled delivery'
complete -c switchboard -n $no_command -a history -d 'List finished deliveries with outcome and latency'
complete -c switchboard -n $no_command -a inbox -d 'List the messages no worker takes'
complete -c switchboard -n $no_command -a dispatch -d 'Give a message in the inbox to a worker'
complete -c switchboard -n $no_command -a check -d 'Validate a workspace file and print its settings'
complete -c switchboard -n $no_command -a demo -d 'Watch two workers talk in an embedded demo workspace'
complete -c switchboard -n $no_command -a doctor -d 'Check this machine and a workspace, say how to fix problems'
complete -c switchboard -n $no_command -a help -d 'Show the help of a command'

# switchboard up
complete -c switchboard -n '__fish_seen_subcommand_from up' -s F -l foreground -d 'Run the server in this terminal'
complete -c switchboard -n '__fish_seen_subcommand_from up' -s d -l detach -d 'Do not attach after starting the server'

# switchboard attach [--prefix KEY] [WORKER]
complete -c switchboard -n '__fish_seen_subcommand_from attach' -l prefix -x -a 'C-b C-a C-Space M-a' -d 'The prefix key'

# switchboard down
complete -c switchboard -n '__fish_seen_subcommand_from down' -l timeout -x -d 'SIGKILL workers still running after this long'

# switchboard ls
complete -c switchboard -n '__fish_seen_subcommand_from ls' -l json -d 'Print the workers as JSON'

# switchboard capture [-e] [--scrollback N] [--json] WORKER
complete -c switchboard -n '__fish_seen_subcommand_from capture' -s e -l ansi -d 'Keep colours as escape sequences'
complete -c switchboard -n '__fish_seen_subcommand_from capture' -l scrollback -x -d 'Also print this many lines of scrollback'
complete -c switchboard -n '__fish_seen_subcommand_from capture' -l json -d 'Print the screen as JSON'

# switchboard keys [-l|--paste] WORKER KEYS...
complete -c switchboard -n '__fish_seen_subcommand_from keys' -s l -l literal -d 'Type the arguments as text'
complete -c switchboard -n '__fish_seen_subcommand_from keys' -l paste -d 'Send the text as one bracketed paste'
complete -c switchboard -n '__switchboard_argument keys rest; and not __switchboard_seen -l --literal --paste' \
    -a 'Enter Escape Tab BTab BSpace Space Up Down Left Right Home End PageUp PageDown Insert Delete
        F1 F2 F3 F4 F5 F6 F7 F8 F9 F10 F11 F12 C-c C-d C-z C-l C-u C-a C-e C-r M-Enter' -d Key

# switchboard start|stop|restart (WORKER... | -a)
complete -c switchboard -n '__fish_seen_subcommand_from start stop restart' -s a -l all -d 'All workers'
complete -c switchboard -n '__fish_seen_subcommand_from stop' -l timeout -x -d 'SIGKILL after this long'

# switchboard events
complete -c switchboard -n '__fish_seen_subcommand_from events' -l follow -d 'Keep printing new events'
complete -c switchboard -n '__fish_seen_subcommand_from events' -l since -x -d 'Only events after this sequence number'
complete -c switchboard -n '__fish_seen_subcommand_from events' -l json -d 'One JSON object per line'

# switchboard send [options] TARGET [MESSAGE]
complete -c switchboard -n '__fish_seen_subcommand_from send' -l from -x -a '(__switchboard_workers) user' -d Sender
complete -c switchboard -n '__fish_seen_subcommand_from send' -l key -x -d 'Idempotency key'
complete -c switchboard -n '__fish_seen_subcommand_from send' -l ttl -x -d 'Drop the message when not typed within this'
complete -c switchboard -n '__fish_seen_subcommand_from send' -l to-inbox -d 'Put the message in the inbox'
complete -c switchboard -n '__fish_seen_subcommand_from send' -l reply-to -x -d "Reply to this delivery's sender"
complete -c switchboard -n '__fish_seen_subcommand_from send' -l wait -d "Wait for every delivery's outcome"
complete -c switchboard -n '__fish_seen_subcommand_from send' -l wait-reply -d 'Wait for the reply and print it'
complete -c switchboard -n '__fish_seen_subcommand_from send' -l timeout -x -d 'With --wait or --wait-reply, give up after this long'
complete -c switchboard -n '__fish_seen_subcommand_from send' -l json -d 'Print the result as JSON'
complete -c switchboard -n '__switchboard_argument send 0' -a '(__switchboard_groups) all' -d Target

# switchboard pending [--json] [WORKER]
complete -c switchboard -n '__fish_seen_subcommand_from pending' -l json -d 'Print the deliveries as JSON'

# switchboard history [--since DURATION] [--json] [WORKER]
complete -c switchboard -n '__fish_seen_subcommand_from history' -l since -x -d 'Only deliveries that finished within this long'
complete -c switchboard -n '__fish_seen_subcommand_from history' -l json -d 'Print the deliveries as JSON'

# switchboard cancel ID...
complete -c switchboard -n '__switchboard_argument cancel any' -a '(__switchboard_deliveries)' -d Delivery
complete -c switchboard -n '__switchboard_argument cancel any' -a '(__switchboard_inbox)' -d 'In the inbox'

# switchboard inbox [--json]
complete -c switchboard -n '__fish_seen_subcommand_from inbox' -l json -d 'Print the inbox as JSON'

# switchboard dispatch ID WORKER
complete -c switchboard -n '__switchboard_argument dispatch 0' -a '(__switchboard_inbox)' -d 'In the inbox'
complete -c switchboard -n '__switchboard_argument dispatch 1' -a '(__switchboard_workers)' -d Worker

# switchboard nudge ID...
complete -c switchboard -n '__switchboard_argument nudge any' -a '(__switchboard_deliveries)' -d Delivery

# switchboard check
complete -c switchboard -n '__fish_seen_subcommand_from check' -l json -d 'Print the result as JSON'

# Workers, for every command that takes one.
complete -c switchboard -n '__switchboard_argument attach,capture,keys,resize,pending,history,hold,release,send 0' -a '(__switchboard_workers)' -d Worker
complete -c switchboard -n '__switchboard_argument start,stop,restart any; and not __switchboard_seen -a --all' -a '(__switchboard_workers)' -d Worker

# switchboard help COMMAND
complete -c switchboard -n __switchboard_wants_help_topic -a "$commands" -d Command

# switchboard demo
complete -c switchboard -n '__fish_seen_subcommand_from demo' -l no-attach -d 'Run the exchanges and print the results'
complete -c switchboard -n '__fish_seen_subcommand_from demo' -l exchanges -x -d 'How many tasks to exchange (1-100)'
