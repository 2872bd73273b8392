#pragma once

#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace CLI {
class App;
class Option;
} // namespace CLI

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

// One argument or option of a command, as CommandOptions declared it.
class Option {
public:
    explicit Option(CLI::Option* option) : option_(option) {}

    // The word `--help` shows for the value ("DURATION").
    Option& option_text(const std::string& text);
    Option& required();
    // Refuses a value for which `validator` returns a message, which says why.
    Option& check(std::function<std::string(const std::string&)> validator);
    // Refuses a number outside min..max (CLI::Range).
    Option& check_range(int min, int max);
    // Refuses a negative number (CLI::NonNegativeNumber).
    Option& check_non_negative();
    // Refuses to be given together with `other` (and `other` with this one).
    Option& excludes(const Option& other);

private:
    CLI::Option* option_;
};

// Declares a command's arguments and options on its CLI11 app. CLI11 is
// header-only and costs seconds of compile time in every file that includes
// it; behind this class only command_options.cpp, run.cpp and help.cpp do.
class CommandOptions {
public:
    explicit CommandOptions(CLI::App& app) : app_(app) {}

    Option add_option(const std::string& name, std::string& value, const std::string& description);
    Option add_option(const std::string& name, std::vector<std::string>& values,
                      const std::string& description);
    Option add_option(const std::string& name, int& value, const std::string& description);
    Option add_option(const std::string& name, long long& value, const std::string& description);
    Option add_flag(const std::string& name, bool& value, const std::string& description);
    void footer(const std::string& text);

    // The command's own CLI11 app, for help, which reads the command table.
    CLI::App& app() const { return app_; }

private:
    CLI::App& app_;
};

// What every command exports: its name, a one-line summary for the command
// list, and a function that declares its options on its own CLI11 app and
// returns what runs the command once the command line is parsed.
struct CommandSpec {
    std::string_view name;
    std::string_view summary;
    std::function<int()> (*define)(CommandOptions& command, const GlobalOptions& globals);
    // The heading `--help` lists the command under; set by the table.
    std::string_view group = {};
};

// The command table, in the order `--help` lists it (cli/commands.cpp).
std::span<const CommandSpec> commands();

// Parses argv against the table and runs the chosen command; returns the exit status.
int run(int argc, char** argv);

} // namespace sb::cli
