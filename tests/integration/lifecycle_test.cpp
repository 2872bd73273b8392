// A delivery's life past its echo: submitted, accepted, stalled, nudged;
// a person's draft left alone; a shutdown in the middle of an injection.
#include <string>
#include <thread>
#include <vector>

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
using sb::test::logged;
using sb::test::WorkspaceServer;

namespace {

// The delivery_state events of one delivery, in the order they were sent.
std::vector<json> states_of(const WorkspaceServer& ws, const std::string& id) {
    std::vector<json> out;
    for (auto& e : events_of(ws, "delivery_state")) {
        if (e["id"] == id) {
            out.push_back(e);
        }
    }
    return out;
}

std::vector<std::string> state_names(const std::vector<json>& states) {
    std::vector<std::string> names;
    for (const auto& s : states) {
        names.push_back(s["state"].get<std::string>() +
                        (s.contains("reason") ? ":" + s["reason"].get<std::string>() : ""));
    }
    return names;
}

json pending(const WorkspaceServer& ws) {
    return sb::test::listed(ws, "pending");
}

bool has_state(const WorkspaceServer& ws, const std::string& id, const std::string& name) {
    for (const auto& s : state_names(states_of(ws, id))) {
        if (s == name) {
            return true;
        }
    }
    return false;
}

bool prompt_shown(const WorkspaceServer& ws, const std::string& worker) {
    return ws.cli({"capture", worker}).out.find("❯") != std::string::npos;
}

} // namespace

