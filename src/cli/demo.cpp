#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <poll.h>
#include <sstream>
#include <stdexcept>
#include <string>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <fmt/format.h>

#include "cli/attach.hpp"
#include "cli/command.hpp"
#include "cli/demo_files.hpp"
#include "cli/event_text.hpp"
#include "cli/server_connection.hpp"
#include "util/fd.hpp"

extern char** environ;

namespace sb::cli {

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

struct DemoOptions {
    bool no_attach = false;
    int exchanges = 3;
};

// How long the demo waits for the server to start and for each exchange;
// bounds, not expectations: an exchange takes well under a second.
constexpr auto start_limit = 30s;
constexpr auto exchange_limit = 60s;
constexpr auto stop_limit = 20s;

volatile std::sig_atomic_t interrupted = 0;
// The person detached from the demo before the exchanges ended.
std::atomic<bool> detached{false};

void on_interrupt(int) {
    interrupted = 1;
}

// The demo's private directory: workspace, scripts, runtime and state
// directories, server log. Removed with everything in it at the end.
class DemoDirectory {
public:
    DemoDirectory() {
        const char* tmp = std::getenv("TMPDIR");
        std::string pattern =
            std::string(tmp != nullptr && *tmp == '/' ? tmp : "/tmp") + "/switchboard-demo-XXXXXX";
        if (::mkdtemp(pattern.data()) == nullptr) {
            throw std::runtime_error("cannot create a directory for the demo in " +
                                     pattern.substr(0, pattern.rfind('/')) + ": " +
                                     std::strerror(errno) + "; set TMPDIR to a writable directory");
        }
        path_ = pattern;
    }
    ~DemoDirectory() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    DemoDirectory(const DemoDirectory&) = delete;
    DemoDirectory& operator=(const DemoDirectory&) = delete;

    const std::filesystem::path& path() const { return path_; }

    void write(const std::string& name, std::string_view contents) const {
        std::ofstream out(path_ / name);
        out << contents;
        if (!out.flush()) {
            throw std::runtime_error("cannot write " + (path_ / name).string());
        }
    }

private:
    std::filesystem::path path_;
};

// The demo's server, `switchboard up --foreground` on the private
// directories, in its own process group so that a Control-C reaches only
// the demo, which then stops the server itself.
class DemoServer {
public:
    DemoServer(const DemoDirectory& dir, const std::filesystem::path& self) : dir_(dir) {
        const auto notify_path = dir.path() / "notify.sock";
        notify_ = util::ScopedFd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        if (!notify_ || notify_path.string().size() >= sizeof address.sun_path) {
            throw std::runtime_error("cannot make the demo's notification socket in " +
                                     dir.path().string() + "; set TMPDIR to a shorter path");
        }
        std::memcpy(address.sun_path, notify_path.c_str(), notify_path.string().size());
        if (::bind(notify_.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) !=
            0) {
            throw std::runtime_error("cannot bind " + notify_path.string() + ": " +
                                     std::strerror(errno));
        }

        // Everything the child needs is made before fork: between fork and
        // exec only async-signal-safe calls.
        std::map<std::string, std::string> overrides{
            {"XDG_RUNTIME_DIR", (dir.path() / "run").string()},
            {"XDG_STATE_HOME", (dir.path() / "state").string()},
            {"NOTIFY_SOCKET", notify_path.string()},
            {"SWITCHBOARD_DEMO_BIN", self.parent_path().string()},
        };
        // Run from inside a worker, the demo must not talk to that workspace.
        const std::vector<std::string> removed{"SWITCHBOARD_SOCKET", "SWITCHBOARD_WORKER",
                                               "SWITCHBOARD_WORKSPACE"};
        std::vector<std::string> environment;
        for (char** entry = environ; *entry != nullptr; ++entry) {
            const std::string variable = *entry;
            const std::string name = variable.substr(0, variable.find('='));
            if (!overrides.contains(name) &&
                std::find(removed.begin(), removed.end(), name) == removed.end()) {
                environment.push_back(variable);
            }
        }
        for (const auto& [name, value] : overrides) {
            environment.push_back(name + "=" + value);
        }
        std::vector<std::string> argv{self.string(), "up", "--foreground", "-f",
                                      (dir.path() / "demo.yaml").string()};
        std::vector<char*> c_argv;
        for (auto& word : argv) {
            c_argv.push_back(word.data());
        }
        c_argv.push_back(nullptr);
        std::vector<char*> c_env;
        for (auto& variable : environment) {
            c_env.push_back(variable.data());
        }
        c_env.push_back(nullptr);
        const std::string log = (dir.path() / "server.log").string();

        pid_ = ::fork();
        if (pid_ < 0) {
            throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
        }
        if (pid_ == 0) {
            ::setpgid(0, 0);
            const int null = ::open("/dev/null", O_RDONLY);
            const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
            if (null >= 0 && out >= 0) {
                ::dup2(null, 0);
                ::dup2(out, 1);
                ::dup2(out, 2);
            }
            ::execve(c_argv[0], c_argv.data(), c_env.data());
            ::_exit(127);
        }
        ::setpgid(pid_, pid_);
    }

