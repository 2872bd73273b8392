// The control socket and the client commands, against a real server.
#include <cstring>
#include <fstream>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "process.hpp"
#include "workspace_server.hpp"

using namespace std::chrono_literals;
using nlohmann::json;
using sb::test::eventually;
using sb::test::WorkspaceServer;

namespace {

const char* const shell_workspace = R"(workers:
  sh:
    command: [bash, --noprofile, --norc, -i]
    env: {PS1: "sh$ "}
    size: {cols: 80, rows: 24}
  py:
    command: [python3, -q, -i]
    size: {cols: 80, rows: 24}
)";

// A raw protocol client for the hostile-client tests.
class RawClient {
public:
    explicit RawClient(const std::filesystem::path& socket) {
        fd_ = ::socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        std::strncpy(address.sun_path, socket.c_str(), sizeof address.sun_path - 1);
        connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
        timeval tv{10, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    }
    ~RawClient() { close(); }
    void close() {
        if (fd_ >= 0) {
            ::close(fd_);
            fd_ = -1;
        }
    }
    bool connected() const { return connected_; }
    bool send(const std::string& bytes) {
        std::size_t done = 0;
        while (done < bytes.size()) {
            const ssize_t n = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
            if (n <= 0) {
                return false;
            }
            done += static_cast<std::size_t>(n);
        }
        return true;
    }
    // The next line, or "" at end of stream or on timeout.
    std::string line() {
        while (true) {
            const auto newline = buffer_.find('\n');
            if (newline != std::string::npos) {
                std::string out = buffer_.substr(0, newline);
                buffer_.erase(0, newline + 1);
                return out;
            }
            char chunk[65536];
            const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
            if (n <= 0) {
                return "";
            }
            buffer_.append(chunk, static_cast<std::size_t>(n));
        }
    }
    json request(const std::string& text) {
        send(text + "\n");
        const auto reply = line();
        return reply.empty() ? json() : json::parse(reply);
    }
    // The server closed the connection: end of stream, or a reset when it
    // closed with our unread bytes still queued.
    bool at_eof() {
        char c;
        const ssize_t n = ::recv(fd_, &c, 1, 0);
        return n == 0 || (n < 0 && errno == ECONNRESET);
    }
    int fd() const { return fd_; }

private:
    int fd_ = -1;
    bool connected_ = false;
    std::string buffer_;
};

bool capture_has(const WorkspaceServer& ws, const std::string& worker, const std::string& text,
                 std::chrono::milliseconds timeout = 10000ms) {
    return eventually(
        [&] {
            const auto r = ws.cli({"capture", worker, "--scrollback", "200"});
            return r.exit_status == 0 && r.out.find(text) != std::string::npos;
        },
        timeout);
}

} // namespace

