// Real programs under the worker supervisor, in-process on a private loop.
#include <fcntl.h>
#include <fstream>
#include <signal.h>
#include <sstream>
#include <thread>
#include <unistd.h>
#include <variant>

#include <doctest/doctest.h>

#include "loop.hpp"
#include "process.hpp"
#include "pty/pty.hpp"
#include "util/strings.hpp"
#include "worker/environment.hpp"
#include "worker/reaper.hpp"
#include "worker/worker.hpp"

using namespace std::chrono_literals;
using sb::worker::State;
using sb::worker::Worker;
using sb::worker::WorkerConfig;
using sb::worker::WorkerEvent;

namespace {

struct Harness {
    sb::test::TestLoop loop;
    std::unique_ptr<sb::worker::Reaper> reaper = std::make_unique<sb::worker::Reaper>(loop.get());
    std::vector<std::string> events;
    std::vector<WorkerEvent> details;
    std::unique_ptr<Worker> worker;

    Worker& make(std::vector<std::string> argv,
                 sb::workspace::RestartPolicy restart = sb::workspace::RestartPolicy::Never) {
        WorkerConfig config;
        config.name = "w";
        config.spawn.argv = std::move(argv);
        config.spawn.env = {"PATH=/usr/local/bin:/usr/bin:/bin", "TERM=xterm-256color",
                            "LANG=C.UTF-8", "HOME=/tmp"};
        config.spawn.cwd = "/tmp";
        config.size = {80, 24};
        config.scrollback = 1000;
        config.restart = restart;
        config.stop_timeout = 500ms;
        // Short backoff so restarts and crash loops happen in milliseconds.
        config.restart_timing = {20ms, 200ms, 60000ms, 60000ms, 5};
        worker = std::make_unique<Worker>(loop.get(), *reaper, std::move(config),
                                          [this](Worker&, const WorkerEvent& event) {
                                              events.push_back(event.type);
                                              details.push_back(event);
                                          });
        return *worker;
    }

    bool screen_has(const std::string& text, std::chrono::milliseconds timeout = 5000ms) {
        return loop.run_until(
            [&] { return worker->screen().text(1000).find(text) != std::string::npos; }, timeout);
    }

    // Runs `argv` as the worker until its exit is reported; returns the
    // screen, with `scrollback` lines of history, as it was at that moment.
    std::string run_to_exit(std::vector<std::string> argv, int scrollback) {
        WorkerConfig config = make(std::move(argv)).config();
        worker =
            std::make_unique<Worker>(loop.get(), *reaper, std::move(config),
                                     [this, scrollback](Worker& self, const WorkerEvent& event) {
                                         if (event.type == "worker_exited") {
                                             exited = true;
                                             screen_at_exit = self.screen().text(scrollback);
                                         }
                                     });
        worker->start();
        REQUIRE(loop.run_until([&] { return exited; }, 60000ms));
        return screen_at_exit;
    }
    bool exited = false;
    std::string screen_at_exit;

    bool state_is(State state, std::chrono::milliseconds timeout = 5000ms) {
        return loop.run_until([&] { return worker->state() == state; }, timeout);
    }

    ~Harness() {
        if (worker) {
            bool stopped = false;
            worker->stop([&] { stopped = true; });
            loop.run_until([&] { return stopped; }, 5000ms);
        }
        worker.reset();
        reaper.reset();
    }
};

} // namespace

