#include "workspace_server.hpp"

#include <cstring>
#include <fstream>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace sb::test {

WorkspaceServer::WorkspaceServer(const std::string& yaml, const std::string& name) : name_(name) {
    directory_ = temp_.path() / "ws";
    std::filesystem::create_directories(directory_);
    std::filesystem::create_directories(runtime());
    std::filesystem::permissions(runtime(), std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::replace);
    write_file(yaml);
    options_.env["XDG_RUNTIME_DIR"] = runtime().string();
    options_.env["XDG_STATE_HOME"] = state().string();
    options_.env["SWITCHBOARD_SOCKET"] = std::nullopt;
    options_.env["SWITCHBOARD_WORKER"] = std::nullopt;
    options_.cwd = directory_;
}

WorkspaceServer::~WorkspaceServer() {
    if (server_) {
        server_->signal(SIGTERM);
        if (!server_->wait(std::chrono::seconds(20))) {
            server_->signal(SIGKILL);
            server_->wait(std::chrono::seconds(5));
        }
    }
}

void WorkspaceServer::write_file(const std::string& yaml) const {
    std::ofstream out(directory_ / "switchboard.yaml");
    out << "name: " << name_ << "\n" << yaml;
}

std::filesystem::path WorkspaceServer::socket() const {
    return runtime() / "switchboard" / (name_ + ".sock");
}

bool WorkspaceServer::start(std::chrono::milliseconds timeout) {
    server_ = std::make_unique<BackgroundProcess>(std::vector<std::string>{switchboard_binary(),
                                                                           "up", "--foreground",
                                                                           "--log-level", "debug"},
                                                  options_);
    return eventually(
        [&] {
            const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
            sockaddr_un address{};
            address.sun_family = AF_UNIX;
            const std::string path = socket().string();
            std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
            const bool ok =
                ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
            ::close(fd);
            return ok;
        },
        timeout);
}

void WorkspaceServer::crash() {
    if (server_) {
        server_->signal(SIGKILL);
        server_->wait(std::chrono::seconds(20));
    }
}

RunResult WorkspaceServer::cli(const std::vector<std::string>& args,
                               const std::string& input) const {
    std::vector<std::string> argv = {switchboard_binary(), "-f", file().string()};
    argv.insert(argv.end(), args.begin(), args.end());
    RunOptions options = options_;
    options.input = input;
    return run(argv, options);
}

RunResult WorkspaceServer::cli_bare(const std::vector<std::string>& args) const {
    std::vector<std::string> argv = {switchboard_binary()};
    argv.insert(argv.end(), args.begin(), args.end());
    RunOptions options = options_;
    options.cwd = "/";
    return run(argv, options);
}

} // namespace sb::test
