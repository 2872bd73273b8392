#include "delivery/profile.hpp"

#include "term/screen.hpp"

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
    // The three agent CLIs below were checked against Claude Code 2.1.197,
    // Codex CLI 0.169.0 and Gemini CLI 0.61.0 (tests/delivery/screens holds
    // what their screens showed). Each one's start-up and permission dialogs
    // draw a selection marker like its composer's prompt glyph (`❯ 1. Yes`),
    // so the ready patterns refuse a glyph followed by a numbered choice, and
    // the busy patterns name each dialog's key hint: a message typed into a
    // dialog would answer it, so nothing is injected while one shows.
    if (name == "claude") {
        // The composer line starts with ❯ in the first column, between two
        // rules of ─; dialogs indent their ❯. A paste that arrives in the
        // same read as the typed header is inserted before it, hence the
        // pause between the two. Multi-line and long pastes collapse to
        // [Pasted text #N +M lines] or [Pasted text #N].
        p.ready_pattern = R"(^❯(?! *[0-9]+\. ))";
        // At the start of a turn the working line (a spinner glyph and a
        // verb ending in …, as in "✻ Pondering…") shows before "esc to
        // interrupt" does; a finished turn's line has no ….
        p.busy_pattern = "esc to interrupt|^(✻|✶|✳|✢|✽|·|\\*) [A-Z][^ ]*…|"
                         "Enter to confirm · Esc to cancel|Unable to connect to Anthropic services";
        p.placeholder_pattern = R"(\[Pasted text #[0-9]+( \+[0-9]+ lines)?\])";
        p.body_delay = milliseconds(50);
        p.wait_for_echo = true;
        p.enter_delay = milliseconds(150);
        return p;
    }
    if (name == "codex") {
        // The composer line starts with › (placeholder "Ask Codex to do
        // anything"); the trust dialog marks its choice with › too. A long
        // paste that arrives in the same read as the header is dropped, and
        // an Enter within ~120 ms of a paste burst becomes a newline. Pastes
        // over 1000 characters collapse to [Pasted Content N chars].
        p.ready_pattern = R"(^›(?! *[0-9]+\. ))";
        p.busy_pattern = R"(esc to interrupt|enter continue · esc back|Press enter to continue)";
        p.placeholder_pattern = R"(\[Pasted Content [0-9]+ chars\])";
        p.body_delay = milliseconds(50);
        p.wait_for_echo = true;
        p.enter_delay = milliseconds(250);
        return p;
    }
    if (name == "gemini") {
        // The composer line starts with > (placeholder "Type your message
        // or @path/to/file"), inside a box in older versions. An Enter
        // within 40 ms of a paste becomes a newline (a React state update,
        // late on a loaded machine). Pastes of more than 5 lines or 500
        // characters collapse to [Pasted Text: N lines] or [Pasted Text: N
        // chars].
        p.ready_pattern = R"((^|│) *> |Type your message)";
        p.busy_pattern =
            R"([Ee]sc to cancel|\(Use Enter to select\)|Do you trust the files in this folder\?)";
        p.placeholder_pattern = R"(\[Pasted Text: [0-9]+ (lines|chars)( #[0-9]+)?\])";
        p.body_delay = milliseconds(50);
        p.wait_for_echo = true;
        p.enter_delay = milliseconds(250);
        return p;
    }
    if (name == "aider") {
        p.ready_pattern = "> *$";
        p.enter_delay = milliseconds(100);
        return p;
    }
    return std::nullopt;
}

bool screen_shows(const term::Screen& screen, const std::regex& pattern) {
    for (const auto& line : screen.visible_lines()) {
        if (std::regex_search(line, pattern)) {
            return true;
        }
    }
    return false;
}

} // namespace sb::delivery
