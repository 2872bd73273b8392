#pragma once

#include <chrono>
#include <optional>
#include <regex>
#include <string>
#include <string_view>

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
};

// The built-in profile of that name (generic, shell, claude, codex, gemini,
// aider), or nothing.
std::optional<Profile> builtin_profile(std::string_view name);

// Whether one of the screen's visible lines matches a ready or busy pattern.
bool screen_shows(const term::Screen& screen, const std::regex& pattern);

} // namespace sb::delivery
