// The delivery store end to end: deliveries survive `down`, a kill -9 and a
// full disk, and are never typed twice into one worker process.
#include <map>
#include <random>
#include <set>
#include <signal.h>
#include <sstream>
#include <thread>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include "agents.hpp"
#include "process.hpp"
#include "workspace_server.hpp"

using namespace std::chrono_literals;
using nlohmann::json;
using sb::test::agent_worker;
using sb::test::events_of;
using sb::test::eventually;
using sb::test::logged;
using sb::test::submissions;
using sb::test::WorkspaceServer;

namespace {

// A submitted message counts as accepted (accept_timeout 0): these tests are
// about the store, and the fake agent shows nothing after a submit.
const char* const fast =
    "    delivery: {idle: 0ms, enter_delay: 0ms, throttle: {min: 1ms}, accept_timeout: 0ms}\n";

json history(const WorkspaceServer& ws) {
    return sb::test::listed(ws, "history");
}

json pending(const WorkspaceServer& ws) {
    return sb::test::listed(ws, "pending");
}

// The ids a `send` printed, one per line.
std::vector<std::string> ids(const std::string& out) {
    std::vector<std::string> found;
    std::istringstream lines(out);
    std::string line;
    while (std::getline(lines, line)) {
        if (line.starts_with("d-")) {
            found.push_back(line);
        }
    }
    return found;
}

} // namespace

