// The inbox, replies and time to live end to end: messages no worker takes
// are kept and dispatched, replies find their way back to the sender, and a
// message past its time to live is never typed.
#include <sstream>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "agents.hpp"
#include "process.hpp"
#include "workspace_server.hpp"

using namespace std::chrono_literals;
using nlohmann::json;
using sb::test::agent_worker;
using sb::test::BackgroundProcess;
using sb::test::events_of;
using sb::test::eventually;
using sb::test::logged;
using sb::test::RunResult;
using sb::test::WorkspaceServer;

namespace {

const char* const fast = "    delivery: {idle: 50ms, throttle: {min: 10ms}}\n";

// Deliveries to this worker wait for good: it never shows its ready pattern.
const char* const never_ready =
    "    delivery: {ready_pattern: NEVER-SHOWN-ON-SCREEN, ready_timeout: 10m}\n";

json inbox(const WorkspaceServer& ws) {
    return sb::test::listed(ws, "inbox");
}

json pending(const WorkspaceServer& ws) {
    return sb::test::listed(ws, "pending");
}

json history(const WorkspaceServer& ws) {
    return sb::test::listed(ws, "history");
}

// `switchboard ARGS...` as a program inside worker `worker` runs it: the
// server sets SWITCHBOARD_WORKER there, and send takes the sender from it.
RunResult as_worker(const WorkspaceServer& ws, const std::string& worker,
                    const std::vector<std::string>& args) {
    std::vector<std::string> argv = {sb::test::switchboard_binary(), "-f", ws.file().string()};
    argv.insert(argv.end(), args.begin(), args.end());
    auto options = ws.options();
    options.env["SWITCHBOARD_WORKER"] = worker;
    return sb::test::run(argv, options);
}

// A worker that ends and is not restarted: the fake agent quits on a
// double Ctrl-C with status 0.
void quit(const WorkspaceServer& ws, const std::string& worker) {
    REQUIRE(ws.cli({"keys", worker, "C-c", "C-c"}).exit_status == 0);
}

bool has_event(const WorkspaceServer& ws, const std::string& type, const std::string& id,
               const std::string& reason = "") {
    for (const auto& e : events_of(ws, type)) {
        if (e.value("id", "") == id && (reason.empty() || e.value("reason", "") == reason)) {
            return true;
        }
    }
    return false;
}

} // namespace