    ~DemoServer() { stop(); }
    DemoServer(const DemoServer&) = delete;
    DemoServer& operator=(const DemoServer&) = delete;

    pid_t pid() const { return pid_; }
    std::string socket() const { return (dir_.path() / "run" / "switchboard" / "demo.sock"); }

    // Waits for READY=1; false (after saying why) when the server exits or
    // does not get ready.
    bool wait_ready() {
        const auto deadline = Clock::now() + start_limit;
        while (Clock::now() < deadline && interrupted == 0) {
            pollfd readable{.fd = notify_.get(), .events = POLLIN};
            if (::poll(&readable, 1, 100) == 1) {
                char datagram[256] = {};
                const ssize_t n = ::recv(notify_.get(), datagram, sizeof datagram - 1, 0);
                if (n > 0 && std::string_view(datagram, static_cast<std::size_t>(n)) == "READY=1") {
                    return true;
                }
            }
            if (reap(false)) {
                std::cerr << "switchboard: demo: the demo server stopped before it was ready; "
                             "its log says:\n"
                          << log_text();
                return false;
            }
        }
        std::cerr << "switchboard: demo: the demo server did not get ready; its log says:\n"
                  << log_text();
        return false;
    }

    // Stops the server with SIGTERM (it stops its workers first) and waits
    // for it; SIGKILL to its process group if it outlives the limit.
    void stop() {
        if (pid_ <= 0) {
            return;
        }
        ::kill(pid_, SIGTERM);
        const auto deadline = Clock::now() + stop_limit;
        while (Clock::now() < deadline) {
            if (reap(false)) {
                return;
            }
            ::usleep(20'000);
        }
        ::kill(-pid_, SIGKILL);
        reap(true);
    }

    std::string log_text() const {
        std::ifstream in(dir_.path() / "server.log");
        return std::string(std::istreambuf_iterator<char>(in), {});
    }

private:
    // True once the server has exited (and been reaped).
    bool reap(bool block) {
        if (pid_ <= 0) {
            return true;
        }
        int status = 0;
        pid_t done = 0;
        do {
            done = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
        } while (done < 0 && errno == EINTR);
        if (done == pid_ || (done < 0 && errno == ECHILD)) {
            pid_ = -1;
            return true;
        }
        return false;
    }

    const DemoDirectory& dir_;
    util::ScopedFd notify_;
    pid_t pid_ = -1;
};

// Milliseconds since midnight of an event's "ts" (RFC 3339, UTC, with
// milliseconds: 2026-11-22T06:45:01.568Z).
std::optional<long long> milliseconds_of_day(const std::string& ts) {
    int hours = 0;
    int minutes = 0;
    int seconds = 0;
    int millis = 0;
    const auto t = ts.find('T');
    if (t == std::string::npos ||
        std::sscanf(ts.c_str() + t + 1, "%d:%d:%d.%d", &hours, &minutes, &seconds, &millis) != 4) {
        return std::nullopt;
    }
    return ((hours * 60LL + minutes) * 60 + seconds) * 1000 + millis;
}

// What the demo learns from the event stream.
struct Tally {
    std::vector<nlohmann::json> events;
    // Delivery id -> (from, to).
    std::map<std::string, std::pair<std::string, std::string>> routes;
    int queued = 0;
    int verified = 0;
    int unverified = 0;
    int dropped = 0;
    int answers = 0; // outcomes of deliveries from the coder to the planner
    // Typed in -> echo seen (the events' latency_ms), and queued -> outcome.
    std::vector<long long> latencies;
    std::vector<long long> end_to_end;
    std::map<std::string, long long> queued_at;
    std::string trouble; // a worker that exited, for example