TEST_SUITE("store") {
    TEST_CASE("down keeps queued deliveries; the next server delivers them, ids go on") {
        WorkspaceServer ws("workers:\n" + agent_worker("agent", "agent.log", "", fast));
        REQUIRE(ws.start());
        REQUIRE(ws.cli({"hold", "agent"}).exit_status == 0);
        for (const auto* text : {"first", "second", "third"}) {
            REQUIRE(
                ws.cli({"send", "--key", std::string("k-") + text, "agent", text}).exit_status ==
                0);
        }
        REQUIRE(pending(ws).size() == 3);
        REQUIRE(ws.cli({"down"}).exit_status == 0);
        REQUIRE(ws.server().wait(20000ms));
        CHECK(logged(ws.directory() / "agent.log").empty());

        REQUIRE(ws.start());
        const auto log = logged(ws.directory() / "agent.log", 3);
        CHECK(log == std::vector<std::string>{"[from user · d-1] first", "[from user · d-2] second",
                                              "[from user · d-3] third"});
        const auto queued = events_of(ws, "delivery_queued");
        REQUIRE(queued.size() == 3);
        CHECK(queued[0]["restored"] == true);
        CHECK_FALSE(queued[0].contains("redelivery"));
        // A key sent before the restart finds its delivery; a new send gets
        // the next id.
        const auto again = ws.cli({"send", "--key", "k-second", "agent", "second"});
        CHECK(again.out == "d-2\n");
        CHECK(ws.cli({"send", "agent", "fourth", "--wait"}).out.starts_with("d-4\n"));
        // Verified is not the end: a delivery still in the agent's composer
        // when the server stops goes back to the queue, to be typed into the
        // next process. Wait until d-4 has left it.
        REQUIRE(eventually(
            [&] {
                const auto entries = history(ws);
                return entries.size() == 4 && entries[3].value("state", "") != "typed";
            },
            10000ms));
        const auto finished = history(ws);
        CHECK(finished[0]["id"] == "d-1");
        CHECK(finished[0]["outcome"] == "verified");
        CHECK(finished[0]["verification"] == "echo");
        CHECK(finished[0]["key"] == "k-first");
        CHECK(finished[0]["latency_ms"].is_number());
        CHECK(ws.cli({"history", "nobody"}).out.find("d-1") == std::string::npos);
        const auto table = ws.cli({"history", "agent", "--since", "1h"});
        CHECK(table.exit_status == 0);
        CHECK(table.out.find("d-4        user           agent          verified") !=
              std::string::npos);
        CHECK(ws.cli({"history", "--since", "soon"}).exit_status == 2);

        // Without a server, history reads the store.
        REQUIRE(ws.cli({"down"}).exit_status == 0);
        REQUIRE(ws.server().wait(20000ms));
        // Events also went to the server's log (stderr in the foreground).
        CHECK(ws.server().err().find(R"("id":"d-4","latency_ms":)") != std::string::npos);
        CHECK(ws.server().err().find(R"("type":"server_stopping")") != std::string::npos);
        CHECK(history(ws).size() == 4);
        CHECK(ws.cli({"history", "agent", "--since", "1h"}).out == table.out);
    }

    TEST_CASE("a delivery being verified when the server is killed is typed again, once, into "
              "the new worker process") {
        // The first agent never echoes, so its delivery waits for its echo
        // when the server dies (typed in one go: nothing to wait for between
        // header, body and Enter).
        WorkspaceServer ws(
            "workers:\n" +
            agent_worker("agent", "agent.log", "--no-echo",
                         "    delivery: {idle: 0ms, verify_timeout: 10m, wait_for_echo: false}\n"));
        REQUIRE(ws.start());
        REQUIRE(ws.cli({"send", "--key", "once", "agent", "hello"}).exit_status == 0);
        REQUIRE(
            eventually([&] { return logged(ws.directory() / "agent.log").size() == 1; }, 10000ms));
        REQUIRE(pending(ws)[0]["stage"] == "verifying");
        ws.crash();

        ws.write_file("workers:\n" +
                      agent_worker("agent", "agent.log", "", "    delivery: {idle: 0ms}\n"));
        REQUIRE(ws.start());
        REQUIRE(eventually([&] { return submissions(ws.directory() / "agent.log").size() == 2; },
                           10000ms));
        const auto both = submissions(ws.directory() / "agent.log");
        CHECK(both[0].text == "[from user · d-1] hello");
        CHECK(both[1].text == "[from user · d-1] hello");
        CHECK(both[0].pid != both[1].pid);
        const auto queued = events_of(ws, "delivery_queued");
        REQUIRE(queued.size() == 1);
        CHECK(queued[0]["redelivery"] == true);
        CHECK(queued[0]["reason"].get<std::string>().find("ended with the server") !=
              std::string::npos);
        const auto injected = events_of(ws, "delivery_injected");
        REQUIRE(injected.size() == 1);
        CHECK(injected[0]["redelivery"] == true);
        CHECK(injected[0]["attempt"] == 2);
        REQUIRE(eventually([&] { return history(ws).size() == 1; }, 10000ms));
        CHECK(history(ws)[0]["outcome"] == "verified");
        // The client that retries after the crash gets the same delivery.
        CHECK(ws.cli({"send", "--key", "once", "agent", "hello"}).out == "d-1\n");
    }

    TEST_CASE("a send is answered after its commit; an outcome's event comes after the save "
              "that holds it, and a failed save is told first") {
        // The echo comes five seconds after the message is typed, in one go
        // (nothing to wait for between header, body and Enter).
        WorkspaceServer ws(
            "workers:\n" +
            agent_worker("agent", "agent.log", "--echo-delay 5000",
                         "    delivery: {idle: 0ms, enter_delay: 0ms, "
                         "wait_for_echo: false, accept_timeout: 0ms, verify_timeout: 60s}\n"));
        REQUIRE(ws.start());
        const auto db = ws.state() / "switchboard" / "ws" / "deliveries.db";
        REQUIRE(ws.cli({"send", "agent", "hello"}).out == "d-1\n");
        // Answered: another connection (a crash now) finds it.
        sqlite3* reader = nullptr;
        REQUIRE(sqlite3_open(db.c_str(), &reader) == SQLITE_OK);
        // The server's own transactions are short; this one waits them out.
        sqlite3_busy_timeout(reader, 10000);
        const auto column = [&](const char* sql) {
            sqlite3_stmt* statement = nullptr;
            REQUIRE(sqlite3_prepare_v2(reader, sql, -1, &statement, nullptr) == SQLITE_OK);
            std::string value = "(none)";
            if (sqlite3_step(statement) == SQLITE_ROW) {
                const auto* text = sqlite3_column_text(statement, 0);
                value = text != nullptr ? reinterpret_cast<const char*>(text) : "(null)";
            }
            sqlite3_finalize(statement);
            return value;
        };
        CHECK(column("SELECT recipient FROM deliveries WHERE seq = 1") == "agent");
        // Typed only once the store has it as being typed.
        REQUIRE(eventually(
            [&] { return column("SELECT stage FROM deliveries WHERE seq = 1") == "injecting"; },
            10000ms));

        // The store refuses writes while the echo is awaited: the outcome
        // cannot be saved, and its event is published only after the failed
        // save was told (store_error), never before.
        char* message = nullptr;
        REQUIRE(sqlite3_exec(reader, "BEGIN IMMEDIATE", nullptr, nullptr, &message) == SQLITE_OK);
        REQUIRE(eventually([&] { return !events_of(ws, "delivery_verified").empty(); }, 10000ms));
        const auto error = events_of(ws, "store_error");
        const auto verified = events_of(ws, "delivery_verified");
        REQUIRE_FALSE(error.empty());
        CHECK(error[0]["seq"].get<long>() < verified[0]["seq"].get<long>());
        CHECK(column("SELECT count(*) FROM deliveries WHERE outcome IS NOT NULL") == "0");
        REQUIRE(sqlite3_exec(reader, "ROLLBACK", nullptr, nullptr, &message) == SQLITE_OK);

        // Let go, the store catches up with what it kept.
        REQUIRE(eventually([&] { return !events_of(ws, "store_recovered").empty(); }, 10000ms));
        CHECK(column("SELECT outcome FROM deliveries WHERE seq = 1") == "verified");
        CHECK(column("SELECT state FROM deliveries WHERE seq = 1") == "accepted");
        sqlite3_close(reader);
    }

    TEST_CASE("a store from a newer switchboard is refused, untouched") {
        WorkspaceServer ws("workers:\n  shell: {command: [sh]}\n");
        REQUIRE(ws.start());
        REQUIRE(ws.cli({"down"}).exit_status == 0);
        REQUIRE(ws.server().wait(20000ms));
        const auto db = ws.state() / "switchboard" / "ws" / "deliveries.db";
        REQUIRE(std::filesystem::exists(db));
        sqlite3* handle = nullptr;
        REQUIRE(sqlite3_open(db.c_str(), &handle) == SQLITE_OK);
        REQUIRE(sqlite3_exec(handle, "PRAGMA journal_mode = DELETE; PRAGMA user_version = 7",
                             nullptr, nullptr, nullptr) == SQLITE_OK);
        sqlite3_close(handle);
        const auto size = std::filesystem::file_size(db);
        auto up = ws.cli({"up"});
        CHECK(up.exit_status == 1);
        CHECK(up.err.find("newer switchboard (store schema 7") != std::string::npos);
        CHECK(std::filesystem::file_size(db) == size);
    }

    TEST_CASE("crash test: 1000 messages to 10 workers, the server killed 3 times while they "
              "flow: none lost, each finished once, none typed twice into one process") {
        std::string yaml = "defaults:\n" + std::string(fast).substr(2) + "workers:\n";
        for (int w = 0; w < 10; ++w) {
            yaml += agent_worker("w" + std::to_string(w), "w" + std::to_string(w) + ".log",
                                 "--bracketed-paste");
        }
        WorkspaceServer ws(yaml);
        REQUIRE(ws.start());

        // 1000 (200 under the sanitize setup).
        const int total = sb::test::load(1000);
        std::random_device device;
        const auto seed = device();
        std::mt19937 random(seed);
        MESSAGE("seed " << seed);
        std::vector<int> kill_points;
        for (const int tenths : {1, 4, 7}) {
            kill_points.push_back(total * tenths / 10 +
                                  static_cast<int>(random() % static_cast<unsigned>(total / 5)));
        }

        // The sender retries each message with its key until it is accepted,
        // as a careful client does when the server is away.
        std::atomic<int> accepted{0};
        std::atomic<int> retries{0};
        std::vector<std::string> accepted_ids(total);
        std::thread sender([&] {
            for (int i = 0; i < total; ++i) {
                const std::string worker = "w" + std::to_string(i % 10);
                while (true) {
                    const auto result = ws.cli({"send", "--key", "m-" + std::to_string(i), worker,
                                                "message " + std::to_string(i)});
                    const auto printed = ids(result.out);
                    if (result.exit_status == 0 && printed.size() == 1) {
                        accepted_ids[static_cast<std::size_t>(i)] = printed[0];
                        break;
                    }
                    ++retries;
                    std::this_thread::sleep_for(20ms);
                }
                ++accepted;
            }
        });
        int crashes = 0;
        for (const int point : kill_points) {
            eventually([&] { return accepted.load() >= point; }, 120000ms);
            ws.crash();
            ++crashes;
            std::this_thread::sleep_for(std::chrono::milliseconds(random() % 100));
            REQUIRE(ws.start());
        }
        sender.join();

        // Everything accepted finishes, in the server that runs now, and is
        // followed until the agent took it.
        const bool finished = eventually(
            [&] {
                return history(ws).size() >= static_cast<std::size_t>(total) && pending(ws).empty();
            },
            180000ms);
        const auto done = history(ws);
        CHECK(finished);
        std::map<std::string, int> outcomes;
        std::map<std::string, int> seen;
        for (const auto& d : done) {
            ++seen[d["id"].get<std::string>()];
            ++outcomes[d["outcome"].get<std::string>()];
        }
        const std::set<std::string> unique(accepted_ids.begin(), accepted_ids.end());
        CHECK(unique.size() == static_cast<std::size_t>(total));
        int missing = 0;
        for (const auto& id : unique) {
            missing += seen.count(id) == 1 ? 0 : 1;
        }
        CHECK(missing == 0);
        CHECK(done.size() == static_cast<std::size_t>(total));
        std::map<std::string, int> states;
        for (const auto& d : done) {
            ++states[d.value("state", "none")];
        }
        // None was left in a composer: each verified one was submitted (and
        // so accepted, with accept_timeout 0).
        CHECK(states["accepted"] == outcomes["verified"]);
        CHECK(states["stalled"] == 0);

        // In each worker process, no message was submitted twice.
        int duplicates_within_process = 0;
        int typed_again_after_crash = 0;
        int submitted = 0;
        for (int w = 0; w < 10; ++w) {
            std::set<std::pair<long, std::string>> per_process;
            std::set<std::string> texts;
            for (const auto& s : submissions(ws.directory() / ("w" + std::to_string(w) + ".log"))) {
                ++submitted;
                if (!per_process.emplace(s.pid, s.text).second) {
                    ++duplicates_within_process;
                }
                if (!texts.insert(s.text).second) {
                    ++typed_again_after_crash;
                }
            }
        }
        CHECK(duplicates_within_process == 0);
        MESSAGE("crash test: " << total << " accepted after " << retries.load()
                               << " refused tries across " << crashes << " kills at "
                               << kill_points[0] << ", " << kill_points[1] << ", " << kill_points[2]
                               << "; outcomes: " << outcomes["verified"] << " verified, "
                               << outcomes["unverified"] << " unverified, " << outcomes["dropped"]
                               << " dropped; " << submitted << " submissions logged, "
                               << typed_again_after_crash
                               << " of them redeliveries into a new process, "
                               << duplicates_within_process << " duplicates within a process");
    }
}
