# fish completion for switchboard(1)

set -l commands check help

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

complete -c switchboard -f

# Global options, accepted before and after the command.
complete -c switchboard -s h -l help -d 'Print help and exit'
complete -c switchboard -s V -l version -n "not __fish_seen_subcommand_from $commands" -d 'Print the version and exit'
complete -c switchboard -s f -l file -r -f -a '(__switchboard_workspace_files)' -d 'Workspace file'
complete -c switchboard -s S -l socket -r -F -d 'Control socket of a running workspace'
complete -c switchboard -l log-level -x -a 'trace debug info warn error off' -d 'How much to log'

# Commands.
complete -c switchboard -n "not __fish_seen_subcommand_from $commands" -a check -d 'Validate a workspace file and print its settings'
complete -c switchboard -n "not __fish_seen_subcommand_from $commands" -a help -d 'Show the help of a command'

# switchboard check
complete -c switchboard -n '__fish_seen_subcommand_from check' -l json -d 'Print the result as JSON'

# switchboard help COMMAND
complete -c switchboard -n __switchboard_wants_help_topic -a "$commands" -d Command