    void add(const nlohmann::json& event) {
        events.push_back(event);
        const std::string type = event.value("type", "");
        const std::string id = event.value("id", "");
        const std::string worker = event.value("worker", "");
        if (type == "delivery_queued") {
            ++queued;
            routes[id] = {event.value("from", ""), worker};
            if (auto at = milliseconds_of_day(event.value("ts", ""))) {
                queued_at[id] = *at;
            }
        } else if (type == "delivery_verified" || type == "delivery_dropped") {
            if (type == "delivery_dropped") {
                ++dropped;
            } else if (event.value("verification", "") == "echo") {
                ++verified;
            } else {
                ++unverified;
            }
            if (event.contains("latency_ms")) {
                latencies.push_back(event["latency_ms"].get<long long>());
            }
            const auto at = milliseconds_of_day(event.value("ts", ""));
            if (const auto queued_entry = queued_at.find(id);
                at && queued_entry != queued_at.end()) {
                long long elapsed = *at - queued_entry->second;
                if (elapsed < 0) {
                    elapsed += 24LL * 60 * 60 * 1000; // past midnight (UTC)
                }
                end_to_end.push_back(elapsed);
            }
            if (routes[id] == std::pair<std::string, std::string>{"coder", "planner"}) {
                ++answers;
            }
        } else if (type == "worker_exited" || type == "worker_failed") {
            trouble = "worker \"" + worker + "\" stopped (" + type + ")";
        }
    }
};

// "median 12 ms, max 30 ms"
std::string median_and_max(std::vector<long long> values) {
    if (values.empty()) {
        return "none measured";
    }
    std::sort(values.begin(), values.end());
    const std::size_t n = values.size();
    const long long median = n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
    return fmt::format("median {} ms, max {} ms", median, values.back());
}

// Reads events until the planner has had `answers` answers from the coder;
// false when the limit passes, a worker stops, or the user interrupts.
bool follow_until(client::ControlClient& events, Tally& tally, int answers) {
    const auto deadline = Clock::now() + exchange_limit;
    while (tally.answers < answers) {
        if (!tally.trouble.empty() || interrupted != 0 || detached.load() ||
            Clock::now() >= deadline) {
            return false;
        }
        auto message = events.next(200ms);
        if (std::holds_alternative<client::ClientError>(message)) {
            continue; // 200 ms without an event
        }
        auto& got = std::get<std::optional<nlohmann::json>>(message);
        if (!got) {
            tally.trouble = "the demo server went away";
            return false;
        }
        if (got->contains("event")) {
            tally.add((*got)["event"]);
        }
    }
    return true;
}

int run_demo(const DemoOptions& options) {
    std::cout << "switchboard demo: a planner (bash) and a coder (python3 REPL) exchange "
              << options.exchanges << " task" << (options.exchanges == 1 ? "" : "s")
              << " through `switchboard send`.\n";

    std::error_code ec;
    const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec) {
        std::cerr << "switchboard: demo: cannot find this program's path (/proc/self/exe: "
                  << ec.message() << "); is /proc mounted?\n";
        return exit_failure;
    }

    DemoDirectory dir;
    dir.write("demo.yaml", demo_files::workspace);
    dir.write("planner.sh", demo_files::planner);
    dir.write("coder.py", demo_files::coder);
    std::filesystem::create_directories(dir.path() / "run");
    std::filesystem::permissions(dir.path() / "run", std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::replace);
    std::cout << "Its workspace, socket and state are in " << dir.path().string()
              << ", removed at the end; your own workspaces are not touched.\n";
    std::cout.flush();

    struct sigaction action {};
    action.sa_handler = on_interrupt;
    ::sigemptyset(&action.sa_mask);
    struct sigaction old_int {};
    struct sigaction old_term {};
    ::sigaction(SIGINT, &action, &old_int);
    ::sigaction(SIGTERM, &action, &old_term);

