#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "delivery/dispatcher.hpp"
#include "delivery/echo_verifier.hpp"
#include "delivery/profile.hpp"
#include "delivery/sanitize.hpp"
#include "delivery/throttle.hpp"
#include "loop.hpp"
#include "term/screen.hpp"

using namespace std::chrono_literals;
using sb::delivery::Throttle;

namespace {

std::string clean(std::string_view body, std::size_t limit = 1 << 20) {
    auto result = sb::delivery::sanitize_body(body, limit);
    if (auto* rejected = std::get_if<sb::delivery::Rejected>(&result)) {
        return "rejected: " + rejected->message;
    }
    return std::get<sb::delivery::Sanitized>(result).text;
}

} // namespace

TEST_SUITE("delivery") {
    TEST_CASE("throttle: every third success halves the delay, never below min") {
        Throttle t(100ms, 5000ms);
        CHECK(t.delay() == 100ms);
        for (int i = 0; i < 3; ++i) {
            t.record(Throttle::Result::Failed);
        }
        CHECK(t.delay() == 500ms);
        t.record(Throttle::Result::Verified);
        t.record(Throttle::Result::Verified);
        CHECK(t.delay() == 500ms);
        t.record(Throttle::Result::Verified);
        CHECK(t.delay() == 250ms);
        t.record(Throttle::Result::Verified);
        t.record(Throttle::Result::Verified);
        t.record(Throttle::Result::Verified);
        CHECK(t.delay() == 125ms);
        for (int i = 0; i < 3; ++i) {
            t.record(Throttle::Result::Verified);
        }
        CHECK(t.delay() == 100ms);
    }

    TEST_CASE("throttle: failures step 100, 200, 500, 1000, 2000, 5000 ms, capped by max") {
        Throttle t(100ms, 5000ms);
        std::vector<long long> delays;
        for (int i = 0; i < 8; ++i) {
            t.record(Throttle::Result::Failed);
            delays.push_back(t.delay().count());
        }
        CHECK(delays == std::vector<long long>{100, 200, 500, 1000, 2000, 5000, 5000, 5000});
        Throttle capped(100ms, 1500ms);
        for (int i = 0; i < 6; ++i) {
            capped.record(Throttle::Result::Failed);
        }
        CHECK(capped.delay() == 1500ms);
        Throttle floor(300ms, 5000ms);
        floor.record(Throttle::Result::Failed);
        CHECK(floor.delay() == 300ms);
    }

    TEST_CASE(
        "throttle: unverified resets the streak and keeps the delay; success clears failures") {
        Throttle t(100ms, 5000ms);
        t.record(Throttle::Result::Failed);
        t.record(Throttle::Result::Failed);
        CHECK(t.delay() == 200ms);
        CHECK(t.failures() == 2);
        t.record(Throttle::Result::Verified);
        t.record(Throttle::Result::Verified);
        t.record(Throttle::Result::Unverified);
        CHECK(t.streak() == 0);
        CHECK(t.delay() == 200ms);
        CHECK(t.failures() == 0);
        t.record(Throttle::Result::Verified);
        t.record(Throttle::Result::Verified);
        CHECK(t.delay() == 200ms);
        t.record(Throttle::Result::Verified);
        CHECK(t.delay() == 100ms);
        // A failure after successes starts the steps from the first.
        t.record(Throttle::Result::Failed);
        CHECK(t.delay() == 100ms);
    }

    TEST_CASE("sanitizer removes controls and keeps text") {
        CHECK(clean("plain text") == "plain text");
        CHECK(clean("a\r\nb\nc\td") == "a\nb\nc\td");
        CHECK(clean("bell\x07 esc\x1b[31mred\x1b[0m") == "bell esc[31mred[0m");
        CHECK(clean("end paste\x1b[201~ rm -rf /") == "end paste[201~ rm -rf /");
        CHECK(clean(std::string("nul\0byte", 8)) == "nulbyte");
        CHECK(clean("del\x7f c1\xc2\x9b"
                    "31m") == "del c131m");
        CHECK(clean("lone\rcr") == "lonecr");
        CHECK(clean("caf\xc3\xa9 \xe2\x9d\xaf \xf0\x9f\x98\x80") ==
              "caf\xc3\xa9 \xe2\x9d\xaf \xf0\x9f\x98\x80");
        CHECK(clean("bad \xff utf8") ==
              "rejected: the message is not valid UTF-8 (at byte 4); nothing was queued");
        CHECK(clean(std::string(11, 'x'), 10) == "rejected: the message is 11 bytes; the limit is "
                                                 "10; send a shorter one or a path to a file");
        auto counted =
            std::get<sb::delivery::Sanitized>(sb::delivery::sanitize_body("a\x1b[1mb\r\n", 100));
        CHECK(counted.removed == 2);
    }

    TEST_CASE(
        "echo verifier: header and body prefix, wrapped or boxed, counted against a baseline") {
        sb::term::Screen screen(10, 30, 100);
        sb::delivery::EchoVerifier verifier("[from alice · d-7] ",
                                            "please review the parser changes\nsecond", "");
        screen.feed("[from alice · d-1] old\r\n");
        verifier.take_baseline(screen);
        CHECK_FALSE(verifier.seen(screen));
        // Wrapped across rows at 30 columns and drawn inside a box.
        screen.feed("│ > [from alice · d-7] please review │\r\n│ the parser changes │\r\n");
        CHECK(verifier.seen(screen));

        sb::term::Screen shell(10, 40, 100);
        sb::delivery::EchoVerifier command("", "echo hi", "");
        shell.feed("$ echo hi\r\nhi\r\n$ ");
        command.take_baseline(shell);
        CHECK_FALSE(command.seen(shell));
        shell.feed("echo hi\r\nhi\r\n");
        CHECK(command.seen(shell));
    }

    TEST_CASE("echo verifier: a collapsed paste counts by its placeholder") {
        const auto claude = *sb::delivery::builtin_profile("claude");
        sb::term::Screen screen(10, 60, 100);
        sb::delivery::EchoVerifier verifier("[from bob · d-9] ", "line one\nline two",
                                            claude.placeholder_pattern);
        verifier.take_baseline(screen);
        screen.feed("❯ [from bob · d-9] [Pasted text #1 +1 lines]");
        CHECK(verifier.seen(screen));
    }

    TEST_CASE("every profile named in the workspace schema exists") {
        for (const char* name : {"generic", "shell", "claude", "codex", "gemini", "aider"}) {
            CAPTURE(name);
            CHECK(sb::delivery::builtin_profile(name).has_value());
        }
        CHECK_FALSE(sb::delivery::builtin_profile("nope").has_value());
    }

    TEST_CASE("dispatcher: one the worker can take at once is saved by its sender and typed "
              "without a commit of its own; otherwise it waits and is committed when typed") {
        using sb::delivery::Delivery;
        using sb::delivery::Stage;
        sb::test::TestLoop loop;
        sb::term::Screen screen(24, 80, 100);
        std::vector<std::string> events;
        std::vector<Delivery> commits;
        sb::delivery::Settings settings;
        settings.profile = *sb::delivery::builtin_profile("generic");
        settings.idle = 0ms;
        settings.throttle_min = 1ms;
        sb::delivery::WorkerPort port{
            .running = [] { return true; },
            .screen = [&]() -> const sb::term::Screen& { return screen; },
            .last_output = [] { return sb::delivery::Clock::time_point{}; },
            .last_keystroke = [] { return sb::delivery::Clock::time_point{}; },
            // An agent that echoes at once and clears its composer on Enter.
            .write_unit =
                [&](std::vector<sb::delivery::WorkerPort::Segment> segments,
                    std::function<void(bool)> done) {
                    for (const auto& segment : segments) {
                        screen.feed(segment.bytes == "\r" ? "\r\n" : segment.bytes);
                    }
                    done(true);
                },
        };
        const auto message = [](int n) {
            Delivery d;
            d.id = "d-" + std::to_string(n);
            d.from = "alice";
            d.to = "bob";
            d.body = "message " + std::to_string(n);
            d.created_at = sb::delivery::SystemClock::now();
            return d;
        };
        {
            sb::delivery::Dispatcher dispatcher(
                loop.get(), "bob", settings, port,
                [&](const std::string& type, nlohmann::json) { events.push_back(type); },
                {.commit =
                     [&](const Delivery& d) {
                         commits.push_back(d);
                         return true;
                     },
                 .record = [](const Delivery&) {}});
            dispatcher.on_worker_started();

            const auto first = dispatcher.typed_at_once(message(1));
            REQUIRE(first);
            CHECK(first->stage == Stage::Injecting);
            CHECK(first->attempts == 1);
            dispatcher.enqueue_typed(*first);
            CHECK(commits.empty());
            REQUIRE(events.size() >= 4);
            CHECK(std::vector<std::string>(events.begin(), events.begin() + 4) ==
                  std::vector<std::string>{"worker_ready", "delivery_queued", "delivery_injected",
                                           "delivery_verified"});

            // Held, the gate is closed: not typed at once, and typed (after
            // its own commit) when the gate opens.
            dispatcher.hold();
            CHECK_FALSE(dispatcher.typed_at_once(message(2)));
            dispatcher.enqueue(message(2));
            CHECK(commits.empty());
            // One queued before it: not typed at once either.
            CHECK_FALSE(dispatcher.typed_at_once(message(3)));
            dispatcher.release();
            REQUIRE(loop.run_until([&] { return !commits.empty(); }, std::chrono::seconds(10)));
            CHECK(commits[0].id == "d-2");
            CHECK(commits[0].stage == Stage::Injecting);
            CHECK(commits[0].attempts == 1);
        }
    }
}
