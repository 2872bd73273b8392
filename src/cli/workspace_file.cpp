#include "cli/workspace_file.hpp"

#include "workspace/locate.hpp"

namespace sb::cli {

std::optional<WorkspaceFileChoice> choose_workspace_file(const GlobalOptions& globals,
                                                         std::string& error) {
    if (!globals.file.empty()) {
        return WorkspaceFileChoice{globals.file, false};
    }
    std::error_code ec;
    const auto here = std::filesystem::current_path(ec);
    if (!ec) {
        if (auto found = workspace::locate(here)) {
            return WorkspaceFileChoice{*found, true};
        }
    }
    error = "no switchboard.yaml or switchboard.yml in " + (ec ? std::string(".") : here.string()) +
            " or any parent directory; name one with -f FILE";
    return std::nullopt;
}

} // namespace sb::cli