TEST_SUITE("inbox") {
    TEST_CASE("send --to-inbox keeps a message for dispatch; dispatch types it into the worker") {
        WorkspaceServer ws("workers:\n" + agent_worker("agent", "agent.log", "", fast));
        REQUIRE(ws.start());
        auto sent = ws.cli({"send", "--to-inbox", "agent", "triage me"});
        REQUIRE_MESSAGE(sent.exit_status == 0, sent.err);
        CHECK(sent.out == "d-1\n");
        sent = ws.cli({"send", "--to-inbox", "for anyone"});
        REQUIRE_MESSAGE(sent.exit_status == 0, sent.err);
        CHECK(sent.out == "d-2\n");

        const auto entries = inbox(ws);
        REQUIRE(entries.size() == 2);
        CHECK(entries[0]["id"] == "d-1");
        CHECK(entries[0]["from"] == "user");
        CHECK(entries[0]["to"] == "agent");
        CHECK(entries[0]["reason"] == "requested");
        CHECK(entries[0]["preview"] == "triage me");
        CHECK(entries[0]["age_ms"].is_number());
        CHECK(entries[1]["to"] == "");
        const auto table = ws.cli({"inbox"});
        CHECK(table.out.find("d-1        user           agent          requested") !=
              std::string::npos);
        CHECK(table.out.find("d-2        user           -              requested") !=
              std::string::npos);
        CHECK(pending(ws).empty());
        CHECK(has_event(ws, "delivery_inboxed", "d-1", "requested"));

        const auto dispatched = ws.cli({"dispatch", "d-2", "agent"});
        CHECK_MESSAGE(dispatched.exit_status == 0, dispatched.err);
        CHECK(dispatched.out == "d-2: queued for agent\n");
        CHECK(logged(ws.directory() / "agent.log", 1) ==
              std::vector<std::string>{"[from user · d-2] for anyone"});
        CHECK(inbox(ws).size() == 1);
        const auto events = events_of(ws, "delivery_dispatched");
        REQUIRE(events.size() == 1);
        CHECK(events[0]["id"] == "d-2");
        CHECK(events[0]["worker"] == "agent");
        CHECK(events[0]["reason"] == "requested");
        // Dispatched once: it is no longer in the inbox.
        const auto again = ws.cli({"dispatch", "d-2", "agent"});
        CHECK(again.exit_status == 1);
        CHECK(again.err.find("no delivery \"d-2\" in the inbox") != std::string::npos);
        // Cancel takes one out of the inbox.
        CHECK(ws.cli({"cancel", "d-1"}).exit_status == 0);
        CHECK(inbox(ws).empty());
        CHECK(has_event(ws, "delivery_dropped", "d-1", "cancelled"));
    }

    TEST_CASE("a dispatch to a worker that cannot take it leaves the message in the inbox") {
        WorkspaceServer ws("workers:\n" + agent_worker("agent", "agent.log", "", fast) +
                           agent_worker("quitter", "quitter.log", "", "    restart: never\n"));
        REQUIRE(ws.start());
        REQUIRE(eventually([&] { return events_of(ws, "worker_started").size() == 2; }, 10000ms));
        quit(ws, "quitter");
        REQUIRE(eventually([&] { return !events_of(ws, "worker_exited").empty(); }, 10000ms));
        REQUIRE(ws.cli({"send", "--to-inbox", "keep me"}).exit_status == 0);

        auto refused = ws.cli({"dispatch", "d-1", "nobody"});
        CHECK(refused.exit_status == 1);
        CHECK(refused.err.find("no worker \"nobody\"") != std::string::npos);
        CHECK(refused.err.find("d-1 stays in the inbox") != std::string::npos);
        refused = ws.cli({"dispatch", "d-1", "quitter"});
        CHECK(refused.exit_status == 1);
        CHECK(refused.err.find("worker \"quitter\" has exited and will not be restarted") !=
              std::string::npos);
        refused = ws.cli({"dispatch", "d-9", "agent"});
        CHECK(refused.exit_status == 1);
        CHECK(refused.err.find("no delivery \"d-9\" in the inbox") != std::string::npos);
        const auto entries = inbox(ws);
        REQUIRE(entries.size() == 1);
        CHECK(entries[0]["id"] == "d-1");
        CHECK(events_of(ws, "delivery_dispatched").empty());
        CHECK(ws.cli({"dispatch", "d-1", "agent"}).exit_status == 0);
        CHECK(logged(ws.directory() / "agent.log", 1) ==
              std::vector<std::string>{"[from user · d-1] keep me"});
    }

    TEST_CASE("a worker that ends for good hands its queue to the inbox; one that restarts keeps "
              "it") {
        WorkspaceServer ws("workers:\n" +
                           agent_worker("quitter", "quitter.log", "",
                                        std::string("    restart: never\n") + never_ready) +
                           agent_worker("phoenix", "phoenix.log", "",
                                        std::string("    restart: always\n") + never_ready));
        REQUIRE(ws.start());
        REQUIRE(eventually([&] { return events_of(ws, "worker_started").size() == 2; }, 10000ms));
        for (const auto* worker : {"quitter", "phoenix"}) {
            REQUIRE(ws.cli({"send", worker, std::string("one for ") + worker}).exit_status == 0);
            REQUIRE(ws.cli({"send", worker, std::string("two for ") + worker}).exit_status == 0);
        }
        REQUIRE(pending(ws).size() == 4);
        quit(ws, "quitter");
        quit(ws, "phoenix");
        REQUIRE(eventually([&] { return inbox(ws).size() == 2; }, 10000ms));
        // The restarting worker comes back with its queue.
        REQUIRE(eventually([&] { return events_of(ws, "worker_started").size() == 3; }, 20000ms));
        const auto entries = inbox(ws);
        CHECK(entries[0]["id"] == "d-1");
        CHECK(entries[0]["to"] == "quitter");
        CHECK(entries[0]["reason"] == "worker_gone");
        CHECK(entries[1]["id"] == "d-2");
        const auto queued = pending(ws);
        REQUIRE(queued.size() == 2);
        CHECK(queued[0]["id"] == "d-3");
        CHECK(queued[1]["id"] == "d-4");
        CHECK(has_event(ws, "delivery_inboxed", "d-1", "worker_gone"));
        CHECK(has_event(ws, "delivery_inboxed", "d-2", "worker_gone"));
        CHECK(events_of(ws, "delivery_inboxed").size() == 2);

        // A new message for the worker that has gone goes to the inbox too.
        const auto sent = ws.cli({"send", "quitter", "three", "--wait"});
        CHECK(sent.exit_status == 6);
        CHECK(sent.out.find("d-5: inboxed (worker_gone)") != std::string::npos);
        CHECK(sent.err.find("the message went to the inbox") != std::string::npos);
        CHECK(inbox(ws).size() == 3);
        CHECK(logged(ws.directory() / "quitter.log").empty());
    }

    TEST_CASE(
        "a reload that removes a worker while a message is typed into it inboxes it at once") {
        // The echo comes 8 s after the prompt is drawn, so the reload finds
        // the message typed and its echo not yet seen.
        const std::string kept = agent_worker("agent", "agent.log", "", fast);
        WorkspaceServer ws("workers:\n" + kept +
                           agent_worker("leaving", "leaving.log", "--echo-delay 8000",
                                        "    delivery: {idle: 50ms, verify_timeout: 20s, "
                                        "accept_timeout: 0ms}\n"));
        REQUIRE(ws.start());
        REQUIRE(ws.cli({"send", "leaving", "in flight"}).exit_status == 0);
        REQUIRE(eventually([&] { return !events_of(ws, "delivery_injected").empty(); }, 10s));
        ws.write_file("workers:\n" + kept);
        const auto reloaded = ws.cli({"reload"});
        REQUIRE_MESSAGE(reloaded.exit_status == 0, reloaded.err);
        const auto entries = inbox(ws);
        REQUIRE(entries.size() == 1);
        CHECK(entries[0]["id"] == "d-1");
        CHECK(entries[0]["reason"] == "worker_removed");
        CHECK(has_event(ws, "delivery_inboxed", "d-1", "worker_removed"));
        CHECK(ws.cli({"dispatch", "d-1", "agent"}).exit_status == 0);
        CHECK(logged(ws.directory() / "agent.log", 1) ==
              std::vector<std::string>{"[from user · d-1] in flight"});
    }

    TEST_CASE("a reload that removes a worker moves its queue to the inbox") {
        const std::string kept = agent_worker("agent", "agent.log", "", fast);
        WorkspaceServer ws("workers:\n" + kept +
                           agent_worker("leaving", "leaving.log", "", never_ready));
        REQUIRE(ws.start());
        REQUIRE(ws.cli({"send", "leaving", "first"}).exit_status == 0);
        REQUIRE(ws.cli({"send", "leaving", "second"}).exit_status == 0);
        ws.write_file("workers:\n" + kept);
        const auto reloaded = ws.cli({"reload"});
        REQUIRE_MESSAGE(reloaded.exit_status == 0, reloaded.err);
        const auto entries = inbox(ws);
        REQUIRE(entries.size() == 2);
        CHECK(entries[0]["to"] == "leaving");
        CHECK(entries[0]["reason"] == "worker_removed");
        CHECK(entries[1]["preview"] == "second");
        CHECK(events_of(ws, "delivery_dropped").empty());
        CHECK(has_event(ws, "delivery_inboxed", "d-2", "worker_removed"));
        CHECK(ws.cli({"dispatch", "d-1", "agent"}).exit_status == 0);
        CHECK(logged(ws.directory() / "agent.log", 1) ==
              std::vector<std::string>{"[from user · d-1] first"});
    }

    TEST_CASE("a full inbox refuses new messages and evicts nothing") {
        WorkspaceServer ws("inbox_capacity: 2\nworkers:\n" +
                           agent_worker("agent", "agent.log", "", fast));
        REQUIRE(ws.start());
        REQUIRE(ws.cli({"send", "--to-inbox", "one"}).exit_status == 0);
        REQUIRE(ws.cli({"send", "--to-inbox", "two"}).exit_status == 0);
        const auto refused = ws.cli({"send", "--to-inbox", "three"});
        CHECK(refused.exit_status == 1);
        CHECK(refused.out.empty());
        CHECK(refused.err.find("the inbox is full (2 of 2)") != std::string::npos);
        CHECK(refused.err.find("inbox_capacity") != std::string::npos);
        const auto entries = inbox(ws);
        REQUIRE(entries.size() == 2);
        CHECK(entries[0]["preview"] == "one");
        CHECK(entries[1]["preview"] == "two");
        // The refused message took no id.
        CHECK(ws.cli({"send", "agent", "after"}).out == "d-3\n");
        const auto json_inbox = json::parse(ws.cli({"inbox", "--json"}).out);
        CHECK(json_inbox["capacity"] == 2);
    }

    TEST_CASE("the inbox survives a restart and a kill -9 of the server") {
        WorkspaceServer ws("workers:\n" + agent_worker("agent", "agent.log", "", fast));
        REQUIRE(ws.start());
        REQUIRE(ws.cli({"send", "--to-inbox", "agent", "kept across restarts"}).exit_status == 0);
        REQUIRE(ws.cli({"down"}).exit_status == 0);
        REQUIRE(ws.server().wait(20000ms));
        REQUIRE(ws.start());
        auto entries = inbox(ws);
        REQUIRE(entries.size() == 1);
        CHECK(entries[0]["id"] == "d-1");
        CHECK(entries[0]["to"] == "agent");
        CHECK(entries[0]["reason"] == "requested");
        ws.crash();
        REQUIRE(ws.start());
        entries = inbox(ws);
        REQUIRE(entries.size() == 1);
        CHECK(entries[0]["preview"] == "kept across restarts");
        CHECK(logged(ws.directory() / "agent.log").empty());
        CHECK(ws.cli({"dispatch", "d-1", "agent"}).exit_status == 0);
        CHECK(logged(ws.directory() / "agent.log", 1) ==
              std::vector<std::string>{"[from user · d-1] kept across restarts"});
    }
}

