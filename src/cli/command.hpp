#pragma once

#include <functional>
#include <span>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>

namespace sb::cli {

// Exit statuses every command shares; commands document their own on top.
inline constexpr int exit_ok = 0;
inline constexpr int exit_failure = 1;
inline constexpr int exit_usage = 2;

// Options accepted before or after any command.
struct GlobalOptions {
    std::string file;
    std::string socket;
    std::string log_level = "info";
};

// What every command exports: its name, a one-line summary for the command
// list, and a function that declares its options on its own CLI11 app and
// returns what runs the command once the command line is parsed.
struct CommandSpec {
    std::string_view name;
    std::string_view summary;
    std::function<int()> (*define)(CLI::App& command, const GlobalOptions& globals);
    // The heading `--help` lists the command under; set by the table.
    std::string_view group = {};
};

// The command table, in the order `--help` lists it (cli/commands.cpp).
std::span<const CommandSpec> commands();

// Parses argv against the table and runs the chosen command; returns the exit status.
int run(int argc, char** argv);

} // namespace sb::cli
