#pragma once

#include <string_view>

// The demo workspace that `switchboard demo` writes to its private directory
// and starts. It needs nothing but bash and python3.
namespace sb::cli::demo_files {

// The workspace file. ${SWITCHBOARD_DEMO_BIN} is the directory of the
// switchboard binary that runs the demo, put first on the workers' PATH so
// that they run `switchboard send` with the same build.
inline constexpr std::string_view workspace = R"yaml(# The workspace of `switchboard demo`.
version: 1
name: demo
defaults:
  size: 100x30
  scrollback: 2000
  restart: never
  stop_timeout: 2s
  profile: shell
  env:
    LANG: C.UTF-8
    PATH: "${SWITCHBOARD_DEMO_BIN}:${PATH}"
workers:
  planner:
    command: [bash, --noprofile, --rcfile, planner.sh, -i]
  coder:
    command: [python3, -q, -i]
    env:
      PYTHONSTARTUP: coder.py
)yaml";

// The planner's bash start-up file: `task N` asks the coder for N squared,
// `answer N VALUE` is how the coder's reply arrives (typed in by switchboard).
inline constexpr std::string_view planner = R"sh(# The planner of `switchboard demo`, a bash shell.
PS1='planner$ '
task() {
    echo "planner: asking the coder for square($1)"
    switchboard send coder "solve($1)" >/dev/null
}
answer() {
    if [ "$2" = "$(($1 * $1))" ]; then
        echo "planner: square($1) = $2, correct"
    else
        echo "planner: square($1) = $2, wrong"
    fi
}
)sh";

// The coder's Python start-up file: solve(n) works the task out and sends
// the answer back to the planner with `switchboard send`.
inline constexpr std::string_view coder = R"py(# The coder of `switchboard demo`, a Python REPL.
import subprocess
import sys

sys.ps1 = "coder>>> "


def solve(n):
    result = n * n
    print(f"coder: square({n}) = {result}; sending it to the planner")
    subprocess.run(["switchboard", "send", "planner", f"answer {n} {result}"],
                   stdout=subprocess.DEVNULL, check=True)
)py";

} // namespace sb::cli::demo_files
