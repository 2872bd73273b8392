// `switchboard attach` driven inside tmux on a private socket: what a person
// sees (tmux capture-pane) and what reaches the workers.
#include <atomic>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "process.hpp"
#include "protocol/screen_wire.hpp"
#include "vttest_screens.hpp"
#include "workspace_server.hpp"

using namespace std::chrono_literals;
using nlohmann::json;
using sb::test::eventually;
using sb::test::WorkspaceServer;

namespace {

std::string quote(const std::string& word) {
    std::string out = "'";
    for (const char c : word) {
        out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    }
    return out + "'";
}

// A tmux server of its own (-L with a unique name, no user configuration)
// running one window of the given size; killed with everything in it when
// the object goes.
class Tmux {
public:
    Tmux(const WorkspaceServer& ws, const std::string& command, int cols = 100, int rows = 30)
        : ws_(ws) {
        static std::atomic<int> counter{0};
        socket_ = "sbtest-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
        config_ = ws.directory().parent_path() / ("tmux-" + socket_ + ".conf");
        std::ofstream(config_) << "set -g default-terminal tmux-256color\n"
                                  "set -g status off\n"
                                  "set -g escape-time 0\n"
                                  "set -g remain-on-exit on\n"
                                  "set -g history-limit 1000\n";
        sb::test::RunOptions options = ws.options();
        options.env["TMUX"] = std::nullopt;
        options.env["COLORTERM"] = "truecolor";
        const auto result = tmux(
            {"new-session", "-d", "-x", std::to_string(cols), "-y", std::to_string(rows), command});
        started_ = result.exit_status == 0;
        if (!started_) {
            MESSAGE("tmux did not start: " << result.err);
        }
    }
    ~Tmux() { tmux({"kill-server"}); }

    bool started() const { return started_; }

    sb::test::RunResult tmux(const std::vector<std::string>& args) const {
        std::vector<std::string> argv = {"tmux", "-L", socket_, "-f", config_.string()};
        argv.insert(argv.end(), args.begin(), args.end());
        sb::test::RunOptions options = ws_.options();
        options.env["TMUX"] = std::nullopt;
        options.env["COLORTERM"] = "truecolor";
        options.timeout = 20s;
        return sb::test::run(argv, options);
    }
    // What the window shows, with SGR sequences when `escapes`.
    std::string screen(bool escapes = false) const {
        std::vector<std::string> args = {"capture-pane", "-p"};
        if (escapes) {
            args.push_back("-e");
        }
        return tmux(args).out;
    }
    std::vector<std::string> lines() const {
        std::vector<std::string> out;
        std::string text = screen();
        std::size_t start = 0;
        while (start < text.size()) {
            const auto end = text.find('\n', start);
            out.push_back(text.substr(start, end - start));
            if (end == std::string::npos) {
                break;
            }
            start = end + 1;
        }
        return out;
    }
    bool shows(const std::string& text, std::chrono::milliseconds timeout = 15s,
               bool escapes = false) const {
        const bool ok =
            eventually([&] { return screen(escapes).find(text) != std::string::npos; }, timeout);
        if (!ok) {
            MESSAGE("waited for " << text << " on:\n" << screen(escapes));
        }
        return ok;
    }
    // The same, with the lines that scrolled off the window (tmux keeps the
    // cursor of the alternate screen when a program leaves it, so what the
    // client prints last may scroll).
    bool printed(const std::string& text, std::chrono::milliseconds timeout = 15s) const {
        const bool ok = eventually(
            [&] {
                return tmux({"capture-pane", "-p", "-S", "-"}).out.find(text) != std::string::npos;
            },
            timeout);
        if (!ok) {
            MESSAGE("waited for " << text << " in:\n"
                                  << tmux({"capture-pane", "-p", "-S", "-"}).out);
        }
        return ok;
    }
    bool hides(const std::string& text, std::chrono::milliseconds timeout = 15s) const {
        return eventually([&] { return screen().find(text) == std::string::npos; }, timeout);
    }
    void keys(const std::vector<std::string>& keys) const {
        std::vector<std::string> args = {"send-keys"};
        args.insert(args.end(), keys.begin(), keys.end());
        tmux(args);
    }
    void literal(const std::string& text) const { tmux({"send-keys", "-l", text}); }
    std::string format(const std::string& f) const {
        auto out = tmux({"display-message", "-p", f}).out;
        while (!out.empty() && out.back() == '\n') {
            out.pop_back();
        }
        return out;
    }
    bool dead() const { return format("#{pane_dead}") == "1"; }

private:
    const WorkspaceServer& ws_;
    std::string socket_;
    std::filesystem::path config_;
    bool started_ = false;
};

// A protocol client on a plain socket, for what the attach client hides.
class ProtocolClient {
public:
    explicit ProtocolClient(const std::filesystem::path& socket) {
        fd_ = ::socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        std::strncpy(address.sun_path, socket.c_str(), sizeof address.sun_path - 1);
        connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
        timeval tv{10, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    }
    ~ProtocolClient() { ::close(fd_); }
    bool connected() const { return connected_; }
    void send(const json& message) {
        const std::string line = message.dump() + "\n";
        CHECK(::send(fd_, line.data(), line.size(), MSG_NOSIGNAL) ==
              static_cast<ssize_t>(line.size()));
    }
    // The next message; null at the end of the stream or after 10 s.
    json next() {
        while (true) {
            const auto newline = buffer_.find('\n');
            if (newline != std::string::npos) {
                auto message = json::parse(buffer_.substr(0, newline), nullptr, false);
                buffer_.erase(0, newline + 1);
                return message;
            }
            char chunk[65536];
            const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
            if (n <= 0) {
                return nullptr;
            }
            bytes_read_ += static_cast<std::size_t>(n);
            buffer_.append(chunk, static_cast<std::size_t>(n));
        }
    }
    std::size_t bytes_read() const { return bytes_read_; }

private:
    int fd_ = -1;
    bool connected_ = false;
    std::string buffer_;
    std::size_t bytes_read_ = 0;
};

std::string attach_command(const WorkspaceServer& ws, const std::string& args = "") {
    // exec: the pane's process is the client itself, for the signal tests.
    return "exec " + quote(sb::test::switchboard_binary()) + " -S " + quote(ws.socket().string()) +
           " attach " + args;
}

// How many bytes process `pid` has read so far (rchar in /proc/PID/io); -1
// when that cannot be told.
long long bytes_read(int pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/io");
    std::string key;
    long long value = 0;
    while (in >> key >> value) {
        if (key == "rchar:") {
            return value;
        }
    }
    return -1;
}

// Whether process `pid` is blocked in read(2) on its standard input.
bool waits_for_input(int pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/syscall");
    std::string number;
    std::string fd;
    in >> number >> fd;
    return number == std::to_string(SYS_read) && fd == "0x0";
}

json worker_info(const WorkspaceServer& ws, const std::string& name) {
    const auto result = ws.cli({"ls", "--json"});
    const auto parsed = json::parse(result.out, nullptr, false);
    if (parsed.is_discarded()) {
        return json();
    }
    const auto& list = parsed.is_array() ? parsed : parsed.value("workers", json::array());
    for (const auto& w : list) {
        if (w.value("name", "") == name) {
            return w;
        }
    }
    return json();
}

const char* const two_workers = R"(defaults:
  delivery:
    hold: 60s
workers:
  alice:
    command: [bash, --noprofile, --norc, -c, "printf '\e[31mred\e[0m \e[1;38;2;10;20;30mrgb\e[0m \e[4munder\e[0m 界 wide \e[2mdim\e[0m\n'; printf '\e]2;alice-title\a'; exec cat"]
    size: {cols: 80, rows: 24}
  bob:
    command: [bash, --noprofile, --norc, -c, "echo bob-says-hi; exec cat"]
    size: {cols: 80, rows: 24}
)";

} // namespace

