// The built-in profiles of Claude Code, Codex CLI and Gemini CLI against the
// screens those programs really drew (Claude Code 2.1.197, Codex CLI 0.169.0,
// Gemini CLI 0.61.0), captured with tmux capture-pane and checked in under
// tests/delivery/screens. Each fixture is fed into a screen model as text,
// one row per line, the way the dispatcher sees it.

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include <doctest/doctest.h>

#include "delivery/echo_verifier.hpp"
#include "delivery/profile.hpp"
#include "term/screen.hpp"
#include "util/regex.hpp"

namespace {

std::string fixture(const std::string& name) {
    const char* data = std::getenv("SWITCHBOARD_TEST_DATA");
    REQUIRE_MESSAGE(data != nullptr, "SWITCHBOARD_TEST_DATA is not set");
    const std::string path = std::string(data) + "/delivery/screens/" + name + ".txt";
    std::ifstream in(path, std::ios::binary);
    REQUIRE_MESSAGE(in.good(), "cannot read " << path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// Every fixture is at most 40 rows of at most 120 columns (what the programs
// ran in).
void feed_fixture(sb::term::Screen& screen, const std::string& name) {
    std::string text = fixture(name);
    while (!text.empty() && text.back() == '\n') {
        text.pop_back();
    }
    std::string bytes;
    for (const char c : text) {
        bytes += c == '\n' ? std::string("\r\n") : std::string(1, c);
    }
    screen.feed(bytes);
}

sb::delivery::Profile profile(const char* name) {
    auto p = sb::delivery::builtin_profile(name);
    REQUIRE(p.has_value());
    return *p;
}

bool shows(const std::string& pattern, const std::string& screen_name) {
    sb::term::Screen screen(40, 120, 100);
    feed_fixture(screen, screen_name);
    return sb::delivery::screen_shows(screen, sb::util::Regex(pattern));
}

struct Expectation {
    const char* screen;
    bool ready;
    bool busy;
};

void check_screens(const char* name, std::initializer_list<Expectation> expectations) {
    const auto p = profile(name);
    for (const auto& e : expectations) {
        CAPTURE(e.screen);
        CHECK(shows(p.ready_pattern, e.screen) == e.ready);
        CHECK(shows(p.busy_pattern, e.screen) == e.busy);
    }
}

} // namespace

TEST_SUITE("delivery") {
    TEST_CASE("claude profile: ready at the composer, never in a start-up dialog") {
        // The trust and API-key dialogs mark their choice with the same ❯ as
        // the composer; a message typed there would answer them ("d-1"
        // contains a 1), so they count as busy.
        check_screens("claude", {
                                    {"claude-ready", true, false},
                                    {"claude-trust-dialog", false, true},
                                    {"claude-api-key-dialog", false, true},
                                    {"claude-busy", true, true},
                                    {"claude-busy-starting", true, true},
                                    {"claude-after-error", true, false},
                                });
    }

    TEST_CASE("codex profile: ready at the composer, never in the login or trust dialog") {
        check_screens("codex", {
                                   {"codex-ready", true, false},
                                   {"codex-login-dialog", false, true},
                                   {"codex-trust-dialog", false, true},
                                   {"codex-busy", true, true},
                                   {"codex-after-error", true, false},
                               });
    }

    TEST_CASE("gemini profile: ready at the composer, never in a start-up dialog") {
        check_screens("gemini", {
                                    {"gemini-ready", true, false},
                                    {"gemini-trust-dialog", false, true},
                                    {"gemini-auth-dialog", false, true},
                                    {"gemini-api-key-dialog", false, true},
                                    {"gemini-busy", true, true},
                                    {"gemini-after-error", true, false},
                                });
    }

    TEST_CASE("agent profiles recognise each program's collapsed paste after the header") {
        // The 30-line message of each capture was sent as header
        // "[from alice · d-43] " and a bracketed paste of 30 lines.
        std::string body;
        for (int i = 1; i <= 30; ++i) {
            body += "line " + std::to_string(i) +
                    " of a long paste with some words to make it "
                    "wider\n";
        }
        body.pop_back();
        for (const char* name : {"claude", "codex", "gemini"}) {
            CAPTURE(name);
            const auto p = profile(name);
            sb::term::Screen screen(40, 120, 100);
            sb::delivery::EchoVerifier verifier("[from alice · d-43] ", body,
                                                p.placeholder_pattern);
            verifier.take_baseline(screen);
            feed_fixture(screen, std::string(name) + "-paste-collapsed");
            CHECK(verifier.seen(screen));
            // Another delivery's header before the same placeholder is not
            // this delivery's echo.
            sb::delivery::EchoVerifier other("[from alice · d-44] ", body, p.placeholder_pattern);
            sb::term::Screen fresh(40, 120, 100);
            other.take_baseline(fresh);
            feed_fixture(fresh, std::string(name) + "-paste-collapsed");
            CHECK_FALSE(other.seen(fresh));
        }
    }

    TEST_CASE("echo verifier: the header must come right before the body") {
        // What Claude Code 2.1.197 showed when the header was typed and the
        // body pasted in the same write: the paste went in first.
        sb::term::Screen screen(10, 120, 100);
        sb::delivery::EchoVerifier verifier("[from user · d-1] ",
                                            "hello from switchboard, single line", "");
        verifier.take_baseline(screen);
        screen.feed("❯ hello from switchboard, single line[from user · d-1]\r\n");
        CHECK_FALSE(verifier.seen(screen));
        screen.feed("❯ [from user · d-1] hello from switchboard, single line\r\n");
        CHECK(verifier.seen(screen));
    }
}

TEST_SUITE("delivery") {
    TEST_CASE("composer: each agent's input line, found by its profile's composer_pattern") {
        const auto input = [](const char* agent, const char* screen_name) {
            sb::term::Screen screen(40, 120, 100);
            feed_fixture(screen, screen_name);
            return sb::delivery::composer_input(screen,
                                                sb::util::Regex(profile(agent).composer_pattern));
        };
        const auto lines = [](const char* agent, const char* screen_name) {
            sb::term::Screen screen(40, 120, 100);
            feed_fixture(screen, screen_name);
            return sb::delivery::composer_lines(screen,
                                                sb::util::Regex(profile(agent).composer_pattern));
        };
        // Claude Code: an empty composer is empty (its prompt ends in a
        // no-break space); the rule below ends it.
        CHECK(input("claude", "claude-ready") == "");
        CHECK(lines("claude", "claude-paste-collapsed") ==
              std::vector<std::string>{"❯\u00a0[from alice · d-43] [Pasted text #1 +29 lines]"});
        // Codex and Gemini show a placeholder in an empty composer; the
        // status lines below are not part of it (less indented, for Gemini).
        CHECK(input("codex", "codex-paste-collapsed").starts_with("[from alice · d-43] "));
        CHECK(input("gemini", "gemini-ready") == "Type your message or @path/to/file");
        CHECK(lines("gemini", "gemini-paste-collapsed").size() == 1);
        CHECK(input("gemini", "gemini-paste-collapsed") ==
              "[from alice · d-43] [Pasted Text: 30 lines]");
        // Without a pattern, the composer is the cursor's line.
        sb::term::Screen screen(5, 40, 10);
        screen.feed("$ ls\r\nfile\r\n$ draft");
        CHECK(sb::delivery::composer_input(screen, std::nullopt) == "$ draft");
        CHECK(sb::delivery::composer_lines(screen, std::nullopt) ==
              std::vector<std::string>{"$ draft"});
    }
}
