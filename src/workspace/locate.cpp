#include "workspace/locate.hpp"

#include <system_error>

namespace sb::workspace {

std::optional<std::filesystem::path> locate(const std::filesystem::path& start) {
    std::error_code ec;
    std::filesystem::path directory = std::filesystem::absolute(start, ec);
    if (ec) {
        return std::nullopt;
    }
    while (true) {
        for (const char* name : {"switchboard.yaml", "switchboard.yml"}) {
            const auto candidate = directory / name;
            if (std::filesystem::is_regular_file(candidate, ec)) {
                return candidate;
            }
        }
        if (!directory.has_parent_path() || directory.parent_path() == directory) {
            return std::nullopt;
        }
        directory = directory.parent_path();
    }
}

} // namespace sb::workspace