TEST_SUITE("reply") {
    TEST_CASE("a script asks an agent with --wait-reply and gets the agent's reply") {
        WorkspaceServer ws("workers:\n" + agent_worker("agent", "agent.log", "", fast));
        REQUIRE(ws.start());
        std::vector<std::string> argv = {sb::test::switchboard_binary(),
                                         "-f",
                                         ws.file().string(),
                                         "send",
                                         "--wait-reply",
                                         "--timeout",
                                         "2m",
                                         "agent",
                                         "what is 6 x 7?"};
        BackgroundProcess asking(argv, ws.options());
        // The agent got the question; the test plays the agent answering it
        // from inside its worker.
        REQUIRE(logged(ws.directory() / "agent.log", 1) ==
                std::vector<std::string>{"[from user · d-1] what is 6 x 7?"});
        const auto replied = as_worker(ws, "agent", {"send", "--reply-to", "d-1", "42"});
        REQUIRE_MESSAGE(replied.exit_status == 0, replied.err);
        CHECK(replied.out == "d-2\n");
        REQUIRE(asking.wait(30000ms));
        CHECK(asking.exit_status() == 0);
        CHECK(asking.out() == "42\n");

        // The question's states count on from those it had (submitted by
        // the agent, perhaps); the reply is the last.
        const auto states = events_of(ws, "delivery_state");
        REQUIRE_FALSE(states.empty());
        for (std::size_t i = 0; i < states.size(); ++i) {
            CHECK(states[i]["id"] == "d-1");
            CHECK(states[i]["sequence"] == i + 1);
        }
        CHECK(states.back()["state"] == "replied");
        CHECK(states.back()["reply_id"] == "d-2");
        const auto replied_sequence = states.back()["sequence"].get<int>();
        // The reply is in the history, handed to the client that waited.
        json reply;
        REQUIRE(eventually(
            [&] {
                for (const auto& d : history(ws)) {
                    if (d["id"] == "d-2") {
                        reply = d;
                        return true;
                    }
                }
                return false;
            },
            10000ms));
        CHECK(reply["from"] == "agent");
        CHECK(reply["to"] == "user");
        CHECK(reply["outcome"] == "handed");
        CHECK(reply["reply_to"] == "d-1");
        CHECK(reply["reply"] == 1);
        CHECK(reply["repeat"] == false);
        // Only the question was typed into the agent.
        CHECK(logged(ws.directory() / "agent.log").size() == 1);

        // A second reply is delivered and marked; a client that asks for the
        // reply later gets the first one from the history.
        const auto second = as_worker(ws, "agent", {"send", "--reply-to", "d-1", "--json", "43"});
        REQUIRE_MESSAGE(second.exit_status == 0, second.err);
        const auto result = json::parse(second.out);
        CHECK(result["deliveries"][0]["reply"] == 2);
        CHECK(result["deliveries"][0]["repeat"] == true);
        CHECK(events_of(ws, "delivery_state").back()["sequence"] == replied_sequence + 1);
        CHECK(events_of(ws, "delivery_state").back()["repeat"] == true);
        bool marked = false;
        for (const auto& d : history(ws)) {
            if (d["id"] == "d-3") {
                marked = d["repeat"] == true && d["reply"] == 2 && d["outcome"] == "kept";
            }
        }
        CHECK(marked);
        const auto table = ws.cli({"history"}).out;
        CHECK(table.find("reply 2 to d-1") != std::string::npos);
    }

    TEST_CASE("a reply to a worker is typed into that worker") {
        WorkspaceServer ws("workers:\n" + agent_worker("alice", "alice.log", "", fast) +
                           agent_worker("bob", "bob.log", "", fast));
        REQUIRE(ws.start());
        const auto asked = as_worker(ws, "alice", {"send", "bob", "can you review?"});
        REQUIRE_MESSAGE(asked.exit_status == 0, asked.err);
        CHECK(logged(ws.directory() / "bob.log", 1) ==
              std::vector<std::string>{"[from alice · d-1] can you review?"});
        // An empty reply (nothing on standard input) is refused.
        const auto empty = as_worker(ws, "bob", {"send", "--reply-to", "d-1", "-"});
        CHECK(empty.exit_status == 1);
        CHECK(empty.err.find("the reply is empty") != std::string::npos);
        const auto answered = [&] {
            std::vector<std::string> argv = {sb::test::switchboard_binary(),
                                             "-f",
                                             ws.file().string(),
                                             "send",
                                             "--reply-to",
                                             "d-1",
                                             "-"};
            auto options = ws.options();
            options.env["SWITCHBOARD_WORKER"] = "bob";
            options.input = "looks good\n";
            return sb::test::run(argv, options);
        }();
        REQUIRE_MESSAGE(answered.exit_status == 0, answered.err);
        CHECK(answered.out == "d-2\n");
        CHECK(logged(ws.directory() / "alice.log", 1) ==
              std::vector<std::string>{"[from bob · d-2 · reply to d-1] looks good"});
        std::vector<json> replied;
        for (const auto& e : events_of(ws, "delivery_state")) {
            if (e["state"] == "replied") {
                replied.push_back(e);
            }
        }
        REQUIRE(replied.size() == 1);
        CHECK(replied[0]["id"] == "d-1");
        CHECK(replied[0]["worker"] == "bob");
    }

    TEST_CASE("a reply to an unknown delivery is refused") {
        WorkspaceServer ws("workers:\n" + agent_worker("agent", "agent.log", "", fast));
        REQUIRE(ws.start());
        auto refused = as_worker(ws, "agent", {"send", "--reply-to", "d-99", "hello?"});
        CHECK(refused.exit_status == 1);
        CHECK(refused.err.find("no delivery \"d-99\" to reply to") != std::string::npos);
        refused = as_worker(ws, "agent", {"send", "--reply-to", "nonsense", "hello?"});
        CHECK(refused.exit_status == 1);
        refused = as_worker(ws, "agent", {"send", "--reply-to", "d-1", "agent", "hello?"});
        CHECK(refused.exit_status == 2);
        CHECK(refused.err.find("no TARGET") != std::string::npos);
        // Nothing took an id.
        CHECK(ws.cli({"send", "agent", "first"}).out == "d-1\n");
        const auto waited = ws.cli({"send", "--wait-reply", "--timeout", "200ms", "agent", "q"});
        CHECK(waited.exit_status == 5);
        CHECK(waited.err.find("no reply to d-2 within 200ms") != std::string::npos);
    }
}