TEST_SUITE("worker") {
    TEST_CASE("bash runs under a PTY and its screen shows what it printed") {
        Harness h;
        auto& w = h.make({"bash", "--noprofile", "--norc", "-i"});
        w.start();
        CHECK(w.state() == State::Running);
        CHECK(w.pid() > 0);
        CHECK(h.events == std::vector<std::string>{"worker_started"});
        w.write("echo hel\"\"lo-$((6*7))\r");
        CHECK(h.screen_has("hello-42"));
        w.write("tty; echo size=$(stty size)\r");
        CHECK(h.screen_has("/dev/pts/"));
        CHECK(h.screen_has("size=24 80"));
    }

    TEST_CASE("the worker environment names the workspace, worker and socket") {
        sb::workspace::Worker definition;
        definition.name = "alice";
        definition.command.via_shell = true;
        definition.command.shell_line = "echo \"[$SWITCHBOARD_WORKER|$SWITCHBOARD_WORKSPACE|"
                                        "$SWITCHBOARD_SOCKET|$TERM|$COLORTERM|$MINE]\"; sleep 5";
        definition.cwd = "/tmp";
        definition.settings.env = {{"MINE", "x y"}};
        const auto spec = sb::worker::spawn_spec(
            definition, {"team", "/run/s.sock"},
            {{"PATH", "/usr/bin:/bin"}, {"SHELL", "/bin/sh"}, {"TERM", "screen"}, {"TMUX", "/x"}});
        CHECK(spec.argv ==
              std::vector<std::string>{"/bin/sh", "-c", definition.command.shell_line});
        Harness h;
        auto& w = h.make({});
        (void)w;
        WorkerConfig config = h.worker->config();
        config.spawn = spec;
        h.worker = std::make_unique<Worker>(h.loop.get(), *h.reaper, config, nullptr);
        h.worker->start();
        CHECK(h.screen_has("[alice|team|/run/s.sock|xterm-256color|truecolor|x y]"));
    }

    TEST_CASE("cat echoes input and output in order") {
        Harness h;
        auto& w = h.make({"cat"});
        w.start();
        std::string input;
        for (int i = 0; i < 20; ++i) {
            input += "line-" + std::to_string(i) + "\r";
        }
        w.write(input);
        // Each line shows twice: the terminal's echo and cat's copy.
        const auto count = [&] {
            const auto text = w.screen().text(1000);
            int n = 0;
            for (auto at = text.find("line-19"); at != std::string::npos;
                 at = text.find("line-19", at + 1)) {
                ++n;
            }
            return n;
        };
        CHECK(h.loop.run_until([&] { return count() == 2; }, 5000ms));
    }

    TEST_CASE("5 MB of output all reach the screen before the exit is reported") {
        Harness h;
        const auto screen_at_exit =
            h.run_to_exit({"python3", "-c",
                           "import sys\n"
                           "out = sys.stdout\n"
                           "for i in range(80000):\n"
                           "    out.write('line %07d %s\\n' % (i, 'x' * 50))\n"
                           "out.write('THE-END\\n')\n"},
                          5);
        CHECK(screen_at_exit.find("line 0079999") != std::string::npos);
        CHECK(screen_at_exit.find("THE-END") != std::string::npos);
        const auto text = h.worker->screen().text(1000);
        CHECK(text.find("line 0079000") != std::string::npos);
        CHECK(h.worker->last_exit().code == 0);
        CHECK(h.worker->state() == State::Exited);
    }

    TEST_CASE("short lines streamed as fast as they print arrive whole and in order") {
        // Reading such output pauses between reads (Worker::read_output);
        // nothing may be lost or reordered across a pause, nor when the
        // program ends during one.
        Harness h;
        const auto screen_at_exit = h.run_to_exit({"sh", "-c", "seq 1 300000; echo THE-END"}, 0);
        CHECK(screen_at_exit.find("300000\nTHE-END") != std::string::npos);
        // The 1,000 lines of scrollback and the screen hold the last numbers,
        // each once, in order.
        std::istringstream text(h.worker->screen().text(1000));
        std::vector<long> numbers;
        for (std::string line; std::getline(text, line);) {
            if (!line.empty() && line != "THE-END") {
                numbers.push_back(std::stol(line));
            }
        }
        REQUIRE(numbers.size() > 900);
        CHECK(numbers.back() == 300000);
        bool consecutive = true;
        for (std::size_t i = 1; i < numbers.size(); ++i) {
            consecutive = consecutive && numbers[i] == numbers[i - 1] + 1;
        }
        CHECK(consecutive);
    }

    TEST_CASE("output that streams in small pieces is read with pauses, and arrives whole") {
        // Pieces a tenth of a millisecond apart: however loaded the machine,
        // some read comes less than a millisecond after the one before and
        // finds less than a full buffer, which starts the pauses.
        Harness h;
        auto& w = h.make({"python3", "-c",
                          "import sys, time\n"
                          "for i in range(2000):\n"
                          "    sys.stdout.write('%d\\n' % i)\n"
                          "    sys.stdout.flush()\n"
                          "    time.sleep(0.0001)\n"
                          "sys.stdout.write('THE-END\\n')\n"});
        w.start();
        REQUIRE(h.state_is(State::Exited, 60000ms));
        const auto text = w.screen().text(1000);
        CHECK(text.find("1998\n1999\nTHE-END") != std::string::npos);
        CHECK(text.find("\n999\n1000\n1001\n") != std::string::npos);
        CHECK(w.read_pauses() > 0);
    }

    TEST_CASE("pacing starts on a small read while output streams and ends on a full buffer") {
        using sb::worker::pace_next_read;
        CHECK_FALSE(pace_next_read(1, false, false)); // a key's echo
        CHECK_FALSE(pace_next_read(100, false, true));
        CHECK(pace_next_read(100, true, false));
        CHECK_FALSE(pace_next_read(2000, true, false));
        CHECK(pace_next_read(2000, true, true));

        // What a full buffer reads as, from this kernel: the terminal's
        // writer is far ahead, and the read finds all the kernel holds.
        auto opened = sb::pty::open_pty(80, 24);
        REQUIRE(std::holds_alternative<sb::pty::Pty>(opened));
        auto& terminal = std::get<sb::pty::Pty>(opened);
        // As much as the terminal takes without blocking: more than a buffer.
        REQUIRE(::fcntl(terminal.slave.get(), F_SETFL, O_NONBLOCK) == 0);
        const std::string block(65536, 'x');
        REQUIRE(::write(terminal.slave.get(), block.data(), block.size()) > 4096);
        std::this_thread::sleep_for(50ms);
        char buffer[65536];
        const auto n = ::read(terminal.master.get(), buffer, sizeof buffer);
        CAPTURE(n);
        REQUIRE(n >= sb::pty::full_read);
        CHECK_FALSE(pace_next_read(n, true, true));
    }

    TEST_CASE("a key's echo is read at once, without a pause") {
        Harness h;
        auto& w = h.make({"cat"});
        w.start();
        REQUIRE(h.state_is(State::Running));
        for (int i = 0; i < 10; ++i) {
            const std::string key(1, static_cast<char>('a' + i));
            w.write(key);
            REQUIRE(h.loop.run_until(
                [&] { return w.screen().text(0).find(key) != std::string::npos; }, 5000ms));
            // A person's pace: the echo comes after a quiet spell.
            h.loop.run_for(5ms);
        }
        CHECK(w.screen().text(0).find("abcdefghij") != std::string::npos);
        CHECK(w.read_pauses() == 0);
    }

    TEST_CASE("a program that asks for the cursor position gets its answer") {
        Harness h;
        auto& w = h.make({"python3", "-c",
                          "import os, sys, termios, tty\n"
                          "tty.setraw(0)\n"
                          "os.write(1, b'abc\\x1b[6n')\n"
                          "reply = b''\n"
                          "while not reply.endswith(b'R'):\n"
                          "    reply += os.read(0, 1)\n"
                          "os.write(1, b'\\r\\nreply=' + reply[1:] + b'\\r\\n')\n"
                          "import time; time.sleep(5)\n"});
        w.start();
        CHECK(h.screen_has("reply=[1;4R"));
    }

    TEST_CASE("a failing worker is restarted with backoff and then parked as failed") {
        Harness h;
        auto& w = h.make({"sh", "-c", "echo run; exit 3"}, sb::workspace::RestartPolicy::OnFailure);
        w.start();
        REQUIRE(h.state_is(State::Failed, 10000ms));
        CHECK(w.reason().find("crash loop") != std::string::npos);
        CHECK(w.reason().find("exit status 3") != std::string::npos);
        CHECK(w.restarts() == 5);
        std::vector<long long> delays;
        for (const auto& event : h.details) {
            if (event.type == "worker_restarting") {
                delays.push_back(event.fields["delay_ms"].get<long long>());
            }
        }
        CHECK(delays == std::vector<long long>{20, 40, 80, 160, 200});
        CHECK(h.events.back() == "worker_failed");
        // A parked worker starts again when asked.
        h.events.clear();
        w.start();
        REQUIRE_FALSE(h.events.empty());
        CHECK(h.events.front() == "worker_started");
        CHECK(w.state() != State::Failed);
    }

    TEST_CASE("a clean exit under on-failure stays exited with its final screen") {
        Harness h;
        auto& w =
            h.make({"sh", "-c", "echo goodbye-world"}, sb::workspace::RestartPolicy::OnFailure);
        w.start();
        REQUIRE(h.state_is(State::Exited));
        h.loop.run_for(100ms);
        CHECK(w.state() == State::Exited);
        CHECK(w.last_exit().code == 0);
        CHECK(w.screen().text().find("goodbye-world") != std::string::npos);
    }

    TEST_CASE("a worker killed by a signal reports it") {
        Harness h;
        auto& w = h.make({"sh", "-c", "kill -SEGV $$"});
        w.start();
        REQUIRE(h.state_is(State::Exited));
        CHECK(w.last_exit().signal == SIGSEGV);
        CHECK_FALSE(w.last_exit().code.has_value());
    }

    TEST_CASE("a program that does not exist fails with the reason") {
        Harness h;
        auto& w = h.make({"no-such-program-xyz"});
        w.start();
        CHECK(w.state() == State::Failed);
        CHECK(w.reason() == "no-such-program-xyz: No such file or directory (not found on the "
                            "worker's PATH)");
        CHECK(h.events == std::vector<std::string>{"worker_failed"});
    }

    TEST_CASE("a program that is not executable and a bad cwd fail with the reason") {
        sb::test::TempDir dir;
        const auto script = dir.write("script.sh", "#!/bin/sh\necho hi\n");
        Harness h;
        auto& w = h.make({script.string()});
        w.start();
        CHECK(w.state() == State::Failed);
        CHECK(w.reason() == "exec " + script.string() + ": Permission denied");

        Harness h2;
        WorkerConfig config;
        auto& w2 = h2.make({"sh", "-c", "true"});
        config = w2.config();
        config.spawn.cwd = dir.path() / "gone";
        h2.worker = std::make_unique<Worker>(h2.loop.get(), *h2.reaper, config, nullptr);
        h2.worker->start();
        CHECK(h2.worker->state() == State::Failed);
        CHECK(h2.worker->reason() ==
              "cwd " + (dir.path() / "gone").string() + ": No such file or directory");
    }

    TEST_CASE("stop kills a worker that ignores SIGTERM and SIGHUP after stop_timeout") {
        Harness h;
        auto& w = h.make({"sh", "-c", "trap '' TERM HUP; echo ready; while :; do sleep 1; done"});
        w.start();
        REQUIRE(h.screen_has("ready"));
        const auto begin = std::chrono::steady_clock::now();
        bool stopped = false;
        w.stop([&] { stopped = true; });
        REQUIRE(h.loop.run_until([&] { return stopped; }, 5000ms));
        const auto took = std::chrono::steady_clock::now() - begin;
        CHECK(took >= 500ms);
        CHECK(w.state() == State::Stopped);
        CHECK(w.last_exit().signal == SIGKILL);
    }

    TEST_CASE("stop ends a well-behaved worker at once") {
        Harness h;
        auto& w =
            h.make({"bash", "--noprofile", "--norc", "-i"}, sb::workspace::RestartPolicy::Always);
        w.start();
        bool stopped = false;
        w.stop([&] { stopped = true; });
        REQUIRE(h.loop.run_until([&] { return stopped; }, 5000ms));
        CHECK(w.state() == State::Stopped);
        h.loop.run_for(100ms);
        CHECK(w.state() == State::Stopped); // not restarted by `always`
    }

    TEST_CASE("a grandchild holding the PTY does not keep the worker from finishing") {
        Harness h;
        auto& w = h.make({"bash", "-c", "trap '' HUP; sleep 60 & echo grandchild=$!; exit 0"});
        w.start();
        REQUIRE(h.screen_has("grandchild="));
        const auto text = w.screen().text();
        const auto at = text.find("grandchild=") + 11;
        const pid_t grandchild = std::stoi(text.substr(at));
        REQUIRE(h.state_is(State::Exited, 5000ms));
        CHECK(w.last_exit().code == 0);
        CHECK(sb::test::eventually([&] { return !sb::test::process_alive(grandchild); }, 2000ms));
    }

    TEST_CASE("restart starts a new run with a new screen") {
        Harness h;
        auto& w = h.make({"bash", "--noprofile", "--norc", "-i"});
        w.start();
        w.write("echo first-run\r");
        REQUIRE(h.screen_has("first-run"));
        const pid_t first = w.pid();
        bool restarted = false;
        w.restart([&] {
            // Told once the new run has started.
            CHECK(w.state() == State::Running);
            CHECK(w.pid() != first);
            restarted = true;
        });
        REQUIRE(h.loop.run_until([&] { return restarted; }, 5000ms));
        w.write("echo second-run\r");
        REQUIRE(h.screen_has("second-run"));
        CHECK(w.screen().text(1000).find("first-run") == std::string::npos);
    }

    TEST_CASE("a stop while a restart waits for the old run wins, and both are told") {
        Harness h;
        auto& w = h.make({"sh", "-c", "trap '' TERM HUP; echo ready; while :; do sleep 1; done"});
        w.start();
        REQUIRE(h.screen_has("ready"));
        std::vector<std::string> told;
        w.restart([&] { told.push_back("restart " + std::string(to_string(w.state()))); });
        w.stop([&] { told.push_back("stop " + std::string(to_string(w.state()))); });
        REQUIRE(h.loop.run_until([&] { return told.size() == 2; }, 5000ms));
        CHECK(told == std::vector<std::string>{"restart stopped", "stop stopped"});
        h.loop.run_for(100ms);
        CHECK(w.state() == State::Stopped);
    }

    TEST_CASE("resize changes what the program sees") {
        Harness h;
        auto& w = h.make({"bash", "--noprofile", "--norc", "-i"});
        w.start();
        w.resize(100, 30);
        w.write("echo size=$(stty size)\r");
        CHECK(h.screen_has("size=30 100"));
        CHECK(w.screen().cols() == 100);
        CHECK(w.screen().rows() == 30);
    }

    TEST_CASE("large writes to a slow reader keep their order") {
        Harness h;
        // The child reads slowly, so the kernel buffer fills and writes must
        // wait for EAGAIN to clear.
        auto& w =
            h.make({"python3", "-c",
                    "import sys, time, tty, hashlib\n"
                    "tty.setraw(0)\n"
                    "print('ready', end='\\r\\n', flush=True)\n"
                    "data = b''\n"
                    "while len(data) < 200000:\n"
                    "    time.sleep(0.001)\n"
                    "    data += sys.stdin.buffer.raw.read(4096)\n"
                    "print('digest', hashlib.sha256(data[:200000]).hexdigest()[:16], flush=True)\n"
                    "time.sleep(5)\n"});
        w.start();
        // Raw mode first: a canonical-mode line holds at most 4095 bytes.
        REQUIRE(h.screen_has("ready"));
        std::string payload;
        for (int i = 0; payload.size() < 200000; ++i) {
            payload += std::to_string(i) + ",";
        }
        payload.resize(200000);
        for (std::size_t i = 0; i < payload.size(); i += 1000) {
            w.write(std::string_view(payload).substr(i, 1000));
        }
        CHECK(w.pending_write_bytes() > 0);
        // sha256 of the payload, computed by python3 the same way.
        const auto digest =
            sb::test::run({"python3", "-c",
                           "import sys, hashlib; "
                           "print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest()[:16])"},
                          {.input = payload});
        REQUIRE(digest.exit_status == 0);
        CHECK(h.screen_has("digest " + digest.out.substr(0, 16), 20000ms));
    }
}