TEST_SUITE("lifecycle") {
    TEST_CASE("a message the agent takes is submitted, then accepted, in sequence") {
        WorkspaceServer ws("workers:\n" +
                           agent_worker("agent", "agent.log", "--busy 400",
                                        "    delivery: {idle: 50ms, accept_timeout: 10s}\n"));
        REQUIRE(ws.start());
        REQUIRE(ws.cli({"send", "agent", "take this", "--wait"}).exit_status == 0);
        REQUIRE(eventually([&] { return has_state(ws, "d-1", "accepted"); }, 10000ms));
        const auto states = states_of(ws, "d-1");
        CHECK(state_names(states) == std::vector<std::string>{"submitted", "accepted"});
        CHECK(states[0]["sequence"] == 1);
        CHECK(states[1]["sequence"] == 2);
        CHECK(states[0]["from"] == "user");
        CHECK_FALSE(states[0].contains("presses"));
        const auto history = json::parse(ws.cli({"history", "--json"}).out)["deliveries"];
        REQUIRE(history.size() == 1);
        CHECK(history[0]["state"] == "accepted");
        CHECK(pending(ws).empty());
    }

    TEST_CASE("an agent that swallows the first Enter gets the message by the second") {
        WorkspaceServer ws("workers:\n" +
                           agent_worker("agent", "agent.log", "--swallow-enters 1 --busy 400",
                                        "    delivery: {idle: 50ms, submit_timeout: 300ms}\n"));
        REQUIRE(ws.start());
        REQUIRE(ws.cli({"send", "agent", "press twice"}).exit_status == 0);
        REQUIRE(eventually([&] { return has_state(ws, "d-1", "accepted"); }, 10000ms));
        const auto states = states_of(ws, "d-1");
        CHECK(state_names(states) == std::vector<std::string>{"submitted", "accepted"});
        CHECK(states[0]["presses"] == 1);
        CHECK(logged(ws.directory() / "agent.log") ==
              std::vector<std::string>{"[from user · d-1] press twice"});
    }

    TEST_CASE("a message that never leaves the composer stalls, shows, and nudge submits it") {
        // Three Enters swallowed: ours, then the two presses switchboard
        // makes on its own; the fourth (the nudge) submits.
        WorkspaceServer ws("workers:\n" +
                           agent_worker("agent", "agent.log", "--swallow-enters 3 --busy 400",
                                        "    delivery: {idle: 50ms, submit_timeout: 200ms}\n"));
        REQUIRE(ws.start());
        REQUIRE(ws.cli({"send", "agent", "stuck"}).exit_status == 0);
        REQUIRE(eventually([&] { return has_state(ws, "d-1", "stalled:not_submitted"); }, 10000ms));
        CHECK(states_of(ws, "d-1")[0]["presses"] == 2);

        // Visible in pending and ls until someone acts; the next message
        // waits rather than join it in the composer.
        REQUIRE(ws.cli({"send", "agent", "behind it"}).exit_status == 0);
        auto waiting = pending(ws);
        REQUIRE(waiting.size() == 2);
        CHECK(waiting[0]["id"] == "d-1");
        CHECK(waiting[0]["stage"] == "stalled");
        CHECK(waiting[0]["reason"] == "not_submitted");
        CHECK(waiting[1]["waiting_for"] == "stalled");
        CHECK(ws.cli({"pending"}).out.find("not_submitted") != std::string::npos);
        const auto ls = json::parse(ws.cli({"ls", "--json"}).out);
        CHECK(ls["workers"][0]["stalled"] == 1);
        CHECK(logged(ws.directory() / "agent.log").empty());

        const auto nudged = ws.cli({"nudge", "d-1"});
        CHECK(nudged.exit_status == 0);
        CHECK(nudged.out == "d-1: submit pressed\n");
        REQUIRE(eventually([&] { return has_state(ws, "d-2", "accepted"); }, 15000ms));
        CHECK(logged(ws.directory() / "agent.log") ==
              std::vector<std::string>{"[from user · d-1] stuck", "[from user · d-2] behind it"});
        CHECK(state_names(states_of(ws, "d-1")) ==
              std::vector<std::string>{"stalled:not_submitted", "submitted", "accepted"});
        CHECK(events_of(ws, "delivery_nudged").size() == 1);

        const auto again = ws.cli({"nudge", "d-1"});
        CHECK(again.exit_status == 1);
        CHECK(again.err.find("no delivery \"d-1\" waits to be submitted or accepted") !=
              std::string::npos);
    }

    TEST_CASE("an agent that never shows it took a message: stalled not_accepted, cancel gives "
              "up") {
        WorkspaceServer ws("workers:\n" +
                           agent_worker("agent", "agent.log", "",
                                        "    delivery: {idle: 50ms, accept_timeout: 300ms}\n"));
        REQUIRE(ws.start());
        REQUIRE(ws.cli({"send", "agent", "anyone home"}).exit_status == 0);
        REQUIRE(eventually([&] { return has_state(ws, "d-1", "stalled:not_accepted"); }, 10000ms));
        CHECK(state_names(states_of(ws, "d-1")) ==
              std::vector<std::string>{"submitted", "stalled:not_accepted"});
        // Submitted, so the next one is typed meanwhile.
        REQUIRE(ws.cli({"send", "agent", "next", "--wait"}).exit_status == 0);
        CHECK(pending(ws)[0]["reason"] == "not_accepted");

        REQUIRE(ws.cli({"cancel", "d-1"}).exit_status == 0);
        const auto states = states_of(ws, "d-1");
        CHECK(states.back()["state"] == "cancelled");
        CHECK(states.back()["sequence"] == 3);
        const auto history = json::parse(ws.cli({"history", "--json"}).out)["deliveries"];
        REQUIRE_FALSE(history.empty());
        CHECK(history[0]["state"] == "cancelled");
        CHECK(history[0]["outcome"] == "verified");
    }

    TEST_CASE("a person's draft in the composer is never submitted by switchboard") {
        WorkspaceServer ws("workers:\n" +
                           agent_worker("agent", "agent.log", "",
                                        "    delivery: {idle: 50ms, hold: 100ms, "
                                        "submit_timeout: 200ms, accept_timeout: 0ms}\n"));
        REQUIRE(ws.start());
        REQUIRE(eventually([&] { return prompt_shown(ws, "agent"); }, 5000ms));
        REQUIRE(ws.cli({"keys", "agent", "-l", "my own draft"}).exit_status == 0);
        REQUIRE(ws.cli({"send", "agent", "from the team"}).exit_status == 0);
        // Past the hold, the draft still keeps the message out.
        REQUIRE(eventually(
            [&] {
                auto p = pending(ws);
                return p.size() == 1 && p[0]["waiting_for"] == "draft";
            },
            5000ms));
        std::this_thread::sleep_for(500ms);
        CHECK(pending(ws)[0]["waiting_for"] == "draft");
        CHECK(ws.cli({"capture", "agent"}).out.find("❯ my own draft\n") != std::string::npos);
        CHECK(logged(ws.directory() / "agent.log").empty());

        // The person clears it; the message goes in alone.
        REQUIRE(ws.cli({"keys", "agent", "C-u"}).exit_status == 0);
        REQUIRE(eventually([&] { return has_state(ws, "d-1", "accepted"); }, 10000ms));
        CHECK(logged(ws.directory() / "agent.log") ==
              std::vector<std::string>{"[from user · d-1] from the team"});
    }

    TEST_CASE("typing over a message in the composer stops the presses: stalled person_typing") {
        WorkspaceServer ws("workers:\n" + agent_worker("agent", "agent.log", "--swallow-enters 1",
                                                       "    delivery: {idle: 50ms, hold: 100ms, "
                                                       "submit_timeout: 4s}\n"));
        REQUIRE(ws.start());
        REQUIRE(ws.cli({"send", "agent", "mine", "--wait"}).exit_status == 0);
        // The Enter was swallowed; a person adds to the line before
        // switchboard would press again (4 s after the echo). A press now
        // would submit their words too: the agent takes the next Enter.
        REQUIRE(ws.cli({"keys", "agent", "-l", " and theirs"}).exit_status == 0);
        REQUIRE(eventually([&] { return has_state(ws, "d-1", "stalled:person_typing"); }, 10000ms));
        std::this_thread::sleep_for(300ms);
        CHECK(logged(ws.directory() / "agent.log").empty());
        CHECK_FALSE(states_of(ws, "d-1")[0].contains("presses"));
    }

    TEST_CASE("a shutdown in the middle of an injection puts it back in the queue; the next "
              "start types it once") {
        // The echo takes 8 s, and the claude profile presses Enter only once
        // the echo shows: the server stops while the message is typed and
        // its Enter not yet pressed.
        const std::string slow =
            "workers:\n" + agent_worker("agent", "agent.log", "--echo-delay 8000",
                                        "    delivery: {idle: 50ms, verify_timeout: 20s, "
                                        "accept_timeout: 0ms}\n");
        WorkspaceServer ws(slow);
        REQUIRE(ws.start());
        REQUIRE(eventually([&] { return prompt_shown(ws, "agent"); }, 5000ms));
        REQUIRE(ws.cli({"send", "agent", "in flight"}).exit_status == 0);
        REQUIRE(eventually([&] { return !events_of(ws, "delivery_injected").empty(); }, 5000ms));
        REQUIRE(ws.cli({"down"}).exit_status == 0);
        REQUIRE(ws.server().wait(15000ms));
        // Nothing finished, and the store has it queued.
        const auto history = json::parse(ws.cli({"history", "--json"}).out)["deliveries"];
        CHECK(history.empty());
        CHECK(logged(ws.directory() / "agent.log").empty());

        ws.write_file("workers:\n" +
                      agent_worker("agent", "agent.log", "",
                                   "    delivery: {idle: 50ms, accept_timeout: 0ms}\n"));
        REQUIRE(ws.start());
        REQUIRE(eventually([&] { return has_state(ws, "d-1", "accepted"); }, 15000ms));
        const auto queued = events_of(ws, "delivery_queued");
        REQUIRE(queued.size() == 1);
        CHECK(queued[0]["restored"] == true);
        const auto submissions = sb::test::submissions(ws.directory() / "agent.log");
        REQUIRE(submissions.size() == 1);
        CHECK(submissions[0].text == "[from user · d-1] in flight");
    }
}
