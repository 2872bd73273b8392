#include "delivery/profile.hpp"

#include <algorithm>

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
        // A shell runs a command line the moment it reads it, and many
        // commands print nothing.
        p.accept_timeout = milliseconds(0);
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
        p.composer_pattern = "^❯";
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
        p.composer_pattern = "^›";
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
        p.composer_pattern = R"((^|│) *> )";
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

namespace {

// A line of box drawing alone (Claude Code's rules around its composer, the
// bottom of Gemini CLI's box) ends the composer; a line inside a box, with
// text between its sides, does not.
bool is_rule(const std::string& line) {
    bool drawn = false;
    for (std::size_t i = 0; i < line.size();) {
        if (line[i] == ' ') {
            ++i;
            continue;
        }
        // U+2500..U+257F are E2 94 80..E2 95 BF in UTF-8.
        const auto* p = reinterpret_cast<const unsigned char*>(line.data() + i);
        if (line.size() - i < 3 || p[0] != 0xE2 || (p[1] != 0x94 && p[1] != 0x95)) {
            return false;
        }
        drawn = true;
        i += 3;
    }
    return drawn;
}

bool blank(const std::string& line) {
    for (const unsigned char c : line) {
        if (c != ' ' && c != '\t') {
            return false;
        }
    }
    return true;
}

std::string trimmed(const std::string& text) {
    // Blanks, and the no-break space Claude Code puts after its prompt.
    std::string out = text;
    const auto strip = [](std::string& s, bool front) {
        while (!s.empty()) {
            if (front ? (s.front() == ' ' || s.front() == '\n' || s.front() == '\t')
                      : (s.back() == ' ' || s.back() == '\n' || s.back() == '\t')) {
                if (front) {
                    s.erase(0, 1);
                } else {
                    s.pop_back();
                }
            } else if (front && s.starts_with("\xc2\xa0")) {
                s.erase(0, 2);
            } else if (!front && s.ends_with("\xc2\xa0")) {
                s.resize(s.size() - 2);
            } else {
                break;
            }
        }
    };
    strip(out, true);
    strip(out, false);
    return out;
}

} // namespace

std::vector<std::string> composer_lines(const term::Screen& screen,
                                        const std::optional<util::Regex>& composer) {
    const auto lines = screen.visible_lines();
    const int cursor = std::clamp(screen.cursor().row, 0, static_cast<int>(lines.size()) - 1);
    int first = -1;
    std::size_t indent = 0;
    if (composer) {
        for (int row = static_cast<int>(lines.size()) - 1; row >= 0 && first < 0; --row) {
            const auto& line = lines[static_cast<std::size_t>(row)];
            if (const auto prompt = composer->find(line)) {
                first = row;
                // The prompt's width in columns (one per character): the
                // composer's further lines are indented at least as far.
                const auto end = prompt->position + prompt->length;
                indent = static_cast<std::size_t>(
                    std::count_if(line.begin(), line.begin() + static_cast<long>(end), [](char c) {
                        return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
                    }));
            }
        }
    }
    std::vector<std::string> out;
    if (first < 0) {
        if (!lines.empty()) {
            out.push_back(lines[static_cast<std::size_t>(cursor)]);
        }
        return out;
    }
    out.push_back(lines[static_cast<std::size_t>(first)]);
    for (int row = first + 1; row < static_cast<int>(lines.size()); ++row) {
        const auto& line = lines[static_cast<std::size_t>(row)];
        const auto spaces = line.find_first_not_of(' ');
        if ((cursor >= first && row > cursor) || is_rule(line) || blank(line) || spaces < indent) {
            break;
        }
        out.push_back(line);
    }
    return out;
}

std::string composer_input(const term::Screen& screen, const std::optional<util::Regex>& composer) {
    auto lines = composer_lines(screen, composer);
    std::string text;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        std::string line = lines[i];
        if (i == 0 && composer) {
            if (const auto prompt = composer->find(line)) {
                line = line.substr(prompt->position + prompt->length);
            }
        }
        text += (i == 0 ? "" : "\n") + line;
    }
    return trimmed(text);
}

bool screen_shows(const term::Screen& screen, const util::Regex& pattern) {
    for (const auto& line : screen.visible_lines()) {
        if (pattern.found_in(line)) {
            return true;
        }
    }
    return false;
}

} // namespace sb::delivery
