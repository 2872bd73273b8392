#include "agents.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string_view>

#include "process.hpp"

namespace sb::test {

std::string fake_agent() {
    const char* path = std::getenv("SWITCHBOARD_FAKE_AGENT");
    if (path == nullptr) {
        throw std::runtime_error("SWITCHBOARD_FAKE_AGENT is not set; run through meson test");
    }
    return path;
}

std::string agent_worker(const std::string& name, const std::string& log, const std::string& flags,
                         const std::string& extra) {
    std::string command = "[" + fake_agent();
    std::istringstream words(flags);
    std::string word;
    while (words >> word) {
        command += ", " + word;
    }
    command += ", --log, " + log + "]";
    return "  " + name + ":\n    command: " + command + "\n    profile: claude\n" + extra;
}

std::vector<Submission> submissions(const std::filesystem::path& log) {
    std::vector<Submission> out;
    std::ifstream in(log);
    std::string line;
    while (std::getline(in, line)) {
        const auto entry = nlohmann::json::parse(line);
        out.push_back({entry["pid"].get<long>(), entry["text"].get<std::string>()});
    }
    return out;
}

std::vector<std::string> logged(const std::filesystem::path& log) {
    std::vector<std::string> texts;
    for (auto& s : submissions(log)) {
        texts.push_back(std::move(s.text));
    }
    return texts;
}

std::vector<std::string> logged(const std::filesystem::path& log, std::size_t count) {
    eventually([&] { return logged(log).size() >= count; }, std::chrono::milliseconds(10000));
    return logged(log);
}

int load(int full) {
    const char* setting = std::getenv("SWITCHBOARD_TEST_LOAD");
    return setting != nullptr && std::string_view(setting) == "light" ? full / 5 : full;
}

nlohmann::json listed(const WorkspaceServer& ws, const std::string& command) {
    const auto result = ws.cli({command, "--json"});
    if (result.exit_status != 0) {
        throw std::runtime_error("switchboard " + command + " --json exited " +
                                 std::to_string(result.exit_status) + ": " + result.err);
    }
    return nlohmann::json::parse(result.out)["deliveries"];
}

std::vector<nlohmann::json> events(const WorkspaceServer& ws) {
    std::vector<nlohmann::json> out;
    std::istringstream lines(ws.cli({"events", "--since", "0", "--json"}).out);
    std::string line;
    while (std::getline(lines, line)) {
        out.push_back(nlohmann::json::parse(line));
    }
    return out;
}

std::vector<nlohmann::json> events_of(const WorkspaceServer& ws, const std::string& type) {
    std::vector<nlohmann::json> out;
    for (auto& e : events(ws)) {
        if (e["type"] == type) {
            out.push_back(e);
        }
    }
    return out;
}

} // namespace sb::test