    const bool attach =
        !options.no_attach && ::isatty(STDIN_FILENO) != 0 && ::isatty(STDOUT_FILENO) != 0;
    int status = exit_failure;
    {
        DemoServer server(dir, self);
        if (server.wait_ready()) {
            std::cout << "demo server running (pid " << server.pid() << ")\n";
            GlobalOptions globals;
            globals.socket = server.socket();
            auto events = connect_to_server(globals);
            auto sender = connect_to_server(globals);
            Tally tally;
            bool completed = false;
            // The exchanges; while attached they run beside the client and
            // print nothing, which would tear its screen.
            const auto exchange = [&] {
                if (!events || !sender ||
                    !call(*events, "events", {{"follow", true}, {"since", 0}})) {
                    return;
                }
                completed = true;
                for (int task = 1; task <= options.exchanges && completed; ++task) {
                    if (!attach) {
                        std::cout << "exchange " << task << ": demo -> planner \"task " << task
                                  << "\" -> coder \"solve(" << task << ")\" -> planner \"answer "
                                  << task << " " << task * task << "\"\n";
                        std::cout.flush();
                    }
                    completed = call(*sender, "send",
                                     {{"to", "planner"},
                                      {"from", "demo"},
                                      {"body", "task " + std::to_string(task)}})
                                    .has_value() &&
                                follow_until(*events, tally, task);
                }
            };
            if (attach) {
                std::cout << "Attaching: the planner's pane shows the tasks arrive; C-b n "
                             "switches to the coder, C-b d detaches and ends the demo.\n";
                std::cout.flush();
                std::thread exchanges(exchange);
                attach_terminal(server.socket(), "demo", "planner", std::nullopt);
                detached = true;
                exchanges.join();
                if (!completed && interrupted == 0) {
                    // Detaching early is how a person ends the demo.
                    tally.trouble = "detached before the exchanges ended";
                }
            } else {
                exchange();
            }
            std::cout << "\nevents:\n";
            for (const auto& event : tally.events) {
                std::cout << "  " << event_text(event) << '\n';
            }
            if (sender && completed) {
                // The last answer counts once its echo is on the planner's
                // screen, which is before the planner's shell has run it:
                // its verdict follows a moment later.
                const std::string verdict = fmt::format("square({}) = ", options.exchanges);
                const auto until = Clock::now() + 5s;
                while (Clock::now() < until) {
                    const auto screen = call(*sender, "capture", {{"worker", "planner"}});
                    if (!screen ||
                        (*screen)["text"].get<std::string>().find(verdict) != std::string::npos) {
                        break;
                    }
                    std::this_thread::sleep_for(50ms);
                }
            }
            if (sender) {
                if (auto screen = call(*sender, "capture", {{"worker", "planner"}})) {
                    std::cout << "\nthe planner's screen:\n";
                    std::istringstream lines((*screen)["text"].get<std::string>());
                    for (std::string line; std::getline(lines, line);) {
                        if (!line.empty()) {
                            std::cout << "  | " << line << '\n';
                        }
                    }
                }
            }
            std::cout << fmt::format(
                "\nsummary: {} of {} exchanges; {} deliveries: {} verified by echo, {} unverified "
                "(timeout fallback), {} dropped\n"
                "  typed in -> echo seen: {}\n"
                "  queued -> outcome:     {}\n",
                tally.answers, options.exchanges, tally.queued, tally.verified, tally.unverified,
                tally.dropped, median_and_max(tally.latencies), median_and_max(tally.end_to_end));
            if (completed) {
                status = exit_ok;
            } else if (attach && detached.load() && interrupted == 0) {
                std::cout << "You detached before the exchanges ended; that ends the demo.\n";
                status = exit_ok;
            } else if (interrupted != 0) {
                std::cerr << "switchboard: demo: interrupted; stopping the demo server\n";
            } else {
                std::cerr << "switchboard: demo: the exchanges did not finish ("
                          << (tally.trouble.empty() ? "no answer within 60 s" : tally.trouble)
                          << "); the demo server's log says:\n"
                          << server.log_text();
            }
        }
        server.stop();
        std::cout << "demo server stopped; nothing is left running\n";
    }
    ::sigaction(SIGINT, &old_int, nullptr);
    ::sigaction(SIGTERM, &old_term, nullptr);
    return status;
}

std::function<int()> define(CommandOptions& command, const GlobalOptions&) {
    auto options = std::make_shared<DemoOptions>();
    command.add_flag("--no-attach", options->no_attach,
                     "Run the exchanges and print the events and a summary without attaching "
                     "(what happens anyway when not in a terminal)");
    command.add_option("--exchanges", options->exchanges, "How many tasks to exchange (1-100)")
        .option_text("N")
        .check_range(1, 100);
    command.footer("Starts an embedded workspace that needs only bash and python3 on a private "
                   "socket and state directory and runs the exchanges; in a terminal it attaches "
                   "to the planner's pane meanwhile (C-b d detaches and ends the demo). Then it "
                   "prints the event log and a summary, and stops the workspace. Exit status: 0 "
                   "every exchange completed (or you "
                   "detached first), 1 otherwise, 2 usage error.");
    return [options] { return run_demo(*options); };
}

} // namespace

extern const CommandSpec demo_command;
const CommandSpec demo_command{
    "demo",
    "Watch two workers talk: run an embedded demo workspace on a private socket",
    &define,
};

} // namespace sb::cli
