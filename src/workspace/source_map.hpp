#pragma once

#include <map>
#include <string>

namespace sb::workspace {

struct Position {
    int line = 0;
    int column = 0;
};

// Where the loader found the values that validation checks against the
// machine (a cwd that must exist, a program that should be on PATH), so those
// findings point at the right line too.
struct SourceMap {
    struct WorkerPositions {
        Position name;
        Position command;
        Position cwd;
    };
    std::map<std::string, WorkerPositions> workers;
};

} // namespace sb::workspace
