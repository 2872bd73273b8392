// `switchboard up` as a user runs it, on private runtime and state directories.
#include <cstring>
#include <fstream>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include "process.hpp"

using namespace std::chrono_literals;
using sb::test::BackgroundProcess;
using sb::test::run;
using sb::test::switchboard_binary;
using sb::test::TempDir;

namespace {

struct Workspace {
    TempDir dir;
    std::filesystem::path file;
    sb::test::RunOptions options;

    explicit Workspace(const std::string& yaml) {
        file = dir.write("ws/switchboard.yaml", yaml);
        dir.write("runtime/.keep", "");
        std::filesystem::permissions(dir.path() / "runtime", std::filesystem::perms::owner_all,
                                     std::filesystem::perm_options::replace);
        options.env["XDG_RUNTIME_DIR"] = (dir.path() / "runtime").string();
        options.env["XDG_STATE_HOME"] = (dir.path() / "state").string();
        options.cwd = dir.path() / "ws";
    }
};

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

} // namespace

TEST_SUITE("up") {
    TEST_CASE("up --foreground runs the workers until SIGTERM, then stops them and exits 0") {
        Workspace ws(R"(name: fg
workers:
  shell:
    command: [bash, --noprofile, --norc, -i]
  marker:
    command: "echo $SWITCHBOARD_WORKER > marker.txt; exec sleep 600"
  stubborn:
    command: [sh, -c, "trap '' TERM HUP; echo ignoring-term; while :; do sleep 1; done"]
    stop_timeout: 300ms
)");
        BackgroundProcess server(
            {switchboard_binary(), "up", "--foreground", "--log-level", "debug"}, ws.options);
        // The shell makes the file before echo writes into it: wait for its text.
        CHECK(sb::test::eventually(
            [&] { return read_file(ws.dir.path() / "ws/marker.txt") == "marker\n"; }, 10000ms));
        REQUIRE(server.wait_for_output("stubborn: started", 5000ms));
        // SIGTERM only once its trap is set, or it ends at once.
        REQUIRE(sb::test::eventually(
            [&] {
                return run({switchboard_binary(), "capture", "stubborn"}, ws.options)
                           .out.find("ignoring-term") != std::string::npos;
            },
            10000ms));

        // A second server for the same workspace is refused.
        const auto second = run({switchboard_binary(), "up", "--foreground"}, ws.options);
        CHECK(second.exit_status == 1);
        CHECK(second.err.find("workspace \"fg\" is already running (server pid " +
                              std::to_string(server.pid()) + ")") != std::string::npos);

        server.signal(SIGTERM);
        REQUIRE(server.wait(10000ms));
        CHECK(server.exit_status() == 0);
        CHECK(server.err().find("SIGTERM: stopping 3 workers") != std::string::npos);
        CHECK(server.err().find("stubborn: still running 300 ms after SIGTERM; sending SIGKILL") !=
              std::string::npos);
        CHECK(server.err().find("all workers stopped") != std::string::npos);
    }

    TEST_CASE("up --foreground tells systemd READY=1 on NOTIFY_SOCKET, which workers do not see") {
        Workspace ws(R"(name: notify
workers:
  marker:
    command: "echo ${NOTIFY_SOCKET:-unset} > marker.txt; exec sleep 600"
)");
        const auto socket_path = ws.dir.path() / "notify.sock";
        const int listener = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        REQUIRE(listener >= 0);
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        std::strncpy(address.sun_path, socket_path.c_str(), sizeof address.sun_path - 1);
        REQUIRE(::bind(listener, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0);

        auto options = ws.options;
        options.env["NOTIFY_SOCKET"] = socket_path.string();
        BackgroundProcess server({switchboard_binary(), "up", "--foreground"}, options);
        pollfd readable{.fd = listener, .events = POLLIN};
        REQUIRE(::poll(&readable, 1, 30000) == 1);
        char datagram[256] = {};
        const ssize_t n = ::recv(listener, datagram, sizeof datagram - 1, 0);
        ::close(listener);
        CHECK(std::string(datagram, n > 0 ? static_cast<std::size_t>(n) : 0) == "READY=1");

        // READY comes after every worker has been started; the marker may
        // still be on its way to disk.
        REQUIRE(sb::test::eventually(
            [&] { return read_file(ws.dir.path() / "ws/marker.txt") == "unset\n"; }, 10000ms));
        server.signal(SIGTERM);
        REQUIRE(server.wait(10000ms));
        CHECK(server.exit_status() == 0);
    }

    TEST_CASE("up refuses an invalid workspace with the same errors as check") {
        Workspace ws("workers:\n  a: {comand: [bash]}\n");
        const auto result = run({switchboard_binary(), "up", "--foreground"}, ws.options);
        CHECK(result.exit_status == 1);
        CHECK(result.err.find("unknown key \"comand\" (did you mean \"command\"?)") !=
              std::string::npos);
        CHECK(result.err.find("not starting") != std::string::npos);
    }

    TEST_CASE(
        "up without --foreground returns once the server runs, and a stale lock is taken over") {
        Workspace ws("name: bg\nworkers:\n  sleeper: {command: [sleep, '600']}\n");
        // A lock file left by a server that died (nobody holds the flock).
        sb::test::TempDir unused;
        { std::ofstream stale(ws.dir.path() / "runtime/switchboard/bg.lock"); }
        std::filesystem::create_directories(ws.dir.path() / "runtime/switchboard");
        std::filesystem::permissions(ws.dir.path() / "runtime/switchboard",
                                     std::filesystem::perms::owner_all,
                                     std::filesystem::perm_options::replace);
        std::ofstream(ws.dir.path() / "runtime/switchboard/bg.lock") << "99999999\n";

        const auto result = run({switchboard_binary(), "up"}, ws.options);
        CHECK(result.exit_status == 0);
        CHECK(result.out.find("workspace \"bg\" is up: 1 worker") != std::string::npos);
        const std::string pid_text = read_file(ws.dir.path() / "runtime/switchboard/bg.lock");
        REQUIRE_FALSE(pid_text.empty());
        const pid_t pid = std::stoi(pid_text);
        CHECK(sb::test::process_alive(pid));
        CHECK(sb::test::eventually(
            [&] {
                return read_file(ws.dir.path() / "state/switchboard/bg/server.log")
                           .find("sleeper: started") != std::string::npos;
            },
            5000ms));

        const auto again = run({switchboard_binary(), "up"}, ws.options);
        CHECK(again.exit_status == 1);
        CHECK(again.err.find("already running") != std::string::npos);

        ::kill(pid, SIGTERM);
        CHECK(sb::test::eventually([&] { return !sb::test::process_alive(pid); }, 10000ms));
        CHECK(read_file(ws.dir.path() / "state/switchboard/bg/server.log")
                  .find("all workers stopped") != std::string::npos);
    }

    TEST_CASE("a runtime directory open to others is refused") {
        Workspace ws("workers:\n  a: {command: [sleep, '1']}\n");
        std::filesystem::create_directories(ws.dir.path() / "runtime/switchboard");
        std::filesystem::permissions(ws.dir.path() / "runtime/switchboard",
                                     std::filesystem::perms::all,
                                     std::filesystem::perm_options::replace);
        const auto result = run({switchboard_binary(), "up", "--foreground"}, ws.options);
        CHECK(result.exit_status == 1);
        CHECK(result.err.find("is open to other users; make it private with chmod 700") !=
              std::string::npos);
    }
}
