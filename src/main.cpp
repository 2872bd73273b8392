#include <exception>
#include <iostream>

#include "cli/command.hpp"

int main(int argc, char** argv) {
    try {
        return sb::cli::run(argc, argv);
    } catch (const std::exception& failure) {
        // Startup and configuration errors may throw; the user sees one line.
        std::cerr << "switchboard: " << failure.what() << '\n';
        return sb::cli::exit_failure;
    }
}
