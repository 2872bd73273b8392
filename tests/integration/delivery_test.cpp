// Message delivery end to end: the real server, fake agents, real shells.
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "agents.hpp"
#include "process.hpp"
#include "workspace_server.hpp"

using namespace std::chrono_literals;
using nlohmann::json;
using sb::test::agent_worker;
using sb::test::events_of;
using sb::test::eventually;
using sb::test::fake_agent;
using sb::test::logged;
using sb::test::WorkspaceServer;

namespace {

// A submitted message counts as accepted (accept_timeout 0): the fake agent
// shows nothing after a submit unless told to (--busy).
const char* const fast = "    delivery: {idle: 50ms, throttle: {min: 10ms}, accept_timeout: 0ms}\n";

} // namespace

TEST_SUITE("delivery") {
    TEST_CASE("a message is typed into an agent, verified by its echo, and arrives exactly once") {
        WorkspaceServer ws("workers:\n" + agent_worker("agent", "agent.log",
                                                       "--bracketed-paste --collapse-pastes",
                                                       fast));
        REQUIRE(ws.start());
        auto sent = ws.cli({"send", "agent", "hello there", "--wait"});
        CHECK(sent.exit_status == 0);
        CHECK(sent.out.starts_with("d-1\nd-1: verified in "));
        sent = ws.cli({"send", "agent", "--wait", "-"}, "line one\nline two\nline three\n");
        CHECK(sent.exit_status == 0);
        const auto log = logged(ws.directory() / "agent.log", 2);
        CHECK(log == std::vector<std::string>{"[from user · d-1] hello there",
                                              "[from user · d-2] line one\nline two\nline three"});
        const auto verified = events_of(ws, "delivery_verified");
        REQUIRE(verified.size() == 2);
        CHECK(verified[0]["verification"] == "echo");
        CHECK(verified[0]["latency_ms"].is_number());
        CHECK(events_of(ws, "delivery_queued")[0]["bytes"] == 11);
    }

    TEST_CASE("an echo that never comes is reported unverified and never typed again") {
        WorkspaceServer ws("workers:\n" +
                           agent_worker("agent", "agent.log", "--no-echo",
                                        "    delivery: {idle: 50ms, verify_timeout: 400ms}\n"));
        REQUIRE(ws.start());
        const auto sent = ws.cli({"send", "agent", "are you there", "--wait"});
        CHECK(sent.exit_status == 3);
        CHECK(sent.out.find("unverified") != std::string::npos);
        CHECK(sent.out.find("echo not seen within 400 ms") != std::string::npos);
        std::this_thread::sleep_for(500ms);
        CHECK(logged(ws.directory() / "agent.log").size() == 1);
        const auto verified = events_of(ws, "delivery_verified");
        REQUIRE(verified.size() == 1);
        CHECK(verified[0]["verification"] == "timeout_fallback");
        CHECK(events_of(ws, "delivery_injected").size() == 1);
    }

    TEST_CASE("with wait_for_echo the Enter waits for a slow agent's echo instead of a clock") {
        // The agent draws everything 300 ms late and takes an Enter within
        // 200 ms of a paste as a newline, like a busy Gemini CLI reading the
        // paste and the Enter in one read. No pause is configured: only the
        // wait for the echo (the claude profile's wait_for_echo) keeps the
        // Enter from becoming a newline.
        WorkspaceServer ws(
            "workers:\n" +
            agent_worker("agent", "agent.log",
                         "--bracketed-paste --echo-delay 300 --enter-as-newline-within 200",
                         "    delivery: {idle: 50ms, enter_delay: 0ms, body_delay: 0ms}\n"));
        REQUIRE(ws.start());
        const auto sent = ws.cli({"send", "agent", "--wait", "-"}, "first line\nsecond line\n");
        CHECK(sent.exit_status == 0);
        const auto log = logged(ws.directory() / "agent.log", 1);
        CHECK(log == std::vector<std::string>{"[from user · d-1] first line\nsecond line"});
    }

    TEST_CASE(
        "a worker that dies mid-injection fails the delivery, which is retried, then dropped") {
        // The worker exits as soon as it reads a byte, before the Enter that
        // follows after a long enter_delay: the write of the Enter fails.
        WorkspaceServer ws(R"yaml(workers:
  flaky:
    command: [sh, -c, "stty raw -echo; printf ready; head -c 1 >/dev/null"]
    restart: always
    delivery: {idle: 10ms, enter_delay: 1s, throttle: {min: 10ms, max: 200ms}}
)yaml");
        REQUIRE(ws.start());
        const auto sent = ws.cli({"send", "flaky", "doomed", "--wait", "--timeout", "60s"});
        CHECK(sent.exit_status == 4);
        const auto failed = events_of(ws, "delivery_failed");
        CHECK(failed.size() == 4);
        if (!failed.empty()) {
            CHECK(failed[0]["retry_in_ms"] == 100);
            CHECK(failed[0]["reason"].get<std::string>().find("terminal closed") !=
                  std::string::npos);
        }
        const auto dropped = events_of(ws, "delivery_dropped");
        REQUIRE(dropped.size() == 1);
        CHECK(dropped[0]["reason"] == "max_attempts");
        CHECK(events_of(ws, "delivery_injected").size() == 5);
    }

    TEST_CASE("a full queue evicts its oldest delivery with the evicted sender") {
        WorkspaceServer ws(
            "workers:\n" +
            agent_worker("agent", "agent.log", "", "    delivery: {idle: 50ms, max_pending: 2}\n"));
        REQUIRE(ws.start());
        CHECK(ws.cli({"hold", "agent"}).exit_status == 0);
        ws.cli({"send", "--from", "alice", "agent", "one"});
        ws.cli({"send", "--from", "bob", "agent", "two"});
        ws.cli({"send", "--from", "carol", "agent", "three"});
        const auto dropped = events_of(ws, "delivery_dropped");
        REQUIRE(dropped.size() == 1);
        CHECK(dropped[0]["id"] == "d-1");
        CHECK(dropped[0]["from"] == "alice");
        CHECK(dropped[0]["reason"] == "queue_full");
        // Until its prompt shows, the agent is "not ready", which comes before
        // "held" (under load the prompt can come after the sends).
        REQUIRE(eventually([&] { return !events_of(ws, "worker_ready").empty(); }, 10000ms));
        const auto pending = json::parse(ws.cli({"pending", "--json"}).out)["deliveries"];
        REQUIRE(pending.size() == 2);
        CHECK(pending[0]["waiting_for"] == "held");
        CHECK(ws.cli({"pending"}).out.find("held") != std::string::npos);
        CHECK(ws.cli({"release", "agent"}).exit_status == 0);
        CHECK(
            eventually([&] { return logged(ws.directory() / "agent.log").size() == 2; }, 10000ms));
        CHECK(logged(ws.directory() / "agent.log", 2) ==
              std::vector<std::string>{"[from bob · d-2] two", "[from carol · d-3] three"});
    }

    TEST_CASE("the gate waits for readiness and for the agent to stop being busy") {
        WorkspaceServer ws("workers:\n" +
                           agent_worker("agent", "agent.log",
                                        "--startup-delay 800 --busy 1200 --drop-input-while-busy",
                                        // The agent shows its busy line only once it
                                        // has read the Enter; on a loaded machine that
                                        // can take longer than `fast`'s idle.
                                        "    delivery: {idle: 500ms, throttle: {min: 10ms}}\n"));
        REQUIRE(ws.start());
        // Sent before the prompt exists: typed only once the agent is ready.
        auto first = ws.cli({"send", "agent", "first", "--wait", "--timeout", "20s"});
        CHECK(first.exit_status == 0);
        // The agent is busy for 1.2 s after the first; the second must wait
        // or the agent would drop it.
        auto second = ws.cli({"send", "agent", "second", "--wait", "--timeout", "20s"});
        CHECK(second.exit_status == 0);
        CHECK(logged(ws.directory() / "agent.log", 2) ==
              std::vector<std::string>{"[from user · d-1] first", "[from user · d-2] second"});
        const auto ready = events_of(ws, "worker_ready");
        REQUIRE_FALSE(ready.empty());
        CHECK(ready[0]["reason"] == "pattern");
    }

    TEST_CASE("a person typing holds deliveries") {
        WorkspaceServer ws("workers:\n" + agent_worker("agent", "agent.log", "", fast));
        REQUIRE(ws.start());
        REQUIRE(eventually(
            [&] {
                return ws.cli({"capture", "agent"}).out.find("❯") != std::string::npos;
            },
            5000ms));
        ws.cli({"keys", "agent", "-l", "draft"});
        ws.cli({"send", "agent", "queued behind the person"});
        std::this_thread::sleep_for(300ms);
        const auto pending = json::parse(ws.cli({"pending", "--json"}).out)["deliveries"];
        REQUIRE(pending.size() == 1);
        CHECK(pending[0]["waiting_for"] == "typing");
    }

    TEST_CASE("hostile bodies arrive harmless or are refused") {
        WorkspaceServer ws("workers:\n" +
                           agent_worker("agent", "agent.log", "--bracketed-paste", fast));
        REQUIRE(ws.start());
        auto sent = ws.cli({"send", "agent", "--wait", "-"},
                           std::string("evil\x1b[201~\x1b[31m red \x03 \x00 done", 29));
        CHECK(sent.exit_status == 0);
        CHECK(logged(ws.directory() / "agent.log", 1) ==
              std::vector<std::string>{"[from user · d-1] evil[201~[31m red   done"});
        const auto queued = events_of(ws, "delivery_queued");
        REQUIRE(queued.size() == 1);
        CHECK(queued[0]["removed_bytes"] == 5);

        auto invalid = ws.cli({"send", "agent", "-"}, "bad \xff bytes");
        CHECK(invalid.exit_status == 1);
        CHECK(invalid.err.find("not valid UTF-8") != std::string::npos);
        auto huge = ws.cli({"send", "agent", "-"}, std::string(1 << 20, 'x'));
        CHECK(huge.exit_status == 1);
        CHECK(huge.err.find("the limit is 65536") != std::string::npos);
        auto empty = ws.cli({"send", "agent", "-"}, "\x1b\x1b\n");
        CHECK(empty.exit_status == 1);
        CHECK(events_of(ws, "delivery_queued").size() == 1);
    }

    TEST_CASE("send to an unknown worker, @group and all") {
        WorkspaceServer ws(
            "workers:\n" +
            agent_worker("a", "a.log", "", fast + std::string("    groups: [team]\n")) +
            agent_worker("b", "b.log", "", fast + std::string("    groups: [team]\n")) +
            agent_worker("c", "c.log", "", fast));
        REQUIRE(ws.start());
        auto unknown = ws.cli({"send", "zed", "hi"});
        CHECK(unknown.exit_status == 1);
        CHECK(unknown.err.find("no worker \"zed\"") != std::string::npos);
        CHECK(ws.cli({"send", "@nobody", "hi"}).exit_status == 1);
        auto group = ws.cli({"send", "--from", "a", "@team", "to the team", "--wait"});
        CHECK(group.exit_status == 0);
        CHECK(group.out.find("d-1\n") == 0); // only b: the sender is left out
        auto all = ws.cli({"send", "all", "to everyone", "--wait"});
        CHECK(all.exit_status == 0);
        CHECK(logged(ws.directory() / "a.log", 1) ==
              std::vector<std::string>{"[from user · d-2] to everyone"});
        CHECK(logged(ws.directory() / "b.log", 2).size() == 2);
        CHECK(logged(ws.directory() / "c.log", 1).size() == 1);
    }

    TEST_CASE("--key makes a retried send return the first delivery") {
        WorkspaceServer ws("workers:\n" + agent_worker("agent", "agent.log", "", fast));
        REQUIRE(ws.start());
        const auto first = ws.cli({"send", "--key", "job-17", "agent", "once", "--wait"});
        CHECK(first.exit_status == 0);
        const auto again = ws.cli({"send", "--key", "job-17", "agent", "once", "--wait"});
        CHECK(again.exit_status == 0);
        CHECK(again.out.starts_with("d-1\n"));
        CHECK(logged(ws.directory() / "agent.log", 1).size() == 1);
    }

    TEST_CASE("--wait exit statuses: cancelled is 4, still queued at the timeout is 5") {
        WorkspaceServer ws("workers:\n" + agent_worker("agent", "agent.log", "", fast));
        REQUIRE(ws.start());
        ws.cli({"hold", "agent"});
        const auto timed_out = ws.cli({"send", "agent", "waits", "--wait", "--timeout", "300ms"});
        CHECK(timed_out.exit_status == 5);
        CHECK(timed_out.err.find("d-1: no outcome yet") != std::string::npos);
        sb::test::RunOptions options = ws.options();
        sb::test::BackgroundProcess waiter({sb::test::switchboard_binary(), "-f",
                                            ws.file().string(), "send", "agent", "victim",
                                            "--wait"},
                                           options);
        REQUIRE(waiter.wait_for_output("d-2", 5000ms));
        CHECK(ws.cli({"cancel", "d-2"}).exit_status == 0);
        REQUIRE(waiter.wait(5000ms));
        CHECK(waiter.exit_status() == 4);
        CHECK(ws.cli({"cancel", "d-2"}).exit_status == 1);
        const auto dropped = events_of(ws, "delivery_dropped");
        REQUIRE(dropped.size() == 1);
        CHECK(dropped[0]["reason"] == "cancelled");
    }

    TEST_CASE("deliveries for a worker removed from the workspace go to the inbox") {
        WorkspaceServer ws("workers:\n" + agent_worker("agent", "agent.log", "", fast) +
                           agent_worker("other", "other.log", "", fast));
        REQUIRE(ws.start());
        ws.cli({"hold", "agent"});
        ws.cli({"send", "--from", "alice", "agent", "never typed"});
        ws.write_file("workers:\n" + agent_worker("other", "other.log", "", fast));
        CHECK(ws.cli({"reload"}).exit_status == 0);
        CHECK(events_of(ws, "delivery_dropped").empty());
        const auto inboxed = events_of(ws, "delivery_inboxed");
        REQUIRE(inboxed.size() == 1);
        CHECK(inboxed[0]["id"] == "d-1");
        CHECK(inboxed[0]["from"] == "alice");
        CHECK(inboxed[0]["to"] == "agent");
        CHECK(inboxed[0]["reason"] == "worker_removed");
        CHECK(ws.cli({"send", "agent", "again"}).exit_status == 1);
        CHECK(logged(ws.directory() / "agent.log").empty());
    }

    TEST_CASE("an agent in one worker sends to another through SWITCHBOARD_SOCKET") {
        WorkspaceServer ws(
            "workers:\n" + agent_worker("agent", "agent.log", "", fast) +
            "  sender:\n    command: \"sleep 1; $SB send agent 'hi from inside'; exec sleep 600\"\n"
            "    env: {SB: " +
            sb::test::switchboard_binary() + "}\n");
        REQUIRE(ws.start());
        CHECK(
            eventually([&] { return logged(ws.directory() / "agent.log").size() == 1; }, 15000ms));
        CHECK(logged(ws.directory() / "agent.log", 1) ==
              std::vector<std::string>{"[from sender · d-1] hi from inside"});
    }

    TEST_CASE("1000 messages to 10 workers arrive exactly once and in order per sender") {
        // Per sender and worker; 1000 in all (200 under the sanitize setup).
        const int per_worker = sb::test::load(50);
        std::string yaml = "defaults:\n  delivery: {idle: 0ms, enter_delay: 0ms, throttle: {min: "
                           "1ms}}\nworkers:\n";
        for (int w = 0; w < 10; ++w) {
            yaml += agent_worker("w" + std::to_string(w), "w" + std::to_string(w) + ".log",
                                 "--bracketed-paste");
        }
        WorkspaceServer ws(yaml);
        REQUIRE(ws.start());
        // Two senders interleave their messages to every worker.
        std::vector<std::thread> senders;
        for (const std::string sender : {"s1", "s2"}) {
            senders.emplace_back([&ws, sender, per_worker] {
                for (int i = 0; i < per_worker; ++i) {
                    for (int w = 0; w < 10; ++w) {
                        ws.cli({"send", "--from", sender, "w" + std::to_string(w),
                                sender + " message " + std::to_string(i)});
                    }
                }
            });
        }
        for (auto& t : senders) {
            t.join();
        }
        REQUIRE(eventually(
            [&] {
                std::size_t total = 0;
                for (int w = 0; w < 10; ++w) {
                    total += logged(ws.directory() / ("w" + std::to_string(w) + ".log")).size();
                }
                return total == static_cast<std::size_t>(20 * per_worker);
            },
            120000ms));
        for (int w = 0; w < 10; ++w) {
            CAPTURE(w);
            std::map<std::string, int> next = {{"s1", 0}, {"s2", 0}};
            for (const auto& text : logged(ws.directory() / ("w" + std::to_string(w) + ".log"))) {
                const auto from = text.substr(6, 2);
                const auto number = std::stoi(text.substr(text.rfind(' ') + 1));
                CHECK(number == next[from]);
                next[from] = number + 1;
            }
            CHECK(next["s1"] == per_worker);
            CHECK(next["s2"] == per_worker);
        }
        std::size_t echo = 0;
        for (const auto& e : events_of(ws, "delivery_verified")) {
            echo += e["verification"] == "echo" ? 1 : 0;
        }
        CHECK(echo == static_cast<std::size_t>(20 * per_worker));
    }
}
