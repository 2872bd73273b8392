#include "delivery/profile.hpp"

namespace sb::delivery {

std::optional<Profile> builtin_profile(std::string_view name) {
    using std::chrono::milliseconds;
    Profile p;
    p.name = std::string(name);
    if (name == "generic") {
        return p;
    }
    if (name == "shell") {
        // A message to a shell or REPL is a command line: no header, typed,
        // each line submitted by its newline.
        p.header = false;
        p.paste = false;
        p.enter_delay = milliseconds(0);
        return p;
    }
    if (name == "claude") {
        // Claude Code: the composer line starts with ❯ between two rules of
        // ─; multi-line pastes collapse to [Pasted text #N +M lines]; an
        // Enter in the same read as a paste may be swallowed, hence the
        // delay.
        p.ready_pattern = "❯";
        p.busy_pattern = "esc to interrupt";
        p.placeholder_pattern = R"(\[Pasted text #[0-9]+( \+[0-9]+ lines)?\])";
        p.enter_delay = milliseconds(150);
        return p;
    }
    if (name == "codex") {
        // Codex CLI: composer starts with › ; an Enter within ~120 ms of a
        // paste burst becomes a newline, so the Enter waits longer.
        p.ready_pattern = "›";
        p.busy_pattern = "esc to interrupt";
        p.placeholder_pattern = R"(\[Pasted Content [0-9]+ chars\])";
        p.enter_delay = milliseconds(250);
        return p;
    }
    if (name == "gemini") {
        // Gemini CLI: composer starts with > inside a box; it ignores input
        // for ~40 ms after a paste.
        p.ready_pattern = "(^|│) *> |Type your message";
        p.busy_pattern = "esc to cancel";
        p.enter_delay = milliseconds(120);
        return p;
    }
    if (name == "aider") {
        p.ready_pattern = "> *$";
        p.enter_delay = milliseconds(100);
        return p;
    }
    return std::nullopt;
}

} // namespace sb::delivery
