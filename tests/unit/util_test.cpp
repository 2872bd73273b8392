#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "loop.hpp"
#include "util/duration.hpp"
#include "util/strings.hpp"
#include "util/uv.hpp"

using sb::util::Milliseconds;

TEST_SUITE("util") {
    TEST_CASE("edit distance counts insertions, deletions and substitutions") {
        CHECK(sb::util::edit_distance("", "") == 0);
        CHECK(sb::util::edit_distance("comand", "command") == 1);
        CHECK(sb::util::edit_distance("kitten", "sitting") == 3);
        CHECK(sb::util::edit_distance("abc", "") == 3);
    }

    TEST_CASE("closest match suggests plausible typos only") {
        constexpr std::string_view keys[] = {"command", "cwd", "env", "groups", "profile"};
        CHECK(sb::util::closest_match("comand", keys) == "command");
        CHECK(sb::util::closest_match("grups", keys) == "groups");
        CHECK(sb::util::closest_match("colour", keys) == std::nullopt);
        CHECK(sb::util::closest_match("x", keys) == std::nullopt);
    }

    TEST_CASE("UTF-8 validation finds the first malformed byte") {
        CHECK(sb::util::first_invalid_utf8("plain ascii") == std::nullopt);
        CHECK(sb::util::first_invalid_utf8("caf\xc3\xa9 \xe2\x94\x80 \xf0\x9f\x98\x80") ==
              std::nullopt);
        CHECK(sb::util::first_invalid_utf8("ab\xff") == 2);
        CHECK(sb::util::first_invalid_utf8("\xc3") == 0);             // truncated
        CHECK(sb::util::first_invalid_utf8("\xc0\xaf") == 0);         // overlong '/'
        CHECK(sb::util::first_invalid_utf8("x\xed\xa0\x80") == 1);    // surrogate
        CHECK(sb::util::first_invalid_utf8("\xf4\x90\x80\x80") == 0); // past U+10FFFF
        CHECK(sb::util::first_invalid_utf8("\xe2\x28\xa1") == 0);     // bad continuation
    }

    TEST_CASE("durations need a unit") {
        CHECK(sb::util::parse_duration("500ms") == Milliseconds(500));
        CHECK(sb::util::parse_duration("5s") == Milliseconds(5000));
        CHECK(sb::util::parse_duration("1.5s") == Milliseconds(1500));
        CHECK(sb::util::parse_duration("2m") == Milliseconds(120000));
        CHECK(sb::util::parse_duration("1h") == Milliseconds(3600000));
        CHECK(sb::util::parse_duration("0ms") == Milliseconds(0));
        CHECK(sb::util::parse_duration("5") == std::nullopt);
        CHECK(sb::util::parse_duration("s") == std::nullopt);
        CHECK(sb::util::parse_duration("-1s") == std::nullopt);
        CHECK(sb::util::parse_duration("5 s") == std::nullopt);
        CHECK(sb::util::parse_duration("1.2.3s") == std::nullopt);
        CHECK(sb::util::parse_duration("7d") == Milliseconds(7LL * 86400000));
        CHECK(sb::util::parse_duration("367d") == std::nullopt);
        CHECK(sb::util::parse_duration("99999999999999999999s") == std::nullopt);
    }

    TEST_CASE("durations format back to what parses") {
        for (const long long ms : {0LL, 1LL, 100LL, 1500LL, 5000LL, 60000LL, 90000LL, 3600000LL}) {
            const auto text = sb::util::format_duration(Milliseconds(ms));
            CHECK(sb::util::parse_duration(text) == Milliseconds(ms));
        }
        CHECK(sb::util::format_duration(Milliseconds(10000)) == "10s");
        CHECK(sb::util::format_duration(Milliseconds(120000)) == "2m");
        CHECK(sb::util::format_duration(Milliseconds(250)) == "250ms");
    }

    TEST_CASE("TurnEnd runs once per arming, after the turn's I/O, before the loop waits") {
        sb::test::TestLoop loop;
        std::vector<std::string> order;
        {
            sb::util::TurnEnd end(loop.get(), [&] { order.push_back("end"); });
            CHECK_FALSE(end.armed());
            // Armed in a timer callback, which no check phase follows before
            // the loop waits: the prepare phase runs it before the next wait.
            sb::util::Timer first(loop.get());
            sb::util::Timer later(loop.get());
            first.start(std::chrono::milliseconds(0), [&] {
                order.push_back("timer");
                end.arm();
                end.arm();
                CHECK(end.armed());
            });
            later.start(std::chrono::milliseconds(50), [&] { order.push_back("later"); });
            loop.run_until([&] { return order.size() >= 3; }, std::chrono::seconds(10));
            CHECK(order == std::vector<std::string>{"timer", "end", "later"});
            CHECK_FALSE(end.armed());

            // Armed in an I/O callback (an async wake-up): run in the same turn.
            order.clear();
            sb::util::Async wake(loop.get(), [&] {
                order.push_back("io");
                end.arm();
            });
            wake.send();
            loop.run_until([&] { return order.size() >= 2; }, std::chrono::seconds(10));
            CHECK(order == std::vector<std::string>{"io", "end"});

            // Disarmed, it does not run; and it never runs unarmed.
            end.arm();
            end.disarm();
            order.clear();
            loop.run_for(std::chrono::milliseconds(20));
            CHECK(order.empty());
        }
        // Its handles are closed with it (TestLoop checks uv_loop_close).
    }

    TEST_CASE("FineTimer fires once after its delay; stopped or destroyed, it does not") {
        using namespace std::chrono;
        sb::test::TestLoop loop;
        int fired = 0;
        {
            sb::util::FineTimer timer(loop.get());
            CHECK_FALSE(timer.active());
            const auto start = steady_clock::now();
            steady_clock::time_point at{};
            REQUIRE(timer.start(microseconds(300), [&] {
                ++fired;
                at = steady_clock::now();
            }));
            CHECK(timer.active());
            CHECK(loop.run_until([&] { return fired == 1; }, seconds(10)));
            CHECK(at - start >= microseconds(300));
            CHECK_FALSE(timer.active());
            loop.run_for(milliseconds(20));
            CHECK(fired == 1);

            // Started again from its own callback, as a paced read does.
            int chained = 0;
            std::function<void()> again = [&] {
                if (++chained < 5) {
                    timer.start(microseconds(20), again);
                }
            };
            REQUIRE(timer.start(microseconds(20), again));
            CHECK(loop.run_until([&] { return chained == 5; }, seconds(10)));

            // Stopped, it does not fire; started again, the new callback runs.
            timer.start(microseconds(100), [&] { fired += 10; });
            timer.stop();
            CHECK_FALSE(timer.active());
            loop.run_for(milliseconds(20));
            CHECK(fired == 1);
            timer.start(microseconds(100), [&] { fired += 100; });
            CHECK(loop.run_until([&] { return fired == 101; }, seconds(10)));

            // Destroyed while armed.
            timer.start(microseconds(200), [&] { fired += 1000; });
        }
        loop.run_for(std::chrono::milliseconds(20));
        CHECK(fired == 101);
        // A timer never started is inactive, and goes without a handle to close.
        sb::util::FineTimer unused(loop.get());
        CHECK_FALSE(unused.active());
    }
}