TEST_SUITE("ttl") {
    TEST_CASE("a message not typed within its time to live is dropped as expired") {
        WorkspaceServer ws("workers:\n" + agent_worker("agent", "agent.log", "", fast));
        REQUIRE(ws.start());
        REQUIRE(ws.cli({"hold", "agent"}).exit_status == 0);
        REQUIRE(ws.cli({"send", "--ttl", "300ms", "agent", "stale soon"}).exit_status == 0);
        REQUIRE(ws.cli({"send", "agent", "no hurry"}).exit_status == 0);
        REQUIRE(ws.cli({"send", "--to-inbox", "--ttl", "300ms", "inbox, stale soon"}).exit_status ==
                0);
        REQUIRE(eventually([&] { return events_of(ws, "delivery_dropped").size() == 2; }, 10000ms));
        CHECK(has_event(ws, "delivery_dropped", "d-1", "expired"));
        CHECK(has_event(ws, "delivery_dropped", "d-3", "expired"));
        CHECK(inbox(ws).empty());
        REQUIRE(ws.cli({"release", "agent"}).exit_status == 0);
        CHECK(logged(ws.directory() / "agent.log", 1) ==
              std::vector<std::string>{"[from user · d-2] no hurry"});
        bool recorded = false;
        for (const auto& d : history(ws)) {
            if (d["id"] == "d-1") {
                recorded = d["outcome"] == "dropped" && d["reason"] == "expired";
            }
        }
        CHECK(recorded);
        CHECK(ws.cli({"send", "--ttl", "soon", "agent", "x"}).exit_status == 2);
    }

    TEST_CASE("an expiry outlives the server: it is kept in the store") {
        WorkspaceServer ws("workers:\n" + agent_worker("agent", "agent.log", "", never_ready));
        REQUIRE(ws.start());
        REQUIRE(ws.cli({"send", "--ttl", "2s", "agent", "stale after the restart"}).exit_status ==
                0);
        ws.crash();
        REQUIRE(ws.start());
        REQUIRE(eventually([&] { return has_event(ws, "delivery_dropped", "d-1", "expired"); },
                           20000ms));
        CHECK(pending(ws).empty());
        CHECK(logged(ws.directory() / "agent.log").empty());
    }
}