TEST_SUITE("control") {
    TEST_CASE("ls, capture and keys against bash and python3") {
        WorkspaceServer ws(shell_workspace);
        REQUIRE(ws.start());
        auto ls = ws.cli({"ls"});
        CHECK(ls.exit_status == 0);
        CHECK(ls.out.find("WORKER") != std::string::npos);
        CHECK(ls.out.find("sh ") != std::string::npos);
        CHECK(ls.out.find("running") != std::string::npos);

        const auto ls_json = json::parse(ws.cli({"ls", "--json"}).out);
        REQUIRE(ls_json["workers"].size() == 2);
        CHECK(ls_json["workers"][0]["name"] == "sh");
        CHECK(ls_json["workers"][0]["state"] == "running");
        CHECK(ls_json["workers"][0]["pid"].get<int>() > 0);
        CHECK(ls_json["workers"][0]["size"]["cols"] == 80);
        CHECK(ls_json["workers"][1]["restarts"] == 0);

        CHECK(ws.cli({"keys", "sh", "-l", "echo $((40+2))-ok"}).exit_status == 0);
        CHECK(ws.cli({"keys", "sh", "Enter"}).exit_status == 0);
        CHECK(capture_has(ws, "sh", "42-ok"));

        CHECK(ws.cli({"keys", "py", "-l", "print(6*7, 'py')"}).exit_status == 0);
        CHECK(ws.cli({"keys", "py", "Enter"}).exit_status == 0);
        CHECK(capture_has(ws, "py", "42 py"));

        // C-c interrupts a running command.
        ws.cli({"keys", "sh", "-l", "sleep 100; echo not-interrupted"});
        ws.cli({"keys", "sh", "Enter"});
        std::this_thread::sleep_for(200ms);
        ws.cli({"keys", "sh", "C-c"});
        ws.cli({"keys", "sh", "-l", "echo after-interrupt"});
        ws.cli({"keys", "sh", "Enter"});
        CHECK(capture_has(ws, "sh", "after-interrupt"));
        CHECK(ws.cli({"capture", "sh"}).out.find("\nnot-interrupted") == std::string::npos);

        // Colours survive capture --ansi; the plain capture has none.
        ws.cli({"keys", "sh", "-l", "printf '\\033[31mRED\\033[0m\\n'"});
        ws.cli({"keys", "sh", "Enter"});
        // The output's line, not the echo of the command (which has RED too).
        CHECK(capture_has(ws, "sh", "\nRED"));
        const auto ansi = ws.cli({"capture", "sh", "--ansi"});
        CHECK(ansi.out.find("\x1b[") != std::string::npos);
        CHECK(ws.cli({"capture", "sh"}).out.find("\x1b") == std::string::npos);

        const auto captured = json::parse(ws.cli({"capture", "sh", "--json"}).out);
        CHECK(captured["cols"] == 80);
        CHECK(captured["rows"] == 24);
        CHECK(captured["cursor"]["row"].is_number());

        const auto unknown = ws.cli({"capture", "nobody"});
        CHECK(unknown.exit_status == 1);
        CHECK(unknown.err ==
              "switchboard: no worker \"nobody\" in workspace \"ws\" (workers: sh, py)\n");
    }

    TEST_CASE("capture --scrollback returns the lines that scrolled off") {
        WorkspaceServer ws(
            "workers:\n  s: {command: [sh, -c, 'seq 1 500; exec sleep 600'], size: 80x24}\n");
        REQUIRE(ws.start());
        REQUIRE(capture_has(ws, "s", "500"));
        const auto screen = ws.cli({"capture", "s"});
        CHECK(screen.out.find("\n100\n") == std::string::npos);
        const auto more = ws.cli({"capture", "s", "--scrollback", "450"});
        CHECK(more.out.find("\n100\n") != std::string::npos);
        CHECK(more.out.find("\n500\n") != std::string::npos);
    }

    TEST_CASE("start, stop, restart and resize") {
        WorkspaceServer ws(R"(workers:
  a: {command: [bash, --noprofile, --norc, -i]}
  stubborn:
    command: [sh, -c, "trap '' TERM HUP; echo ready; while :; do sleep 1; done"]
    stop_timeout: 200ms
)");
        REQUIRE(ws.start());
        REQUIRE(capture_has(ws, "stubborn", "ready"));
        auto stopped = ws.cli({"stop", "stubborn"});
        CHECK(stopped.exit_status == 0);
        CHECK(stopped.out.find("stubborn: stopped") != std::string::npos);
        CHECK(stopped.out.find("Killed") != std::string::npos);

        auto ls = json::parse(ws.cli({"ls", "--json"}).out);
        CHECK(ls["workers"][1]["state"] == "stopped");
        CHECK(ls["workers"][1]["exit"]["signal"] == SIGKILL);

        CHECK(ws.cli({"start", "stubborn"}).out.find("stubborn: running (pid") !=
              std::string::npos);
        const auto pid_before =
            json::parse(ws.cli({"ls", "--json"}).out)["workers"][0]["pid"].get<int>();
        // restart answers once the new run has started, and shows it.
        const auto restarted = ws.cli({"restart", "a"});
        CHECK(restarted.exit_status == 0);
        CHECK(restarted.out.find("a: running (pid ") != std::string::npos);
        CHECK(restarted.out.find("(pid " + std::to_string(pid_before) + ")") == std::string::npos);
        const auto a = json::parse(ws.cli({"ls", "--json"}).out)["workers"][0];
        CHECK(a["state"] == "running");
        CHECK(a["pid"].get<int>() != pid_before);
        CHECK(restarted.out.find("(pid " + std::to_string(a["pid"].get<int>()) + ")") !=
              std::string::npos);
        // A stubborn worker's restart waits for its stop_timeout, then for
        // the new run.
        const auto stubborn_before =
            json::parse(ws.cli({"ls", "--json"}).out)["workers"][1]["pid"].get<int>();
        CHECK(ws.cli({"restart", "stubborn"}).out.find("stubborn: running (pid ") !=
              std::string::npos);
        const auto stubborn = json::parse(ws.cli({"ls", "--json"}).out)["workers"][1];
        CHECK(stubborn["state"] == "running");
        CHECK(stubborn["pid"].get<int>() != stubborn_before);

        CHECK(ws.cli({"resize", "a", "100x30"}).exit_status == 0);
        ws.cli({"keys", "a", "-l", "stty size"});
        ws.cli({"keys", "a", "Enter"});
        CHECK(capture_has(ws, "a", "30 100"));
        CHECK(ws.cli({"resize", "a", "5x5"}).exit_status == 1);
        CHECK(ws.cli({"resize", "a", "big"}).exit_status == 2);

        CHECK(ws.cli({"stop", "--all", "--timeout", "100ms"}).exit_status == 0);
        ls = json::parse(ws.cli({"ls", "--json"}).out);
        CHECK(ls["workers"][0]["state"] == "stopped");
        CHECK(ls["workers"][1]["state"] == "stopped");
        CHECK(ws.cli({"stop"}).exit_status == 2);
        CHECK(ws.cli({"stop", "nope"}).exit_status == 1);
    }

    TEST_CASE("a restarted worker that printed as it ended keeps running") {
        // Its last words are still unread when its exit is seen; reading
        // them to the end finishes the run and starts the next one, which
        // the wait for the last run's stragglers must leave alone.
        WorkspaceServer ws(R"(workers:
  w:
    command: [sh, -c, "trap 'echo bye; exit 0' HUP TERM; echo ready; while :; do sleep 1; done"]
)");
        REQUIRE(ws.start());
        REQUIRE(capture_has(ws, "w", "ready"));
        for (int round = 0; round < 3; ++round) {
            CAPTURE(round);
            const auto before =
                json::parse(ws.cli({"ls", "--json"}).out)["workers"][0]["pid"].get<int>();
            REQUIRE(ws.cli({"restart", "w"}).exit_status == 0);
            // restart answers once the new run has started.
            const auto now = json::parse(ws.cli({"ls", "--json"}).out)["workers"][0];
            REQUIRE(now["state"] == "running");
            const int pid = now["pid"].get<int>();
            REQUIRE(pid != before);
            // Longer than the grace given to processes left behind.
            std::this_thread::sleep_for(1500ms);
            const auto after = json::parse(ws.cli({"ls", "--json"}).out)["workers"][0];
            CHECK(after["state"] == "running");
            CHECK(after["pid"].get<int>() == pid);
        }
        CHECK(ws.cli({"events"}).out.find("worker_restarting") == std::string::npos);
    }

    TEST_CASE("events --follow sees a worker restart") {
        WorkspaceServer ws("workers:\n  w: {command: [sleep, '600'], restart: always}\n");
        REQUIRE(ws.start());
        sb::test::RunOptions options = ws.options();
        sb::test::BackgroundProcess follower({sb::test::switchboard_binary(), "-f",
                                              ws.file().string(), "events", "--follow", "--json"},
                                             options);
        std::this_thread::sleep_for(300ms);
        const auto pid = json::parse(ws.cli({"ls", "--json"}).out)["workers"][0]["pid"].get<int>();
        ::kill(pid, SIGKILL);
        REQUIRE(follower.wait_for_output("\"worker_started\"", 10000ms));
        std::vector<std::string> types;
        std::istringstream lines(follower.out());
        std::string line;
        while (std::getline(lines, line)) {
            const auto event = json::parse(line);
            types.push_back(event["type"]);
            CHECK(event["seq"].is_number());
            CHECK(event["ts"].get<std::string>().size() == 24);
        }
        CHECK(types ==
              std::vector<std::string>{"worker_exited", "worker_restarting", "worker_started"});

        // --since replays what is kept.
        const auto all = ws.cli({"events", "--since", "0", "--json"});
        CHECK(all.out.find("\"server_started\"") != std::string::npos);
        CHECK(all.out.find("\"worker_restarting\"") != std::string::npos);
        const auto human = ws.cli({"events"});
        CHECK(human.out.find("worker_restarting") != std::string::npos);
        CHECK(human.out.find("delay_ms=1000") != std::string::npos);
    }

    TEST_CASE("down stops a worker that ignores SIGTERM and returns after the server exits") {
        WorkspaceServer ws(R"(workers:
  stubborn:
    command: [sh, -c, "trap '' TERM HUP; while :; do sleep 1; done"]
    stop_timeout: 30s
)");
        REQUIRE(ws.start());
        const auto begin = std::chrono::steady_clock::now();
        const auto down = ws.cli({"down", "--timeout", "300ms"});
        CHECK(down.exit_status == 0);
        CHECK(down.out == "workspace \"ws\" is down\n");
        CHECK(std::chrono::steady_clock::now() - begin < 10s);
        CHECK(ws.server().wait(5000ms));
        CHECK(ws.server().exit_status() == 0);
        CHECK_FALSE(std::filesystem::exists(ws.socket()));
        const auto after = ws.cli({"ls"});
        CHECK(after.exit_status == 1);
        CHECK(after.err.find("no server is running for workspace \"ws\"") != std::string::npos);
        CHECK(after.err.find("start it with `switchboard up`") != std::string::npos);
    }

    TEST_CASE("reload adds, removes and restarts workers, and refuses a broken file") {
        WorkspaceServer ws(R"(workers:
  keep: {command: [sleep, '600']}
  change: {command: [sleep, '600']}
  remove: {command: [sleep, '600']}
)");
        REQUIRE(ws.start());
        auto before = json::parse(ws.cli({"ls", "--json"}).out)["workers"];
        const int keep_pid = before[0]["pid"];
        const int change_pid = before[1]["pid"];
        const int remove_pid = before[2]["pid"];

        ws.write_file(R"(workers:
  keep: {command: [sleep, '600']}
  change: {command: [sleep, '601']}
  added: {command: [sleep, '600']}
)");
        const auto reload = ws.cli({"reload"});
        CHECK(reload.exit_status == 0);
        CHECK(reload.out == "added: added\nremoved: remove\nchanged: change\nunchanged: keep\n");
        CHECK(eventually(
            [&] {
                const auto after = json::parse(ws.cli({"ls", "--json"}).out)["workers"];
                return after.size() == 3 && after[1]["state"] == "running" &&
                       after[1]["pid"] != change_pid && after[2]["state"] == "running";
            },
            10000ms));
        const auto after = json::parse(ws.cli({"ls", "--json"}).out)["workers"];
        CHECK(after[0]["pid"] == keep_pid);
        CHECK(after[2]["name"] == "added");
        CHECK(eventually([&] { return !sb::test::process_alive(remove_pid); }, 5000ms));

        ws.write_file("workers:\n  keep: {comand: [sleep, '600']}\n");
        const auto refused = ws.cli_bare({"-S", ws.socket().string(), "reload"});
        CHECK(refused.exit_status == 1);
        CHECK(refused.err.find("unknown key \"comand\"") != std::string::npos);
        CHECK(json::parse(ws.cli_bare({"-S", ws.socket().string(), "ls", "--json"}).out)["workers"]
                  .size() == 3);

        // SIGHUP reloads too.
        ws.write_file("workers:\n  keep: {command: [sleep, '600']}\n");
        ws.server().signal(SIGHUP);
        CHECK(eventually(
            [&] {
                return json::parse(ws.cli({"ls", "--json"}).out)["workers"].size() == 1;
            },
            10000ms));
    }

    TEST_CASE("two workspaces run side by side, each reached by its own file") {
        WorkspaceServer one("workers:\n  a: {command: [sleep, '600']}\n", "one");
        WorkspaceServer two("workers:\n  b: {command: [sleep, '600']}\n", "two");
        REQUIRE(one.start());
        REQUIRE(two.start());
        CHECK(one.cli({"ls"}).out.find("a ") != std::string::npos);
        CHECK(two.cli({"ls"}).out.find("b ") != std::string::npos);
        CHECK(two.cli({"ls"}).out.find("a ") == std::string::npos);
    }

    TEST_CASE("concurrent clients are all answered") {
        WorkspaceServer ws("workers:\n  a: {command: [sleep, '600']}\n");
        REQUIRE(ws.start());
        std::vector<std::thread> threads;
        std::atomic<int> ok{0};
        for (int i = 0; i < 16; ++i) {
            threads.emplace_back([&] {
                if (ws.cli({"ls", "--json"}).exit_status == 0) {
                    ++ok;
                }
            });
        }
        for (auto& t : threads) {
            t.join();
        }
        CHECK(ok == 16);
    }

    TEST_CASE("a worker reaches its own workspace through SWITCHBOARD_SOCKET") {
        WorkspaceServer ws(
            std::string("workers:\n  agent:\n    command: \"$SB ls --json > ls.json; "
                        "exec sleep 600\"\n    env: {SB: ") +
            sb::test::switchboard_binary() + "}\n");
        REQUIRE(ws.start());
        REQUIRE(eventually(
            [&] {
                std::ifstream in(ws.directory() / "ls.json");
                const std::string text((std::istreambuf_iterator<char>(in)), {});
                return text.find("\"agent\"") != std::string::npos;
            },
            10000ms));
    }

    TEST_CASE("hostile clients do not hurt the server or other clients") {
        WorkspaceServer ws("workers:\n  a: {command: [sh, -c, 'seq 1 200000; exec sleep 600'], "
                           "scrollback: 200000}\n");
        REQUIRE(ws.start());

        SUBCASE("requests before hello, malformed JSON and a wrong protocol version") {
            RawClient c(ws.socket());
            REQUIRE(c.connected());
            auto reply = c.request(R"({"id":1,"method":"ls"})");
            CHECK(reply["error"]["code"] == "hello_required");
            reply = c.request("{not json");
            CHECK(reply["error"]["code"] == "bad_request");
            CHECK(reply["id"].is_null());
            reply = c.request(R"([1,2,3])");
            CHECK(reply["error"]["code"] == "bad_request");
            reply = c.request(R"({"id":2,"method":"hello","params":{"protocol":99}})");
            CHECK(reply["error"]["code"] == "version_mismatch");
            CHECK(reply["error"]["message"].get<std::string>().find("speaks protocol 1") !=
                  std::string::npos);
            reply = c.request(R"({"id":3,"method":"hello","params":{"protocol":1}})");
            CHECK(reply["result"]["workspace"] == "ws");
            reply = c.request(R"({"id":4,"method":"frobnicate"})");
            CHECK(reply["error"]["code"] == "unknown_method");
            reply = c.request(R"({"id":5,"method":"capture","params":{"worker":7}})");
            CHECK(reply["error"]["code"] == "invalid_argument");
            reply = c.request(R"({"id":"x","method":"ls","params":{}})");
            CHECK(reply["id"] == "x");
            CHECK(reply["result"]["workers"].size() == 1);
        }

        SUBCASE("a 100 MB line is refused and the connection closed") {
            RawClient c(ws.socket());
            const std::string chunk(1 << 20, 'x');
            bool sent_all = true;
            for (int i = 0; i < 100 && sent_all; ++i) {
                sent_all = c.send(chunk);
            }
            const auto reply = c.line();
            if (!reply.empty()) {
                CHECK(json::parse(reply)["error"]["message"].get<std::string>().find(
                          "longer than 4194304 bytes") != std::string::npos);
            }
            CHECK(c.at_eof());
        }

        SUBCASE("a client that hangs up mid-request") {
            for (int i = 0; i < 20; ++i) {
                RawClient c(ws.socket());
                c.send(R"({"id":1,"method":"hello","params":{"proto)");
            }
        }

        SUBCASE("a subscriber that hangs up while events flow") {
            // Writing to a closed socket raises SIGPIPE, which ended the
            // server before it ignored the signal.
            for (int i = 0; i < 5; ++i) {
                RawClient c(ws.socket());
                c.request(R"({"id":1,"method":"hello","params":{"protocol":1}})");
                c.send(R"({"id":2,"method":"events","params":{"follow":true}})"
                       "\n");
                c.line();
                c.close();
                ws.cli({"restart", "a"});
            }
        }

        SUBCASE("a subscriber that never reads is dropped") {
            RawClient c(ws.socket());
            int size = 4096;
            ::setsockopt(c.fd(), SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
            c.request(R"({"id":1,"method":"hello","params":{"protocol":1}})");
            c.send(R"({"id":2,"method":"events","params":{"follow":true}})"
                   "\n");
            REQUIRE(capture_has(ws, "a", "200000"));
            // Each capture of the whole scrollback is over a megabyte; a
            // client that asks for many and reads none outgrows its bound.
            for (int i = 0; i < 30; ++i) {
                c.send(R"({"id":3,"method":"capture","params":{"worker":"a","scrollback":200000}})"
                       "\n");
            }
            // Thirty such captures take a while under the sanitizers on a
            // loaded machine: the wait is generous, and ends as soon as the
            // server says it dropped the client.
            CHECK(sb::test::eventually(
                [&] { return ws.server().wait_for_output("dropped", 100ms); }, 120000ms));
        }

        // Whatever happened above, the server answers everyone else.
        CHECK(ws.cli({"ls"}).exit_status == 0);
        CHECK(sb::test::process_alive(ws.server().pid()));
    }

    TEST_CASE("another user is refused") {
        if (::geteuid() != 0) {
            MESSAGE("skipped: needs root to run a client as another user");
            return;
        }
        WorkspaceServer ws("workers:\n  a: {command: [sleep, '600']}\n");
        REQUIRE(ws.start());
        // Open the directory and socket to everyone, as a careless admin
        // might: the peer check must still refuse the other user.
        ::chmod(ws.runtime().parent_path().c_str(), 0755);
        ::chmod(ws.runtime().c_str(), 0755);
        ::chmod((ws.runtime() / "switchboard").c_str(), 0777);
        ::chmod(ws.socket().c_str(), 0777);
        const pid_t child = ::fork();
        if (child == 0) {
            if (::setgid(65534) != 0 || ::setuid(65534) != 0) {
                ::_exit(3);
            }
            RawClient c(ws.socket());
            if (!c.connected()) {
                ::_exit(4);
            }
            c.send(R"({"id":1,"method":"hello","params":{"protocol":1}})"
                   "\n");
            ::_exit(c.line().empty() ? 0 : 5);
        }
        int status = 0;
        ::waitpid(child, &status, 0);
        CHECK(WIFEXITED(status));
        CHECK(WEXITSTATUS(status) == 0);
        CHECK(ws.server().wait_for_output("refusing a connection from uid 65534", 5000ms));
        // A client refuses a runtime directory open to others, too.
        const auto careless = ws.cli({"ls"});
        CHECK(careless.exit_status == 1);
        CHECK(careless.err.find("is open to other users") != std::string::npos);
        ::chmod((ws.runtime() / "switchboard").c_str(), 0700);
        CHECK(ws.cli({"ls"}).exit_status == 0);
    }
}
