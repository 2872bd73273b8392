#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/regex.hpp"

namespace sb::term {
class Screen;
}

namespace sb::delivery {

// What switchboard knows about one agent CLI's terminal interface
// (DESIGN's "profiles"): when it can take a message, how to type one in and
// how to recognise its echo. Patterns are ECMAScript regular expressions
// searched in the screen's text.
struct Profile {
    std::string name;
    // Ready to take input: searched on the screen; empty means ready as soon
    // as the worker runs (and its output has been quiet for `idle`).
    std::string ready_pattern;
    // Working on something: no injection while it shows, unless
    // `queues_input` says the CLI keeps typed input for later.
    std::string busy_pattern;
    bool queues_input = false;
    // Type the header `[from NAME · ID] ` before the body.
    bool header = true;
    // Send the body as a bracketed paste when the application enabled mode
    // 2004; otherwise it is typed.
    bool paste = true;
    // What a typed newline is (inside a paste a newline is a literal LF).
    std::string typed_newline = "\n";
    // How the CLI shows a collapsed paste, e.g. Claude Code's
    // `[Pasted text #2 +14 lines]`; empty when it shows pastes in full.
    std::string placeholder_pattern;
    std::string submit_key = "\r";
    // The pause between the header and the body. Some CLIs mishandle a
    // paste that arrives in the same read as the keys before it: Claude
    // Code inserts the paste before the typed header, Codex drops a long
    // paste.
    std::chrono::milliseconds body_delay{0};
    // Type the body only once the header shows on the screen, and press the
    // submit key only once the message (its echo) shows: a delay alone does
    // not keep a slow program from reading the body and its Enter in one
    // read, which Gemini CLI and Codex CLI take as a paste with a newline.
    bool wait_for_echo = false;
    std::chrono::milliseconds enter_delay{100};
    // Where the composer (the input line) begins: the last screen line that
    // matches, down to the cursor's line. Empty: the cursor's line alone.
    std::string composer_pattern;
    // How long a submitted message may stay in the composer before the
    // submit key is pressed again (twice at most, then it is stalled).
    std::chrono::milliseconds submit_timeout{2000};
    // How long the agent has, once a message left the composer, to show it
    // took it: its busy pattern, or (without one) any output. Zero: a
    // submitted message counts as accepted.
    std::chrono::milliseconds accept_timeout{30000};
};

// The built-in profile of that name (generic, shell, claude, codex, gemini,
// aider), or nothing.
std::optional<Profile> builtin_profile(std::string_view name);

// Whether one of the screen's visible lines matches a ready or busy pattern.
bool screen_shows(const term::Screen& screen, const util::Regex& pattern);

// The composer's lines: the last visible line that matches `composer`, and
// the lines below it that continue it (indented at least as far as the
// prompt the pattern matched, not blank, not a rule of box drawing, not
// below the cursor when the cursor is at or below the prompt). The cursor's
// line alone when there is no pattern or no line matches.
std::vector<std::string> composer_lines(const term::Screen& screen,
                                        const std::optional<util::Regex>& composer);

// What sits in the composer for a person to submit: its lines without the
// prompt the pattern matched, trimmed of blanks.
std::string composer_input(const term::Screen& screen, const std::optional<util::Regex>& composer);

} // namespace sb::delivery