TEST_SUITE("attach") {
    TEST_CASE("a worker's text, colours and title show with a status line") {
        WorkspaceServer ws(two_workers);
        REQUIRE(ws.start());
        Tmux tmux(ws, attach_command(ws, "alice"));
        REQUIRE(tmux.started());
        REQUIRE(tmux.shows("red rgb under"));
        CHECK(tmux.shows("界 wide"));
        const auto colored = tmux.screen(true);
        CHECK(colored.find("31mred") != std::string::npos);
        CHECK(colored.find("38;2;10;20;30") != std::string::npos);
        CHECK(colored.find("4munder") != std::string::npos);
        CHECK(colored.find("2mdim") != std::string::npos); // faint, as a hint is
        // The status line is the last row: workspace, workers, prefix hint.
        const auto lines = tmux.lines();
        REQUIRE(lines.size() >= 30);
        CHECK(lines[29].find("[ws]") == 0);
        CHECK(lines[29].find("0:alice*") != std::string::npos);
        CHECK(lines[29].find("1:bob") != std::string::npos);
        CHECK(lines[29].find("C-b ? help") != std::string::npos);
        CHECK(eventually([&] { return tmux.format("#{pane_title}") == "alice-title"; }, 10s));
        // The worker follows the pane: the terminal's size less the status line.
        CHECK(eventually(
            [&] {
                const auto w = worker_info(ws, "alice");
                return w.is_object() && w["size"]["cols"] == 100 && w["size"]["rows"] == 29;
            },
            10s));
    }

    TEST_CASE("typing reaches the worker and holds its deliveries") {
        WorkspaceServer ws(two_workers);
        REQUIRE(ws.start());
        Tmux tmux(ws, attach_command(ws));
        REQUIRE(tmux.shows("red rgb"));
        tmux.literal("typed-by-a-person");
        tmux.keys({"Enter"});
        // cat echoes the line back under the terminal's own echo.
        CHECK(eventually(
            [&] {
                const auto text = ws.cli({"capture", "alice"}).out;
                const auto first = text.find("typed-by-a-person");
                return first != std::string::npos &&
                       text.find("typed-by-a-person", first + 1) != std::string::npos;
            },
            10s));
        CHECK(tmux.shows("alice* held"));
        // A message waits while the person types (hold: 60s).
        const auto sent = ws.cli({"send", "alice", "from-a-script"});
        REQUIRE(sent.exit_status == 0);
        CHECK(tmux.shows("alice* 1 held"));
        // Held because a person is typing: the gate says so.
        const auto pending = ws.cli({"pending", "--json", "alice"}).out;
        CHECK(pending.find("\"preview\": \"from-a-script\"") != std::string::npos);
        CHECK(pending.find("\"waiting_for\": \"typing\"") != std::string::npos);
        CHECK(ws.cli({"capture", "alice"}).out.find("from-a-script") == std::string::npos);
    }

    TEST_CASE("a key's echo is drawn as the typed text, and the screen stays as the worker's") {
        WorkspaceServer ws(two_workers);
        REQUIRE(ws.start());
        Tmux tmux(ws, attach_command(ws));
        REQUIRE(tmux.shows("red rgb"));
        // One key at a time, as a person types: each echo comes after a
        // quiet spell.
        const std::string word = "echo-fast";
        for (std::size_t i = 0; i < word.size(); ++i) {
            tmux.literal(word.substr(i, 1));
            REQUIRE(tmux.shows(word.substr(0, i + 1)));
            std::this_thread::sleep_for(20ms);
        }
        // The terminal's cursor is right after the text, where the worker's is.
        CHECK(tmux.format("#{cursor_x},#{cursor_y}") == "9,1");
        // Rubbed out (the cursor moves left: drawn as a frame), typed again.
        tmux.keys({"BSpace"});
        REQUIRE(tmux.hides("echo-fast"));
        CHECK(tmux.format("#{cursor_x},#{cursor_y}") == "8,1");
        std::this_thread::sleep_for(20ms);
        tmux.literal("T");
        REQUIRE(tmux.shows("echo-fasT"));
        CHECK(tmux.format("#{cursor_x},#{cursor_y}") == "9,1");
        tmux.keys({"Enter"});
        // cat prints the line back under the echo.
        REQUIRE(tmux.shows("echo-fasT\necho-fasT"));
        CHECK(tmux.format("#{cursor_x},#{cursor_y}") == "0,3");
        // Drawn again whole from the session's copy of the screen (the help
        // shown and closed), what the person sees is the worker's screen.
        tmux.keys({"C-b", "?"});
        REQUIRE(tmux.shows("switchboard keys"));
        tmux.keys({"q"});
        REQUIRE(tmux.hides("switchboard keys"));
        REQUIRE(tmux.shows("echo-fasT\necho-fasT"));
        const auto lines = tmux.lines();
        const auto kept = ws.cli({"capture", "alice"}).out;
        for (std::size_t row = 0; row < 4 && row < lines.size(); ++row) {
            const auto end = lines[row].find_last_not_of(' ');
            const auto line = end == std::string::npos ? "" : lines[row].substr(0, end + 1);
            CHECK(kept.find(line) != std::string::npos);
        }
        tmux.keys({"C-b", "d"});
        REQUIRE(eventually([&] { return tmux.dead(); }, 10s));
        const char* attach = std::getenv("SWITCHBOARD_ATTACH");
        if (attach != nullptr && std::string(attach) == "client") {
            return; // the client drew: no session in the server
        }
        // The server's session drew most echoes as the typed text alone.
        const std::string marker = " frames drawn as typed text";
        std::string log;
        REQUIRE(eventually(
            [&] {
                log = ws.server().err();
                return log.find(marker) != std::string::npos;
            },
            10s));
        const auto end = log.find(marker);
        const auto start = log.rfind(' ', end - 1) + 1;
        CHECK(std::stoi(log.substr(start, end - start)) >= 6);
    }

    TEST_CASE("a typing hold leaves the status line when it ends, and an idle session wakes "
              "nothing") {
        WorkspaceServer ws(R"(defaults:
  delivery:
    hold: 1s
workers:
  alice:
    command: [cat]
)");
        REQUIRE(ws.start());
        Tmux tmux(ws, attach_command(ws));
        REQUIRE(tmux.shows("0:alice*"));
        tmux.literal("x");
        REQUIRE(tmux.shows("alice* held"));
        // Nothing else happens after the echo: the end of the hold alone
        // takes the mark away, a second later.
        CHECK(tmux.hides("alice* held", 5s));
        CHECK(tmux.shows("0:alice*"));
        // Attached and idle, the server sleeps: no timer wakes it.
        const auto switches = [&] {
            std::ifstream status("/proc/" + std::to_string(ws.server().pid()) + "/status");
            std::string line;
            while (std::getline(status, line)) {
                if (line.starts_with("voluntary_ctxt_switches:")) {
                    return std::stol(line.substr(line.find(':') + 1));
                }
            }
            return -1L;
        };
        const long before = switches();
        REQUIRE(before >= 0);
        std::this_thread::sleep_for(2s);
        CHECK(switches() - before <= 2);
    }

    TEST_CASE("the prefix key switches workers, detaches and is sent when pressed twice") {
        WorkspaceServer ws(two_workers);
        REQUIRE(ws.start());
        Tmux tmux(ws, attach_command(ws));
        REQUIRE(tmux.shows("red rgb"));
        tmux.keys({"C-b", "n"});
        REQUIRE(tmux.shows("bob-says-hi"));
        CHECK(tmux.hides("red rgb"));
        CHECK(tmux.shows("1:bob*"));
        tmux.keys({"C-b", "p"});
        CHECK(tmux.shows("red rgb"));
        tmux.keys({"C-b", "1"});
        CHECK(tmux.shows("bob-says-hi"));
        // Twice: the worker gets one C-b (cat echoes it as ^B).
        tmux.keys({"C-b", "C-b"});
        CHECK(tmux.shows("^B"));
        tmux.keys({"C-b", "?"});
        CHECK(tmux.shows("switchboard keys"));
        tmux.keys({"q"});
        CHECK(tmux.hides("switchboard keys"));
        tmux.keys({"C-b", "d"});
        CHECK(eventually([&] { return tmux.dead(); }, 10s));
        // The terminal is back on its main screen, with the farewell.
        CHECK(tmux.printed("[detached (from workspace ws)]"));
        CHECK(tmux.screen().find("bob-says-hi") == std::string::npos);
        CHECK(tmux.format("#{alternate_on}") == "0");
    }

    TEST_CASE("reattaching shows the screen kept by the server") {
        WorkspaceServer ws(two_workers);
        REQUIRE(ws.start());
        {
            Tmux tmux(ws, attach_command(ws, "bob"));
            REQUIRE(tmux.shows("bob-says-hi"));
            tmux.literal("before-detach");
            tmux.keys({"Enter"});
            REQUIRE(tmux.shows("before-detach"));
            tmux.keys({"C-b", "d"});
            REQUIRE(eventually([&] { return tmux.dead(); }, 10s));
        }
        Tmux again(ws, attach_command(ws, "bob"));
        CHECK(again.shows("bob-says-hi"));
        CHECK(again.shows("before-detach"));
    }

    TEST_CASE("the worker follows the size of the terminal") {
        WorkspaceServer ws(two_workers);
        REQUIRE(ws.start());
        Tmux tmux(ws, attach_command(ws, "alice"));
        REQUIRE(tmux.shows("red rgb"));
        tmux.tmux({"resize-window", "-x", "70", "-y", "20"});
        CHECK(eventually(
            [&] {
                const auto w = worker_info(ws, "alice");
                return w.is_object() && w["size"]["cols"] == 70 && w["size"]["rows"] == 19;
            },
            10s));
        // The status line moved to the new last row.
        CHECK(eventually(
            [&] {
                const auto lines = tmux.lines();
                return lines.size() >= 20 && lines[19].find("[ws]") == 0;
            },
            10s));
    }

    TEST_CASE("tiling shows every worker with a title and sizes each to its tile") {
        WorkspaceServer ws(two_workers);
        REQUIRE(ws.start());
        Tmux tmux(ws, attach_command(ws, "alice"));
        REQUIRE(tmux.shows("red rgb"));
        tmux.keys({"C-b", "t"});
        CHECK(tmux.shows("bob-says-hi"));
        CHECK(tmux.shows("red rgb"));
        CHECK(tmux.shows("─ alice: alice-title ─"));
        CHECK(tmux.shows("─ bob ─"));
        CHECK(eventually(
            [&] {
                const auto w = worker_info(ws, "bob");
                return w.is_object() && w["size"]["cols"] == 49 && w["size"]["rows"] == 28;
            },
            10s));
        // Zoom: the focused tile full screen, and back.
        tmux.keys({"C-b", "z"});
        CHECK(tmux.hides("bob-says-hi"));
        tmux.keys({"C-b", "z"});
        CHECK(tmux.shows("bob-says-hi"));
        tmux.keys({"C-b", "t"});
        CHECK(tmux.hides("bob-says-hi"));
    }

    TEST_CASE("the chooser and the send prompt") {
        WorkspaceServer ws(two_workers);
        REQUIRE(ws.start());
        Tmux tmux(ws, attach_command(ws, "alice"));
        REQUIRE(tmux.shows("red rgb"));
        tmux.keys({"C-b", "w"});
        REQUIRE(tmux.shows("choose a worker"));
        tmux.keys({"Down", "Enter"});
        CHECK(tmux.shows("bob-says-hi"));
        tmux.keys({"C-b", "s"});
        REQUIRE(tmux.shows("send to bob:"));
        tmux.literal("hello from the prompt");
        tmux.keys({"Enter"});
        CHECK(tmux.shows("queued d-"));
        CHECK(eventually(
            [&] {
                return ws.cli({"capture", "bob"}).out.find("hello from the prompt") !=
                       std::string::npos;
            },
            20s));
    }

    TEST_CASE("scrollback mode scrolls and searches what scrolled away") {
        WorkspaceServer ws(R"(workers:
  counter:
    command: [bash, --noprofile, --norc, -c, "seq -f 'line-%g' 1 300; exec cat"]
    size: {cols: 80, rows: 24}
)");
        REQUIRE(ws.start());
        Tmux tmux(ws, attach_command(ws));
        REQUIRE(tmux.shows("line-300"));
        tmux.keys({"C-b", "["});
        REQUIRE(tmux.shows("[scrollback 0/"));
        tmux.keys({"PageUp"});
        CHECK(tmux.shows("line-250"));
        CHECK(tmux.hides("line-300"));
        tmux.keys({"/"});
        tmux.literal("line-42");
        tmux.keys({"Enter"});
        CHECK(tmux.shows("line-42\n"));
        // The match is highlighted (reverse video).
        CHECK(tmux.shows("7mline-42", 10s, true));
        tmux.keys({"q"});
        CHECK(tmux.shows("line-300"));
        CHECK(tmux.hides("[scrollback"));
    }

    TEST_CASE("a full-screen program gets application cursor keys") {
        WorkspaceServer ws(R"(workers:
  editor:
    command: [vim, -u, NONE, -N, -n, -i, NONE, notes.txt]
    size: {cols: 80, rows: 24}
)");
        { std::ofstream(ws.directory() / "notes.txt") << "first\nsecond\nthird\n"; }
        REQUIRE(ws.start());
        Tmux tmux(ws, attach_command(ws));
        REQUIRE(tmux.shows("second"));
        // vim turned on application cursor keys (DECCKM), so Down must reach
        // it as ESC O B.
        CHECK(eventually(
            [&] {
                const auto capture =
                    json::parse(ws.cli({"capture", "editor", "--json"}).out, nullptr, false);
                return capture.is_object() && capture.value("alternate_screen", false);
            },
            10s));
        tmux.keys({"Down", "Down", "x"});
        tmux.literal(":wq");
        tmux.keys({"Enter"});
        CHECK(eventually(
            [&] {
                std::ifstream in(ws.directory() / "notes.txt");
                std::string text((std::istreambuf_iterator<char>(in)),
                                 std::istreambuf_iterator<char>());
                return text == "first\nsecond\nhird\n";
            },
            15s));
    }

    TEST_CASE("less pages through a file in a worker") {
        WorkspaceServer ws(R"(workers:
  pager:
    command: [less, long.txt]
    size: {cols: 80, rows: 24}
)");
        {
            std::ofstream out(ws.directory() / "long.txt");
            for (int i = 1; i <= 200; ++i) {
                out << "row " << i << "\n";
            }
        }
        REQUIRE(ws.start());
        Tmux tmux(ws, attach_command(ws));
        REQUIRE(tmux.shows("row 1\n"));
        // The number of the top row once the page is whole. less scrolls the
        // new rows in at the bottom, so a client can be caught between frames
        // with the page half moved; one page forward from the top is whole
        // when its top row follows the page's count of rows.
        const auto page_top = [&] {
            int first = 0;
            const bool whole = eventually(
                [&] {
                    const auto lines = tmux.lines();
                    if (lines.empty() || lines[0].rfind("row ", 0) != 0) {
                        return false;
                    }
                    first = std::stoi(lines[0].substr(4));
                    int count = 0;
                    while (static_cast<std::size_t>(count) < lines.size() &&
                           lines[static_cast<std::size_t>(count)] ==
                               "row " + std::to_string(first + count)) {
                        ++count;
                    }
                    return first == count + 1;
                },
                15s);
            return whole ? first : 0;
        };
        tmux.keys({"Space"});
        CHECK(tmux.shows("row 40\n"));
        CHECK(tmux.hides("row 1\n"));
        // A page further: the top row is the one after the last row shown
        // before, and Up (ESC O A in less's keypad mode) brings back one.
        const int first = page_top();
        CHECK(first > 20);
        tmux.keys({"Up"});
        CHECK(eventually([&] { return tmux.lines().at(0) == "row " + std::to_string(first - 1); },
                         15s));
    }

    TEST_CASE("the terminal is restored when the client is killed or the server goes") {
        WorkspaceServer ws(two_workers);
        REQUIRE(ws.start());
        {
            Tmux tmux(ws, attach_command(ws));
            REQUIRE(tmux.shows("red rgb"));
            const auto pid = std::stoi(tmux.format("#{pane_pid}"));
            ::kill(pid, SIGTERM);
            CHECK(eventually([&] { return tmux.dead(); }, 10s));
            // From the server, a moment after the client died, when it drew.
            CHECK(eventually([&] { return tmux.format("#{alternate_on}") == "0"; }, 10s));
            CHECK(tmux.printed("[terminated]"));
        }
        {
            Tmux tmux(ws, attach_command(ws));
            REQUIRE(tmux.shows("red rgb"));
            const auto pid = std::stoi(tmux.format("#{pane_pid}"));
            ::kill(pid, SIGHUP);
            CHECK(eventually([&] { return tmux.dead(); }, 10s));
            // From the server, a moment after the client died, when it drew.
            CHECK(eventually([&] { return tmux.format("#{alternate_on}") == "0"; }, 10s));
            CHECK(tmux.hides("red rgb"));
        }
        {
            Tmux tmux(ws, attach_command(ws));
            REQUIRE(tmux.shows("red rgb"));
            const auto pid = std::stoi(tmux.format("#{pane_pid}"));
            ::kill(pid, SIGSEGV);
            CHECK(eventually([&] { return tmux.dead(); }, 10s));
            // From the server, a moment after the client died, when it drew.
            CHECK(eventually([&] { return tmux.format("#{alternate_on}") == "0"; }, 10s));
            CHECK(tmux.hides("red rgb"));
        }
        Tmux tmux(ws, attach_command(ws));
        REQUIRE(tmux.shows("red rgb"));
        REQUIRE(ws.cli({"down"}).exit_status == 0);
        CHECK(eventually([&] { return tmux.dead(); }, 20s));
        CHECK(eventually([&] { return tmux.format("#{alternate_on}") == "0"; }, 10s));
        CHECK(tmux.printed("[server exited]"));
    }

    TEST_CASE("vttest screens look the same through attach as directly in tmux") {
        WorkspaceServer ws(R"(workers:
  vt:
    command: [vttest]
    size: {cols: 80, rows: 24}
)");
        if (sb::test::run({"sh", "-c", "command -v vttest"}).exit_status != 0) {
            MESSAGE("vttest is not installed (Debian package vttest); skipped");
            return;
        }
        REQUIRE(ws.start());
        Tmux direct(ws, "exec vttest", 80, 24);
        // One more row for the status line: the worker's pane is 80x24 too.
        Tmux attached(ws, attach_command(ws), 80, 25);
        REQUIRE(direct.started());
        REQUIRE(attached.started());
        const int direct_pid = std::stoi(direct.format("#{pane_pid}"));
        const int attached_pid = worker_info(ws, "vt").value("pid", 0);
        REQUIRE(attached_pid > 0);
        REQUIRE(bytes_read(direct_pid) >= 0);
        const auto top = [](const Tmux& tmux) {
            auto lines = tmux.lines();
            lines.resize(24);
            return lines;
        };
        const auto same = [&](const std::string& what) {
            const bool ok = eventually([&] { return top(direct) == top(attached); }, 15s);
            if (!ok) {
                MESSAGE(what << " differs; directly:\n"
                             << direct.screen() << "through attach:\n"
                             << attached.screen());
            }
            return ok;
        };
        // Types `text` and Enter into both and waits until each vttest has
        // read all of it and waits for input again, so its next screen is
        // drawn: vttest drops keys typed while it draws, and some screens
        // look alike (screen 4 of test 1 is screen 3 in 132-column mode).
        const auto press = [&](const std::string& text) {
            const auto typed = static_cast<long long>(text.size()) + 1;
            const long long direct_before = bytes_read(direct_pid);
            const long long attached_before = bytes_read(attached_pid);
            for (auto* tmux : {&direct, &attached}) {
                if (!text.empty()) {
                    tmux->literal(text);
                }
                tmux->keys({"Enter"});
            }
            const auto has_read = [&](int pid, long long before) {
                return eventually(
                    [&] { return bytes_read(pid) >= before + typed && waits_for_input(pid); }, 15s);
            };
            return has_read(direct_pid, direct_before) && has_read(attached_pid, attached_before);
        };
        REQUIRE(direct.shows("Enter choice number"));
        REQUIRE(attached.shows("Enter choice number"));
        REQUIRE(eventually([&] { return waits_for_input(direct_pid); }, 15s));
        REQUIRE(eventually([&] { return waits_for_input(attached_pid); }, 15s));
        CHECK(same("the main menu"));

        // Test 1, cursor movements: six screens. tmux 3.3a draws two of them
        // unlike xterm and a VT100, so those are checked for what they must
        // show instead: screen 2 (screen 1 in 132-column mode, shown in 80)
        // loses its inner right border in tmux, and on the autowrap screens
        // (3, and 4 in 132-column mode) tmux breaks lines where a backspace
        // follows a character in the last column.
        const auto autowrap_shown = [&] {
            const auto expected = sb::test::vttest_autowrap_screen();
            const bool ok = eventually([&] { return top(attached) == expected; }, 15s);
            if (!ok) {
                MESSAGE("the autowrap screen through attach:\n" << attached.screen());
            }
            return ok;
        };
        REQUIRE(press("1"));
        CHECK(same("test 1, screen 1"));
        REQUIRE(press(""));
        {
            // tmux leaves out the inner right border (the +'s in column 79)
            // on the rows that have it.
            auto expected = top(direct);
            for (std::size_t row = 2; row + 2 < expected.size(); ++row) {
                auto& line = expected[row];
                if (line.size() == 80 && line.back() == '*') {
                    line[78] = '+';
                }
            }
            const bool ok = eventually([&] { return top(attached) == expected; }, 15s);
            if (!ok) {
                MESSAGE("test 1, screen 2 through attach:\n" << attached.screen());
            }
            CHECK(ok);
        }
        for (int screen = 3; screen <= 6; ++screen) {
            INFO("test 1, screen " << screen);
            REQUIRE(press(""));
            if (screen <= 4) {
                CHECK(autowrap_shown());
            } else {
                CHECK(same("test 1, screen " + std::to_string(screen)));
            }
        }
        REQUIRE(press(""));
        CHECK(same("the main menu after test 1"));

        // Test 2, screen features: wrap-around, tabs, 132 and 80 columns on
        // light and dark backgrounds, soft and jump scrolling, origin mode,
        // graphic rendition, save and restore cursor; then the menu again.
        REQUIRE(press("2"));
        for (int screen = 1; screen <= 15; ++screen) {
            INFO("test 2, screen " << screen);
            if (screen == 11) {
                // Origin mode, where tmux 3.3a puts the first line at the top
                // of the screen; it belongs where the screen says (xterm).
                std::vector<std::string> expected(22);
                expected.push_back("This line should be the one above the bottom of the screen. "
                                   "Push <RETURN>");
                expected.push_back(
                    "Origin mode test. This line should be at the bottom of the screen.");
                const bool ok = eventually([&] { return top(attached) == expected; }, 15s);
                if (!ok) {
                    MESSAGE("the origin mode screen through attach:\n" << attached.screen());
                }
                CHECK(ok);
            } else if (screen == 15) {
                // Save and restore cursor: the lines and diamonds are DEC
                // graphics, which tmux's capture shows as the ASCII sent for
                // them (q and `) and the client draws as Unicode.
                auto expected = top(direct);
                for (auto& line : expected) {
                    const bool lines = line.starts_with("line:");
                    const bool diamonds = line.starts_with("diamonds:");
                    if (!lines && !diamonds) {
                        continue;
                    }
                    std::string drawn;
                    for (const char c : line) {
                        drawn += c == 'q' && lines      ? "\u2500"
                                 : c == '`' && diamonds ? "\u25c6"
                                                        : std::string(1, c);
                    }
                    line = drawn;
                }
                const bool ok = eventually([&] { return top(attached) == expected; }, 15s);
                if (!ok) {
                    MESSAGE("the save/restore cursor screen through attach:\n"
                            << attached.screen() << "directly:\n"
                            << direct.screen());
                }
                CHECK(ok);
            } else {
                CHECK(same("test 2, screen " + std::to_string(screen)));
            }
            REQUIRE(press(""));
        }
        CHECK(same("the main menu after test 2"));

        // Test 8, VT102 features (insert and delete of lines and characters,
        // insert mode), screen by screen until the menu comes back.
        REQUIRE(press("8"));
        const auto at_menu = [&] {
            return direct.screen().find("Enter choice number") != std::string::npos;
        };
        int screens = 0;
        for (; screens < 20 && !at_menu(); ++screens) {
            INFO("test 8, screen " << screens + 1);
            CHECK(same("test 8, screen " + std::to_string(screens + 1)));
            REQUIRE(press(""));
        }
        CHECK(at_menu());
        CHECK(screens >= 10); // 14 in vttest 2.7
        CHECK(same("the main menu after test 8"));
    }

    TEST_CASE("the server draws on the client's terminal, and whichever side is left gives it "
              "back") {
        // The client hands its terminal to the server unless
        // SWITCHBOARD_ATTACH=client (this suite runs both ways).
        const char* where = std::getenv("SWITCHBOARD_ATTACH");
        const bool hosted = where == nullptr || std::string(where) != "client";
        const auto server_holds = [&](WorkspaceServer& ws, const std::string& tty) {
            const auto fds = "/proc/" + std::to_string(ws.server().pid()) + "/fd";
            std::error_code error;
            for (const auto& entry : std::filesystem::directory_iterator(fds, error)) {
                if (std::filesystem::read_symlink(entry.path(), error) == tty) {
                    return true;
                }
            }
            return false;
        };
        // After the client ends and a line is typed (what the shell prints
        // before the server has given the terminal back would be drawn on
        // the alternate screen, and lost), the shell around it tells the
        // client's exit status and the terminal's settings.
        const auto command = [](const WorkspaceServer& ws) {
            return attach_command(ws).substr(5) +
                   "; status=$?; read go; echo status=$status; stty -a | tr ' ' '\\n' | grep "
                   "-x -e icanon -e -icanon -e echo "
                   "-e -echo | tr '\\n' ' '; echo; sleep 60";
        };
        {
            WorkspaceServer ws(two_workers);
            REQUIRE(ws.start());
            Tmux tmux(ws, command(ws));
            REQUIRE(tmux.shows("red rgb"));
            const auto tty = tmux.format("#{pane_tty}");
            CHECK(server_holds(ws, tty) == hosted);
            // The client is killed outright: the server gives the terminal
            // back (in the client's own mode, nobody can: its shell here
            // finds it in raw mode).
            const auto shell = std::stoi(tmux.format("#{pane_pid}"));
            const auto client = sb::test::run({"pgrep", "-P", std::to_string(shell)}).out;
            REQUIRE(!client.empty());
            ::kill(std::stoi(client), SIGKILL);
            if (hosted) {
                // The settings go back before the screen does.
                CHECK(eventually([&] { return tmux.format("#{alternate_on}") == "0"; }, 10s));
                CHECK(eventually([&] { return !server_holds(ws, tty); }, 10s));
            }
            // C-j: a line end even in raw mode.
            tmux.keys({"C-j"});
            CHECK(tmux.printed("status=137"));
            if (hosted) {
                CHECK(tmux.printed("icanon echo"));
            }
        }
        WorkspaceServer ws(two_workers);
        REQUIRE(ws.start());
        Tmux tmux(ws, command(ws));
        REQUIRE(tmux.shows("red rgb"));
        // The server is killed outright: the client gives the terminal back.
        ws.crash();
        CHECK(tmux.printed("[server exited]"));
        CHECK(tmux.format("#{alternate_on}") == "0");
        tmux.keys({"C-j"});
        CHECK(tmux.printed("status=0"));
        CHECK(tmux.printed("icanon echo"));
    }

    TEST_CASE("a terminal that is not read holds up neither the server nor its workers") {
        WorkspaceServer ws(R"(workers:
  flood:
    command: [od, -An, -tx1, -v, /dev/urandom]
    size: {cols: 100, rows: 29}
  quiet:
    command: [cat]
)");
        REQUIRE(ws.start());
        // A terminal whose reader has stopped: nothing reads its master.
        const int master = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
        REQUIRE(master >= 0);
        REQUIRE(::grantpt(master) == 0);
        REQUIRE(::unlockpt(master) == 0);
        const std::string slave = ::ptsname(master);
        winsize size{.ws_row = 30, .ws_col = 100, .ws_xpixel = 0, .ws_ypixel = 0};
        ::ioctl(master, TIOCSWINSZ, &size);
        const std::string binary = sb::test::switchboard_binary();
        const std::string socket = ws.socket().string();
        const pid_t client = ::fork();
        REQUIRE(client >= 0);
        if (client == 0) {
            ::setsid();
            const int fd = ::open(slave.c_str(), O_RDWR);
            ::dup2(fd, 0);
            ::dup2(fd, 1);
            ::dup2(fd, 2);
            ::setenv("TERM", "xterm-256color", 1);
            ::execl(binary.c_str(), binary.c_str(), "-S", socket.c_str(), "attach", "flood",
                    static_cast<char*>(nullptr));
            ::_exit(127);
        }
        struct Cleanup {
            pid_t pid;
            int fd;
            ~Cleanup() {
                ::kill(pid, SIGKILL);
                ::waitpid(pid, nullptr, 0);
                ::close(fd);
            }
        } cleanup{client, master};
        // The terminal fills up with what was drawn and is not taken: until
        // a write to it would block.
        const int probe = ::open(slave.c_str(), O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
        REQUIRE(probe >= 0);
        const bool full =
            eventually([&] { return ::write(probe, "x", 1) < 0 && errno == EAGAIN; }, 60s);
        ::close(probe);
        REQUIRE(full);
        // Meanwhile everything else goes on: requests are answered, and the
        // workers run and take input.
        for (int i = 0; i < 5; ++i) {
            CHECK(ws.cli({"ls"}).exit_status == 0);
        }
        CHECK(ws.cli({"keys", "quiet", "still-here", "Enter"}).exit_status == 0);
        CHECK(eventually(
            [&] {
                return ws.cli({"capture", "quiet"}).out.find("still-here") != std::string::npos;
            },
            20s));
        // Once the terminal is read again, drawing goes on: past what had
        // waited, new frames come.
        std::string seen;
        const auto read_all = [&] {
            char buffer[65536];
            pollfd ready{.fd = master, .events = POLLIN, .revents = 0};
            while (::poll(&ready, 1, 0) > 0) {
                const ssize_t n = ::read(master, buffer, sizeof buffer);
                if (n <= 0) {
                    break;
                }
                seen.append(buffer, static_cast<std::size_t>(n));
            }
        };
        std::size_t waited = 0;
        REQUIRE(eventually(
            [&] {
                read_all();
                const bool none_since = seen.size() == waited && waited > 0;
                waited = seen.size();
                return none_since;
            },
            60s));
        CHECK(eventually(
            [&] {
                read_all();
                return seen.size() > waited + 4096;
            },
            60s));
        CHECK(sb::test::process_alive(client));
    }

    TEST_CASE("attach_terminal refuses a terminal the server cannot use as the client's") {
        WorkspaceServer ws(two_workers);
        REQUIRE(ws.start());
        ProtocolClient client(ws.socket());
        REQUIRE(client.connected());
        client.send({{"id", 1}, {"method", "hello"}, {"params", {{"protocol", 1}}}});
        REQUIRE(client.next().contains("result"));
        const auto error_of = [&](int id, const std::string& method, const json& params) {
            client.send({{"id", id}, {"method", method}, {"params", params}});
            const json answer = client.next();
            REQUIRE(answer.is_object());
            CHECK(answer["id"] == id);
            return answer.contains("error") ? answer["error"] : json();
        };
        // Not a terminal; a terminal with another device number than the
        // client's (as from another mount namespace); a missing one.
        struct stat null_device {};
        REQUIRE(::stat("/dev/null", &null_device) == 0);
        auto error = error_of(
            2, "attach_terminal",
            {{"tty", "/dev/null"}, {"device", static_cast<std::uint64_t>(null_device.st_rdev)}});
        CHECK(error.value("code", "") == "terminal_unavailable");
        CHECK(error.value("message", "").find("/dev/null") != std::string::npos);
        error = error_of(3, "attach_terminal", {{"tty", "/dev/ptmx"}, {"device", 1}});
        CHECK(error.value("code", "") == "terminal_unavailable");
        error = error_of(4, "attach_terminal", {{"tty", "/dev/pts/999999"}, {"device", 1}});
        CHECK(error.value("code", "") == "terminal_unavailable");
        error = error_of(5, "attach_terminal", {{"tty", "/dev/ptmx"}});
        CHECK(error.value("code", "") == "invalid_argument");
        error = error_of(6, "attach_terminal",
                         {{"tty", "/dev/ptmx"}, {"device", 1}, {"prefix", "not a key"}});
        CHECK(error.value("code", "") == "invalid_argument");
        // Nothing was handed over to resize or end.
        CHECK(error_of(7, "attach_terminal_resize", json::object()).value("code", "") ==
              "invalid_argument");
        CHECK(error_of(8, "attach_terminal_end", json::object()).value("code", "") ==
              "invalid_argument");
    }

    TEST_CASE("a client that falls behind gets a full redraw, not a backlog") {
        WorkspaceServer ws(R"(workers:
  flood:
    command: [bash, --noprofile, --norc, -c, "exec yes \"$(seq -s ' ' 1 150)\""]
    size: {cols: 500, rows: 100}
)");
        REQUIRE(ws.start());
        ProtocolClient client(ws.socket());
        REQUIRE(client.connected());
        client.send({{"id", 1}, {"method", "hello"}, {"params", {{"protocol", 1}}}});
        REQUIRE(client.next().contains("result"));
        client.send(
            {{"id", 2},
             {"method", "attach"},
             {"params", {{"panes", {{{"worker", "flood"}, {"cols", 500}, {"rows", 100}}}}}}});
        // Not reading: the server stops sending once its bound is reached
        // (it logs that) instead of queueing without end or dropping us.
        REQUIRE(ws.server().wait_for_output("holding frames until it catches up", 60s));
        int full_frames = 0;
        int frames = 0;
        bool first = true;
        while (full_frames < 2 && frames < 100000) {
            const json message = client.next();
            REQUIRE(message.is_object());
            if (!message.contains("screen")) {
                continue;
            }
            ++frames;
            const auto& frame = message["screen"];
            if (frame.value("full", false)) {
                ++full_frames;
                if (!first) {
                    CHECK(frame["lines"].size() == 100);
                }
            }
            first = false;
        }
        CHECK(full_frames == 2);
        // The connection stays: frames keep coming.
        CHECK(client.next().is_object());
    }

    TEST_CASE("several clients attach at once, each with its own focus and size") {
        WorkspaceServer ws(two_workers);
        REQUIRE(ws.start());
        Tmux first(ws, attach_command(ws, "alice"), 100, 30);
        REQUIRE(first.shows("red rgb"));
        Tmux second(ws, attach_command(ws, "alice"), 90, 25);
        REQUIRE(second.shows("red rgb"));
        // The second attached last: alice follows its size.
        CHECK(eventually(
            [&] {
                const auto w = worker_info(ws, "alice");
                return w.is_object() && w["size"]["cols"] == 90 && w["size"]["rows"] == 24;
            },
            10s));
        second.keys({"C-b", "n"});
        CHECK(second.shows("bob-says-hi"));
        // The first still shows alice, and typing there makes it the most
        // recently active client again.
        CHECK(first.screen().find("bob-says-hi") == std::string::npos);
        first.literal("from-the-first");
        CHECK(first.shows("from-the-first"));
        CHECK(eventually(
            [&] {
                const auto w = worker_info(ws, "alice");
                return w.is_object() && w["size"]["cols"] == 100 && w["size"]["rows"] == 29;
            },
            10s));
        CHECK(second.screen().find("from-the-first") == std::string::npos);
    }

    TEST_CASE("up in a terminal attaches, and -d does not") {
        WorkspaceServer ws(two_workers);
        // The server up starts is a daemon: stop it however the test ends.
        struct Down {
            const WorkspaceServer& ws;
            ~Down() { ws.cli({"down"}); }
        } down{ws};
        Tmux tmux(ws, "exec " + quote(sb::test::switchboard_binary()) + " -f " +
                          quote(ws.file().string()) + " up");
        REQUIRE(tmux.started());
        CHECK(tmux.shows("0:alice*"));
        CHECK(tmux.shows("red rgb"));
        tmux.keys({"C-b", "d"});
        CHECK(eventually([&] { return tmux.dead(); }, 10s));
        // (The shell stays: tmux may miss what a pane's program printed just
        // before it exited at once.)
        Tmux detached(ws, quote(sb::test::switchboard_binary()) + " -f " +
                              quote(ws.file().string()) + " up -d; echo status=$?; sleep 60");
        // The workspace is already up: the second up says so and returns.
        CHECK(detached.printed("status=1"));
        CHECK(detached.printed("already running"));
    }

    TEST_CASE("demo in a terminal attaches to the planner while the exchanges run") {
        // The demo makes its own workspace; this one only lends tmux its
        // environment and directory.
        WorkspaceServer ws(two_workers);
        Tmux tmux(ws, quote(sb::test::switchboard_binary()) + " demo; echo demo-exit=$?");
        REQUIRE(tmux.started());
        CHECK(tmux.shows("[demo] 0:planner*"));
        CHECK(tmux.shows("square(3) = 9, correct", 60s));
        CHECK(tmux.shows("last d-9 verified -> planner"));
        tmux.keys({"C-b", "n"});
        CHECK(tmux.shows("coder: square(3) = 9; sending it to the planner"));
        tmux.keys({"C-b", "d"});
        CHECK(eventually([&] { return tmux.dead(); }, 20s));
        CHECK(tmux.printed("summary: 3 of 3 exchanges; 9 deliveries: 9 verified by echo"));
        CHECK(tmux.printed("demo server stopped; nothing is left running"));
        CHECK(tmux.printed("demo-exit=0"));
    }

    TEST_CASE("keypad and cursor keys are encoded for the worker's modes") {
        WorkspaceServer ws(R"(workers:
  keys:
    command: [python3, -c, "import os, sys, tty\ntty.setraw(0)\nmode = sys.argv[1]\nsys.stdout.write(mode + 'ready\\r\\n')\nsys.stdout.flush()\nwhile True:\n    data = os.read(0, 64)\n    sys.stdout.write('got ' + data.hex() + '\\r\\n')\n    sys.stdout.flush()\n", "\e[?1h\e="]
    size: {cols: 80, rows: 24}
)");
        REQUIRE(ws.start());
        Tmux tmux(ws, attach_command(ws));
        REQUIRE(tmux.shows("ready"));
        // The worker asked for application cursor keys and keypad.
        tmux.keys({"Up"});
        CHECK(tmux.shows("got 1b4f41"));
        tmux.keys({"KP5"});
        CHECK(tmux.shows("got 1b4f75"));
        tmux.keys({"Enter"});
        CHECK(tmux.shows("got 0d"));
    }
}

TEST_SUITE("attach") {
    TEST_CASE("scrollback mode keeps its place while output comes, and leaving shows it") {
        WorkspaceServer ws(R"(workers:
  counter:
    command: [bash, --noprofile, --norc, -c, "seq -f 'line-%g' 1 300; while [ ! -e go ]; do sleep 0.05; done; seq -f 'more-%g' 1 40; exec cat"]
    size: {cols: 80, rows: 24}
)");
        REQUIRE(ws.start());
        Tmux tmux(ws, attach_command(ws));
        REQUIRE(tmux.shows("line-300"));
        tmux.keys({"C-b", "["});
        REQUIRE(tmux.shows("[scrollback 0/"));
        tmux.keys({"PageUp"});
        REQUIRE(tmux.hides("line-300"));
        // "[scrollback OFFSET/MOST]" on the status line.
        const auto position = [&]() -> std::pair<int, int> {
            const auto text = tmux.screen();
            const auto at = text.find("[scrollback ");
            if (at == std::string::npos) {
                return {-1, -1};
            }
            const auto slash = text.find('/', at);
            const auto end = text.find(']', at);
            return {std::stoi(text.substr(at + 12, slash - at - 12)),
                    std::stoi(text.substr(slash + 1, end - slash - 1))};
        };
        const auto before = position();
        const auto top = tmux.lines().at(0);
        REQUIRE(before.first > 0);
        REQUIRE(top.rfind("line-", 0) == 0);
        { std::ofstream(ws.directory() / "go") << "\n"; }
        REQUIRE(eventually(
            [&] {
                return ws.cli({"capture", "counter"}).out.find("more-40") != std::string::npos;
            },
            15s));
        // The new lines come below the view: it keeps showing what it
        // showed, as many lines further from the bottom as came (fewer than
        // 40 scrolled away: the screen had empty rows at its bottom).
        const bool moved = eventually(
            [&] {
                const auto now = position();
                return now.second > before.second &&
                       now.first - before.first == now.second - before.second;
            },
            15s);
        if (!moved) {
            MESSAGE("position stayed at " << before.first << "/" << before.second << " on:\n"
                                          << tmux.screen());
        }
        CHECK(moved);
        CHECK(tmux.lines().at(0) == top);
        CHECK(tmux.screen().find("more-") == std::string::npos);
        // G goes to the bottom, where the new lines are.
        tmux.keys({"G"});
        CHECK(tmux.shows("more-40"));
        CHECK(tmux.shows("[scrollback 0/"));
        tmux.keys({"g"});
        CHECK(tmux.shows("line-1\n"));
        tmux.keys({"q"});
        CHECK(tmux.hides("[scrollback"));
        CHECK(tmux.shows("more-40"));
    }

    TEST_CASE("tiling shows the workers marked in the chooser") {
        WorkspaceServer ws(R"(workers:
  alice:
    command: [bash, --noprofile, --norc, -c, "echo alice-says-hi; exec cat"]
  bob:
    command: [bash, --noprofile, --norc, -c, "echo bob-says-hi; exec cat"]
  carol:
    command: [bash, --noprofile, --norc, -c, "echo carol-says-hi; exec cat"]
)");
        REQUIRE(ws.start());
        Tmux tmux(ws, attach_command(ws, "alice"));
        REQUIRE(tmux.shows("alice-says-hi"));
        tmux.keys({"C-b", "w"});
        REQUIRE(tmux.shows("choose a worker"));
        tmux.keys({"Down", "Space", "Down", "Space"});
        CHECK(tmux.shows("+ 1: bob"));
        CHECK(tmux.shows("+ 2: carol"));
        CHECK(tmux.screen().find("+ 0: alice") == std::string::npos);
        tmux.keys({"t"});
        CHECK(tmux.shows("─ bob ─"));
        CHECK(tmux.shows("─ carol ─"));
        CHECK(tmux.shows("carol-says-hi"));
        CHECK(tmux.hides("alice-says-hi"));
        CHECK(tmux.screen().find("─ alice") == std::string::npos);
        // Two tiles side by side: each worker follows its tile.
        CHECK(eventually(
            [&] {
                const auto w = worker_info(ws, "carol");
                return w.is_object() && w["size"]["cols"] == 49 && w["size"]["rows"] == 28;
            },
            10s));
        // The focus goes to the tiled worker the chooser was on, and n and p
        // stay among the tiles.
        CHECK(tmux.shows("2:carol*"));
        tmux.keys({"C-b", "n"});
        CHECK(tmux.shows("1:bob*"));
        tmux.keys({"C-b", "n"});
        CHECK(tmux.shows("2:carol*"));
        // t shows the focused worker alone, and again the marked ones.
        tmux.keys({"C-b", "t"});
        CHECK(tmux.hides("─ bob ─"));
        tmux.keys({"C-b", "t"});
        CHECK(tmux.shows("─ bob ─"));
        CHECK(tmux.screen().find("alice-says-hi") == std::string::npos);
        // Unmarking both in the chooser tiles every worker again.
        tmux.keys({"C-b", "w"});
        REQUIRE(tmux.shows("choose a worker"));
        tmux.keys({"Up", "Space", "Up", "Space"});
        CHECK(tmux.hides("+ 1: bob"));
        tmux.keys({"q"});
        CHECK(tmux.shows("alice-says-hi"));
        CHECK(tmux.shows("─ alice ─"));
    }

    TEST_CASE("mouse events reach a worker that asked for them, in its pane's coordinates") {
        WorkspaceServer ws(R"(workers:
  other:
    command: [bash, --noprofile, --norc, -c, "echo other-says-hi; exec cat"]
  mouse:
    command: [python3, -c, "import os, sys, tty\ntty.setraw(0)\nsys.stdout.write('\\x1b[?1000h\\x1b[?1006hmouse-ready\\r\\n')\nsys.stdout.flush()\nwhile True:\n    data = os.read(0, 64)\n    sys.stdout.write('got ' + data.decode(errors='replace').replace('\\x1b', 'ESC') + '\\r\\n')\n    sys.stdout.flush()\n"]
)");
        REQUIRE(ws.start());
        Tmux tmux(ws, attach_command(ws, "mouse"));
        REQUIRE(tmux.shows("mouse-ready"));
        // A click as the person's terminal reports it (SGR), at column 10,
        // row 5 of the terminal: the worker's pane starts at its top left.
        tmux.literal("\x1b[<0;10;5M");
        CHECK(tmux.shows("got ESC[<0;10;5M"));
        tmux.literal("\x1b[<0;10;5m");
        CHECK(tmux.shows("got ESC[<0;10;5m"));
        // Tiled: the worker's tile is the right one, from column 52 and row
        // 2 of the terminal (1-based), so a click at column 60, row 10 is at
        // column 9, row 9 of its pane.
        tmux.keys({"C-b", "t"});
        REQUIRE(tmux.shows("─ other ─"));
        REQUIRE(tmux.shows("other-says-hi"));
        tmux.literal("\x1b[<0;60;10M");
        CHECK(tmux.shows("got ESC[<0;9;9M"));
        // A click in the other tile focuses it and is not passed on.
        tmux.literal("\x1b[<0;5;5M");
        CHECK(tmux.shows("0:other*"));
        tmux.literal("\x1b[<0;5;5m");
        tmux.literal("zz-typed");
        CHECK(tmux.shows("zz-typed"));
        const auto mouse_screen = ws.cli({"capture", "mouse"}).out;
        CHECK(mouse_screen.find("5;5") == std::string::npos);
        CHECK(mouse_screen.find("zz-typed") == std::string::npos);
    }
}

TEST_SUITE("attach") {
    TEST_CASE("attach_input without ack answers only errors, in order with the rest") {
        WorkspaceServer ws(R"(workers:
  typist:
    command: [cat]
)");
        REQUIRE(ws.start());
        ProtocolClient client(ws.socket());
        REQUIRE(client.connected());
        client.send({{"id", 1}, {"method", "hello"}, {"params", {{"protocol", 1}}}});
        REQUIRE(client.next().contains("result"));
        client.send(
            {{"id", 2},
             {"method", "attach"},
             {"params", {{"panes", {{{"worker", "typist"}, {"cols", 80}, {"rows", 24}}}}}}});
        const auto data = [](const std::string& text) { return sb::protocol::base64_encode(text); };
        client.send({{"id", 3},
                     {"method", "attach_input"},
                     {"params", {{"worker", "typist"}, {"data", data("quiet")}, {"ack", false}}}});
        client.send({{"id", 4},
                     {"method", "attach_input"},
                     {"params", {{"worker", "nobody"}, {"data", data("x")}, {"ack", false}}}});
        client.send({{"id", 5},
                     {"method", "attach_input"},
                     {"params", {{"worker", "typist"}, {"data", data("-loud")}}}});
        // Requests are answered in order: whatever answers 3 and 4 would
        // have come before the answer to 5.
        std::vector<json> answers;
        while (true) {
            const json message = client.next();
            REQUIRE(message.is_object());
            if (!message.contains("id") || message["id"] == 2) {
                continue;
            }
            answers.push_back(message);
            if (message["id"] == 5) {
                break;
            }
        }
        REQUIRE(answers.size() == 2);
        CHECK(answers[0]["id"] == 4);
        CHECK(answers[0].contains("error"));
        CHECK(answers[1]["result"]["bytes"] == 5);
        CHECK(eventually(
            [&] {
                return ws.cli({"capture", "typist"}).out.find("quiet-loud") != std::string::npos;
            },
            10s));
    }
}

TEST_SUITE("attach") {
    TEST_CASE("modified keys reach each worker in the keyboard protocol it asked for") {
        // Each worker asks for a protocol (or none) and shows what it reads in hex.
        WorkspaceServer ws(R"(workers:
  kitty:
    command: [python3, -c, &show "import os, sys, tty\ntty.setraw(0)\nsys.stdout.write(sys.argv[1] + sys.argv[2] + ' ready\\r\\n')\nsys.stdout.flush()\nwhile True:\n    data = os.read(0, 64)\n    sys.stdout.write('got ' + data.hex() + '\\r\\n')\n    sys.stdout.flush()\n", "\e[>1u", kitty]
    size: {cols: 80, rows: 24}
  xterm:
    command: [python3, -c, *show, "\e[>4;2m", xterm]
    size: {cols: 80, rows: 24}
  legacy:
    command: [python3, -c, *show, "", legacy]
    size: {cols: 80, rows: 24}
)");
        REQUIRE(ws.start());
        Tmux tmux(ws, attach_command(ws, "kitty"));
        REQUIRE(tmux.started());
        // tmux sends modified keys to a program that asked for them (the
        // client asks with modifyOtherKeys) only with extended-keys on; it
        // sends Shift+Enter as CSI 13 ; 2 u then.
        tmux.tmux({"set", "-s", "extended-keys", "on"});
        REQUIRE(tmux.shows("kitty ready"));

        // kitty's protocol, flag 1: Shift+Enter, Ctrl+Enter, Alt+x, and a lone
        // Escape told apart from an Alt chord.
        tmux.keys({"S-Enter"});
        CHECK(tmux.shows("got 1b5b31333b3275")); // CSI 13 ; 2 u
        tmux.keys({"C-Enter"});
        CHECK(tmux.shows("got 1b5b31333b3575")); // CSI 13 ; 5 u
        tmux.keys({"M-x"});
        CHECK(tmux.shows("got 1b5b3132303b3375")); // CSI 120 ; 3 u
        tmux.keys({"Escape"});
        CHECK(tmux.shows("got 1b5b323775")); // CSI 27 u
        tmux.keys({"Enter"});
        CHECK(tmux.shows("got 0d"));

        // The prefix as a terminal with kitty's protocol sends it (CSI 98 ; 5
        // u), then n: the next worker, which set modifyOtherKeys 2.
        tmux.tmux({"send-keys", "-H", "1b", "5b", "39", "38", "3b", "35", "75", "6e"});
        REQUIRE(tmux.shows("xterm ready"));
        tmux.keys({"S-Enter"});
        CHECK(tmux.shows("got 1b5b32373b323b31337e")); // CSI 27 ; 2 ; 13 ~
        tmux.keys({"C-Enter"});
        CHECK(tmux.shows("got 1b5b32373b353b31337e")); // CSI 27 ; 5 ; 13 ~

        // The legacy worker gets what a terminal without either sends.
        tmux.keys({"C-b", "n"});
        REQUIRE(tmux.shows("legacy ready"));
        tmux.keys({"S-Enter"});
        CHECK(tmux.shows("got 0d"));
        tmux.keys({"M-x"});
        CHECK(tmux.shows("got 1b78"));
        tmux.keys({"C-Enter"});
        CHECK(tmux.shows("got 1b78\ngot 0d"));
        CHECK(tmux.screen().find("got 1b5b") == std::string::npos);
    }
}
