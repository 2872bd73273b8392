// fake_agent: a stand-in for an agent CLI's terminal interface.
//
// switchboard's integration tests deliver messages into a worker's PTY and
// check what arrived. The real agent CLIs (Claude Code, Codex, Gemini CLI)
// need an account and a network, and each has its own quirks about pastes and
// Enter, so the tests run this program instead: every quirk is a flag, the
// screen looks enough like theirs for a profile's patterns to match, and --log
// records exactly what was submitted, so a test can tell "arrived once" from
// "arrived twice" or "lost". kUsage below documents the flags.
//
// It uses only the C++ standard library and POSIX, so that it cannot share a
// bug with the code under test, and it never depends on wall-clock time except
// through the delays its flags ask for.

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <clocale>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <cwchar>
#include <deque>
#include <fcntl.h>
#include <optional>
#include <poll.h>
#include <stdexcept>
#include <string>
#include <string_view>
#include <sys/ioctl.h>
#include <termios.h>
#include <tuple>
#include <unistd.h>
#include <utility>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
using Ms = std::chrono::milliseconds;

constexpr std::string_view kUsage = R"usage(Usage: fake_agent [OPTION]...
Behave like an agent CLI's terminal interface (Claude Code, Codex, Gemini CLI)
for switchboard's integration tests.

The terminal is put in raw mode (restored on exit, SIGTERM, SIGHUP, SIGINT).
An input line starts with the prompt glyph and shows what is typed. Keys:
  printable text   inserted (UTF-8, also when split across reads)
  Enter (CR)       submits the input; an empty input is not submitted
  Ctrl-J (LF)      inserts a newline
  BSpace, Ctrl-H   deletes the last character (or a whole paste placeholder)
  Ctrl-U           clears the input
  Ctrl-C           clears the input; a second Ctrl-C in a row exits with 0
Other keys and escape sequences (arrows, focus events) are read and ignored.
Input that arrives before the prompt first appears is read and discarded, as
an agent that is still starting loses it. A submitted message is printed above
the input line, each of its lines as "> LINE". Nothing is ever sent to the
terminal that it did not ask for, except --ask-cursor-position's query.

Options (MS is a number of milliseconds, N a count; --opt=VALUE also works):
  --prompt-glyph TEXT   start the input line with TEXT, verbatim (default "❯ ")
  --banner TEXT         print TEXT first, before the start-up delay
  --startup-delay MS    show the prompt only MS after start (readiness)
  --ask-cursor-position send CSI 6n at start and show the prompt only once the
                        terminal answers (Codex stalls the same way)
  --bracketed-paste     enable bracketed paste (CSI ?2004h, with the prompt)
                        and read CSI 200~ ... CSI 201~ as one paste; without
                        it the markers are ignored keys and the text between
                        them is typed (each CR submits)
  --collapse-pastes     show a paste that contains a newline as
                        "[Pasted text #N +M lines]" (Claude Code): N counts the
                        pastes in the current input from 1 (it restarts after a
                        submit or a clear) and M is the number of newlines in
                        the paste, so a 3-line paste shows "+2 lines"; the full
                        text is what gets submitted
  --enter-as-newline-within MS
                        an Enter that arrives less than MS after the end of a
                        paste inserts a newline instead of submitting (Codex)
  --ignore-input-after-paste MS
                        discard every input byte that arrives less than MS
                        after the end of a paste (Gemini CLI)
  --echo-delay MS       everything drawn after the prompt first appears
                        reaches the terminal MS late (a slow renderer): the
                        echo, the transcript, the busy line; input is still
                        handled and logged at once
  --no-echo             never show the input, nor the submitted text (the
                        transcript says "(submitted #SEQ)"); Enter still submits
  --busy MS             after each submit show a busy line "SPINNER TEXT" above
                        the input for MS (spinner turns every 100 ms)
  --busy-text TEXT      the busy line's text (default "Working… (esc to
                        interrupt)")
  --drop-input-while-busy
                        discard every input byte that arrives while busy
  --alt-screen          use the alternate screen (CSI ?1049h) and redraw all of
                        it (transcript, then busy and input lines at the
                        bottom) on every change: once per read of input
  --log FILE            append each submitted message to FILE as one JSON line
                        {"pid":PID,"seq":SEQ,"text":"..."} (SEQ counts from 1;
                        control characters as \uXXXX), fsync'ed before the
                        screen shows it
  --exit-after N        exit with 0 after the N-th submission
  --swallow-enters N    ignore the first N Enters that would submit a non-empty
                        input (the input stays, as in an agent that missed
                        the key)
  -h, --help            show this help

Exit status: 0 after --exit-after, a double Ctrl-C or the end of input; 1 if
the log cannot be written; 2 for a usage error. SIGTERM, SIGHUP, SIGINT and
SIGQUIT restore the terminal, then kill the program with the same signal.
)usage";

struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct Options {
    std::string prompt = "❯ ";
    std::string banner;
    std::string busy_text = "Working… (esc to interrupt)";
    std::string log_path;
    Ms startup_delay{0};
    bool ask_cursor_position = false;
    bool bracketed_paste = false;
    bool collapse_pastes = false;
    Ms enter_as_newline_within{0};
    Ms ignore_input_after_paste{0};
    Ms echo_delay{0};
    bool no_echo = false;
    Ms busy{0};
    bool drop_input_while_busy = false;
    bool alt_screen = false;
    long exit_after = 0;
    long swallow_enters = 0;
    bool help = false;
};

long parse_count(std::string_view option, std::string_view text) {
    long value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || value < 0 ||
        value > 1'000'000'000) {
        throw UsageError(std::string(option) + ": \"" + std::string(text) +
                         "\" is not a whole number from 0 to 1000000000");
    }
    return value;
}

Options parse_options(int argc, char** argv) {
    Options options;
    std::vector<std::string_view> args(argv + 1, argv + argc);
    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string_view name = args[i];
        std::optional<std::string_view> inline_value;
        if (auto eq = name.find('='); name.starts_with("--") && eq != std::string_view::npos) {
            inline_value = name.substr(eq + 1);
            name = name.substr(0, eq);
        }
        auto value = [&]() -> std::string_view {
            if (inline_value) {
                return *inline_value;
            }
            if (i + 1 >= args.size()) {
                throw UsageError(std::string(name) + " needs a value");
            }
            return args[++i];
        };
        auto ms = [&] { return Ms(parse_count(name, value())); };
        auto flag = [&] {
            if (inline_value) {
                throw UsageError(std::string(name) + " takes no value");
            }
            return true;
        };

        if (name == "-h" || name == "--help") {
            options.help = flag();
        } else if (name == "--prompt-glyph") {
            options.prompt = value();
        } else if (name == "--banner") {
            options.banner = value();
        } else if (name == "--startup-delay") {
            options.startup_delay = ms();
        } else if (name == "--ask-cursor-position") {
            options.ask_cursor_position = flag();
        } else if (name == "--bracketed-paste") {
            options.bracketed_paste = flag();
        } else if (name == "--collapse-pastes") {
            options.collapse_pastes = flag();
        } else if (name == "--enter-as-newline-within") {
            options.enter_as_newline_within = ms();
        } else if (name == "--ignore-input-after-paste") {
            options.ignore_input_after_paste = ms();
        } else if (name == "--echo-delay") {
            options.echo_delay = ms();
        } else if (name == "--no-echo") {
            options.no_echo = flag();
        } else if (name == "--busy") {
            options.busy = ms();
        } else if (name == "--busy-text") {
            options.busy_text = value();
        } else if (name == "--drop-input-while-busy") {
            options.drop_input_while_busy = flag();
        } else if (name == "--alt-screen") {
            options.alt_screen = flag();
        } else if (name == "--log") {
            options.log_path = value();
        } else if (name == "--exit-after") {
            options.exit_after = parse_count(name, value());
        } else if (name == "--swallow-enters") {
            options.swallow_enters = parse_count(name, value());
        } else {
            throw UsageError("unknown option \"" + std::string(name) + "\"");
        }
    }
    return options;
}

// ---------------------------------------------------------------------------
// Text

// Collects the bytes of one UTF-8 character. Invalid bytes, overlong forms and
// surrogates are dropped, so everything this program shows or logs is valid
// UTF-8 whatever it was sent.
class Utf8Assembler {
public:
    // Takes a byte >= 0x80; returns the character it completes, if any.
    std::optional<std::string> feed(unsigned char byte) {
        if (byte >= 0x80 && byte <= 0xbf) {
            if (needed_ == 0 || !continues(byte)) {
                reset();
                return std::nullopt;
            }
            partial_ += static_cast<char>(byte);
            if (--needed_ > 0) {
                return std::nullopt;
            }
            return std::exchange(partial_, {});
        }
        // A lead byte: whatever was being collected is truncated.
        reset();
        needed_ = byte >= 0xc2 && byte <= 0xdf   ? 1
                  : byte >= 0xe0 && byte <= 0xef ? 2
                  : byte >= 0xf0 && byte <= 0xf4 ? 3
                                                 : 0;
        if (needed_ > 0) {
            partial_ += static_cast<char>(byte);
        }
        return std::nullopt;
    }

    // Drops a character that an ASCII byte interrupted.
    void reset() {
        partial_.clear();
        needed_ = 0;
    }

private:
    // The second byte decides overlong forms, surrogates and the upper limit.
    bool continues(unsigned char byte) const {
        if (partial_.size() != 1) {
            return true;
        }
        switch (static_cast<unsigned char>(partial_[0])) {
        case 0xe0:
            return byte >= 0xa0;
        case 0xed:
            return byte <= 0x9f;
        case 0xf0:
            return byte >= 0x90;
        case 0xf4:
            return byte <= 0x8f;
        default:
            return true;
        }
    }

    std::string partial_;
    int needed_ = 0;
};

// Splits valid UTF-8 (or drops what is not) into characters.
std::vector<std::string> characters(std::string_view text) {
    std::vector<std::string> out;
    Utf8Assembler assembler;
    for (unsigned char byte : text) {
        if (byte < 0x80) {
            assembler.reset();
            out.emplace_back(1, static_cast<char>(byte));
        } else if (auto character = assembler.feed(byte)) {
            out.push_back(std::move(*character));
        }
    }
    return out;
}

char32_t code_point(std::string_view character) {
    auto byte = [&](std::size_t i) { return static_cast<unsigned char>(character[i]); };
    switch (character.size()) {
    case 1:
        return byte(0);
    case 2:
        return (byte(0) & 0x1fu) << 6 | (byte(1) & 0x3fu);
    case 3:
        return (byte(0) & 0x0fu) << 12 | (byte(1) & 0x3fu) << 6 | (byte(2) & 0x3fu);
    default:
        return (byte(0) & 0x07u) << 18 | (byte(1) & 0x3fu) << 12 | (byte(2) & 0x3fu) << 6 |
               (byte(3) & 0x3fu);
    }
}

// Columns a character takes, as the terminal will count them (wcwidth under
// C.UTF-8); we need it to know how many rows a wrapped line covers.
int character_width(std::string_view character) {
    int width = ::wcwidth(static_cast<wchar_t>(code_point(character)));
    return width < 0 ? 1 : width;
}

int display_width(std::string_view text) {
    int width = 0;
    for (const auto& character : characters(text)) {
        width += character_width(character);
    }
    return width;
}

std::vector<std::string> split_lines(std::string_view text) {
    std::vector<std::string> lines;
    std::size_t start = 0;
    for (std::size_t newline; (newline = text.find('\n', start)) != std::string_view::npos;
         start = newline + 1) {
        lines.emplace_back(text.substr(start, newline - start));
    }
    lines.emplace_back(text.substr(start));
    return lines;
}

std::string json_string(std::string_view text) {
    std::string out = "\"";
    for (unsigned char byte : text) {
        if (byte == '"' || byte == '\\') {
            out += '\\';
            out += static_cast<char>(byte);
        } else if (byte < 0x20 || byte == 0x7f) {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\u%04x", byte);
            out += escaped;
        } else {
            out += static_cast<char>(byte);
        }
    }
    return out + "\"";
}

// ---------------------------------------------------------------------------
// Input

// One thing the terminal sent: a character, a control key, an escape sequence
// (arrows, focus events, the answer to a query) or a whole bracketed paste.
struct InputEvent {
    enum class Kind { Text, Control, Sequence, Paste } kind;
    std::string data;       // Text: the character; Sequence: parameters; Paste: raw text
    unsigned char code = 0; // Control: the byte; Sequence: the final byte
};

// Turns the terminal's bytes into events one byte at a time, so that an escape
// sequence, a UTF-8 character or a paste end marker split across reads (as a
// PTY may deliver them) is assembled exactly as if it had come in one piece.
class InputDecoder {
public:
    explicit InputDecoder(bool bracketed_paste) : bracketed_paste_(bracketed_paste) {}

    std::optional<InputEvent> feed(unsigned char byte) {
        switch (state_) {
        case State::Ground:
            if (byte == 0x1b) {
                utf8_.reset();
                state_ = State::Escape;
                return std::nullopt;
            }
            if (byte < 0x20 || byte == 0x7f) {
                utf8_.reset();
                return InputEvent{InputEvent::Kind::Control, {}, byte};
            }
            if (byte < 0x80) {
                utf8_.reset();
                return InputEvent{InputEvent::Kind::Text, std::string(1, char(byte))};
            }
            if (auto character = utf8_.feed(byte)) {
                return InputEvent{InputEvent::Kind::Text, std::move(*character)};
            }
            return std::nullopt;
        case State::Escape:
            // An ESC followed by another ESC was a lone Escape key; Alt+key
            // and SS3 keys mean nothing to the input line.
            if (byte == '[') {
                sequence_.clear();
                state_ = State::Csi;
            } else if (byte == 'O') {
                state_ = State::Ss3;
            } else if (byte != 0x1b) {
                state_ = State::Ground;
            }
            return std::nullopt;
        case State::Ss3:
            state_ = State::Ground;
            return std::nullopt;
        case State::Csi:
            if (byte >= 0x20 && byte <= 0x3f) {
                // Parameters and intermediates; the cap only guards memory.
                if (sequence_.size() < 64) {
                    sequence_ += static_cast<char>(byte);
                }
                return std::nullopt;
            }
            state_ = State::Ground;
            if (byte >= 0x40 && byte <= 0x7e) {
                if (bracketed_paste_ && byte == '~' && sequence_ == "200") {
                    paste_.clear();
                    state_ = State::Paste;
                    return std::nullopt;
                }
                return InputEvent{InputEvent::Kind::Sequence, sequence_, byte};
            }
            // A broken sequence: drop it and read the byte afresh.
            return feed(byte);
        case State::Paste: {
            // Everything up to the end marker is the paste, control bytes too.
            constexpr std::string_view kEnd = "\x1b[201~";
            paste_ += static_cast<char>(byte);
            if (!std::string_view(paste_).ends_with(kEnd)) {
                return std::nullopt;
            }
            paste_.resize(paste_.size() - kEnd.size());
            state_ = State::Ground;
            return InputEvent{InputEvent::Kind::Paste, std::exchange(paste_, {})};
        }
        }
        return std::nullopt;
    }

private:
    enum class State { Ground, Escape, Ss3, Csi, Paste };
    State state_ = State::Ground;
    bool bracketed_paste_;
    Utf8Assembler utf8_;
    std::string sequence_;
    std::string paste_;
};

// ---------------------------------------------------------------------------
// Terminal

// What the signal handler needs to put the terminal back; only
// async-signal-safe calls touch it there.
struct TerminalState {
    termios saved{};
    volatile std::sig_atomic_t raw = 0;
    volatile std::sig_atomic_t paste_mode = 0;
    volatile std::sig_atomic_t alt_screen = 0;
    volatile std::sig_atomic_t resized = 0;
    int wake_fd = -1;
};
TerminalState g_terminal;

// Returns false if the data could not all be written. A failed write to the
// terminal is ignored (after a hangup nobody is left to show it to); a failed
// write to the log is an error.
bool write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        ssize_t written = ::write(fd, data.data(), data.size());
        if (written > 0) {
            data.remove_prefix(static_cast<std::size_t>(written));
        } else if (written < 0 && errno == EAGAIN) {
            pollfd writable{fd, POLLOUT, 0};
            ::poll(&writable, 1, -1);
        } else if (written < 0 && errno != EINTR) {
            return false;
        }
    }
    return true;
}

// Async-signal-safe: write() and tcsetattr() only.
void restore_terminal() {
    auto put = [](std::string_view text) {
        if (::write(STDOUT_FILENO, text.data(), text.size()) < 0) {
            // Nothing to do: the terminal may already be gone.
        }
    };
    if (g_terminal.paste_mode) {
        put("\x1b[?2004l");
        g_terminal.paste_mode = 0;
    }
    if (g_terminal.alt_screen) {
        put("\x1b[?1049l");
        g_terminal.alt_screen = 0;
    } else {
        // Leave the shell's prompt below our input line, not on it.
        put("\r\n");
    }
    if (g_terminal.raw) {
        ::tcsetattr(STDIN_FILENO, TCSANOW, &g_terminal.saved);
        g_terminal.raw = 0;
    }
}

extern "C" void on_terminate(int signal_number) {
    restore_terminal();
    // Die of the same signal, so the parent sees what happened.
    ::signal(signal_number, SIG_DFL);
    ::raise(signal_number);
}

extern "C" void on_resize(int) {
    g_terminal.resized = 1;
    char byte = 0;
    if (::write(g_terminal.wake_fd, &byte, 1) < 0) {
        // The pipe is full, so the main loop will wake anyway.
    }
}

void enter_raw_mode() {
    if (::tcgetattr(STDIN_FILENO, &g_terminal.saved) != 0) {
        return; // Not a terminal: input is read as it comes.
    }
    termios raw = g_terminal.saved;
    // Like the agent CLIs: no echo, no line editing, no signals from keys
    // (Ctrl-C is ours to handle) and no output processing (we send \r\n).
    ::cfmakeraw(&raw);
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    if (::tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0) {
        g_terminal.raw = 1;
    }
}

void install_signal_handlers() {
    struct sigaction action {};
    sigemptyset(&action.sa_mask);
    action.sa_handler = on_terminate;
    for (int signal_number : {SIGTERM, SIGHUP, SIGINT, SIGQUIT}) {
        ::sigaction(signal_number, &action, nullptr);
    }
    action.sa_handler = on_resize;
    action.sa_flags = SA_RESTART;
    ::sigaction(SIGWINCH, &action, nullptr);
    // A closed terminal shows up as a failed write, not a death.
    ::signal(SIGPIPE, SIG_IGN);
}

std::pair<int, int> terminal_size() {
    winsize size{};
    if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0 && size.ws_row > 0) {
        return {size.ws_col, size.ws_row};
    }
    return {80, 24};
}

// ---------------------------------------------------------------------------
// The agent

// What the input line holds: one typed character, or one collapsed paste that
// is shown as a placeholder but submitted in full. Backspace removes one piece.
struct Piece {
    std::string shown;
    std::string text;
};

constexpr std::string_view kSpinner[] = {"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"};
constexpr Ms kSpinnerPeriod{100};
constexpr std::size_t kTranscriptLimit = 1000;

class Agent {
public:
    Agent(Options options, int log_fd, Clock::time_point now)
        : options_(std::move(options)), log_fd_(log_fd), decoder_(options_.bracketed_paste),
          started_(now) {
        std::tie(columns_, rows_) = terminal_size();
    }

    // The banner and the modes a starting agent sets; written at once, since
    // --echo-delay only slows what the ready interface draws.
    void start() {
        std::string out;
        if (options_.alt_screen) {
            g_terminal.alt_screen = 1;
            out += "\x1b[?1049h\x1b[H\x1b[2J";
        }
        if (options_.ask_cursor_position) {
            out += "\x1b[6n";
        }
        if (!options_.banner.empty()) {
            for (auto& line : split_lines(options_.banner)) {
                add_transcript(printable(line));
            }
        }
        render();
        out += std::exchange(frame_, {});
        write_all(STDOUT_FILENO, out);
    }

    void on_input(std::string_view bytes, Clock::time_point now) {
        for (unsigned char byte : bytes) {
            // These two drop bytes, not keys, because that is what the real
            // programs do: a key can be lost halfway through its sequence.
            if (last_paste_end_ && now - *last_paste_end_ < options_.ignore_input_after_paste) {
                continue;
            }
            if (options_.drop_input_while_busy && busy_ && now < busy_until_) {
                continue;
            }
            if (auto event = decoder_.feed(byte)) {
                handle(*event, now);
            }
            if (quit_) {
                return;
            }
        }
    }

    void on_timers(Clock::time_point now) {
        if (quit_) {
            return;
        }
        if (!ready_ && start_allowed() && now >= started_ + options_.startup_delay) {
            become_ready();
        }
        if (busy_ && now >= busy_until_) {
            busy_ = false;
            redraw();
        } else if (busy_ && now >= next_spin_) {
            spin_ = (spin_ + 1) % std::size(kSpinner);
            next_spin_ += kSpinnerPeriod;
            redraw();
        }
    }

    void on_resize() {
        std::tie(columns_, rows_) = terminal_size();
        redraw();
    }

    std::optional<Clock::time_point> next_deadline() const {
        std::optional<Clock::time_point> next;
        auto consider = [&](Clock::time_point t) {
            if (!next || t < *next) {
                next = t;
            }
        };
        if (!quit_ && !ready_ && start_allowed()) {
            consider(started_ + options_.startup_delay);
        }
        if (!quit_ && busy_) {
            consider(std::min(busy_until_, next_spin_));
        }
        if (!lagged_.empty()) {
            consider(lagged_.front().first);
        }
        return next;
    }

    // Sends what the last event drew, now or (once the prompt is up)
    // --echo-delay later, and whatever lagging output is due.
    void flush_output(Clock::time_point now) {
        render();
        if (!frame_.empty()) {
            if (options_.echo_delay.count() == 0 || !ready_) {
                write_all(STDOUT_FILENO, frame_);
            } else {
                lagged_.emplace_back(now + options_.echo_delay, std::move(frame_));
            }
            frame_.clear();
        }
        while (!lagged_.empty() && lagged_.front().first <= now) {
            write_all(STDOUT_FILENO, lagged_.front().second);
            lagged_.pop_front();
        }
    }

    void quit(int status, std::string error = {}) {
        quit_ = true;
        exit_status_ = status;
        error_ = std::move(error);
    }

    bool quitting() const { return quit_; }
    // A quitting agent still shows what it drew before it leaves.
    bool finished() const { return quit_ && lagged_.empty(); }
    int exit_status() const { return exit_status_; }
    const std::string& error() const { return error_; }

private:
    bool start_allowed() const { return !options_.ask_cursor_position || cursor_answered_; }

    void become_ready() {
        ready_ = true;
        if (options_.bracketed_paste) {
            g_terminal.paste_mode = 1;
            frame_ += "\x1b[?2004h";
        }
        redraw();
        render();
        // The prompt itself is on time, so that --echo-delay tests the echo
        // and not readiness. Nothing is lagging yet: only a ready agent lags.
        write_all(STDOUT_FILENO, std::exchange(frame_, {}));
    }

    void handle(const InputEvent& event, Clock::time_point now) {
        if (!ready_) {
            // Only the answer to our own query counts before the prompt.
            if (event.kind == InputEvent::Kind::Sequence && event.code == 'R' &&
                options_.ask_cursor_position) {
                cursor_answered_ = true;
            }
            return;
        }
        switch (event.kind) {
        case InputEvent::Kind::Text:
            ctrl_c_armed_ = false;
            insert({event.data == "\t" ? " " : event.data, event.data});
            break;
        case InputEvent::Kind::Control:
            handle_control(event.code, now);
            break;
        case InputEvent::Kind::Sequence:
            // Arrows, function keys, focus in/out: nothing an input line
            // without a cursor needs, and nothing that disarms Ctrl-C.
            break;
        case InputEvent::Kind::Paste:
            ctrl_c_armed_ = false;
            paste(event.data);
            last_paste_end_ = now;
            break;
        }
    }

    void handle_control(unsigned char code, Clock::time_point now) {
        if (code == 0x03) {
            if (ctrl_c_armed_) {
                quit(0);
                return;
            }
            ctrl_c_armed_ = true;
            clear_input();
            redraw();
            return;
        }
        ctrl_c_armed_ = false;
        switch (code) {
        case '\r':
            if (last_paste_end_ && now - *last_paste_end_ < options_.enter_as_newline_within) {
                insert({"\n", "\n"});
            } else {
                submit(now);
            }
            break;
        case '\n':
            insert({"\n", "\n"});
            break;
        case '\t':
            insert({" ", "\t"});
            break;
        case 0x7f:
        case 0x08:
            if (!input_.empty()) {
                input_.pop_back();
            }
            redraw();
            break;
        case 0x15:
            clear_input();
            redraw();
            break;
        default:
            // Other control keys mean nothing here, but a key press still
            // ends a pending "Press Ctrl-C again".
            redraw();
            break;
        }
    }

    void insert(Piece piece) {
        input_.push_back(std::move(piece));
        redraw();
    }

    void paste(std::string_view raw) {
        // Terminals send a pasted newline as CR; keep tabs and newlines and
        // drop the other controls, as the agent CLIs do.
        std::string text;
        for (std::size_t i = 0; i < raw.size(); ++i) {
            char byte = raw[i];
            if (byte == '\r') {
                text += '\n';
                if (i + 1 < raw.size() && raw[i + 1] == '\n') {
                    ++i;
                }
            } else if (byte == '\n' || byte == '\t' ||
                       (static_cast<unsigned char>(byte) >= 0x20 && byte != 0x7f)) {
                text += byte;
            }
        }
        auto pasted = characters(text);
        std::string valid;
        for (const auto& character : pasted) {
            valid += character;
        }
        auto newlines = std::count(valid.begin(), valid.end(), '\n');
        if (options_.collapse_pastes && newlines > 0) {
            ++pastes_in_input_;
            insert({"[Pasted text #" + std::to_string(pastes_in_input_) + " +" +
                        std::to_string(newlines) + " lines]",
                    valid});
            return;
        }
        for (auto& character : pasted) {
            input_.push_back({character == "\t" ? " " : character, character});
        }
        redraw();
    }

    void clear_input() {
        input_.clear();
        pastes_in_input_ = 0;
    }

    void submit(Clock::time_point now) {
        std::string text;
        for (const auto& piece : input_) {
            text += piece.text;
        }
        if (text.empty()) {
            redraw();
            return;
        }
        if (swallowed_ < options_.swallow_enters) {
            ++swallowed_;
            return;
        }
        ++submissions_;
        // The log is the tests' record of what arrived: it is on disk before
        // anything on screen says the message was taken.
        if (log_fd_ >= 0) {
            std::string line = "{\"pid\":" + std::to_string(::getpid()) +
                               ",\"seq\":" + std::to_string(submissions_) +
                               ",\"text\":" + json_string(text) + "}\n";
            if (!write_all(log_fd_, line) || ::fsync(log_fd_) != 0) {
                quit(1, std::string("cannot write the log: ") + std::strerror(errno));
                return;
            }
        }
        clear_input();
        if (options_.busy.count() > 0) {
            busy_ = true;
            busy_until_ = now + options_.busy;
            spin_ = 0;
            next_spin_ = now + kSpinnerPeriod;
        }
        if (options_.no_echo) {
            add_transcript("(submitted #" + std::to_string(submissions_) + ")");
        } else {
            for (const auto& line : split_lines(text)) {
                add_transcript("> " + printable(line));
            }
        }
        if (options_.exit_after > 0 && submissions_ >= options_.exit_after) {
            quit(0);
        }
    }

    // A tab would move the cursor by an amount we do not track.
    static std::string printable(std::string line) {
        std::replace(line.begin(), line.end(), '\t', ' ');
        return line;
    }

    void add_transcript(std::string line) {
        if (options_.alt_screen) {
            transcript_.push_back(std::move(line));
            if (transcript_.size() > kTranscriptLimit) {
                transcript_.erase(transcript_.begin());
            }
            redraw();
            return;
        }
        // On the normal screen the transcript is simply what scrolled above
        // the input area, as with Claude Code and Gemini CLI.
        erase_area();
        frame_ += line + "\r\n";
        redraw();
    }

    // The lines under the transcript: the busy and Ctrl-C lines, if any, then
    // the input line (several if the input holds newlines).
    std::vector<std::string> area_lines() const {
        std::vector<std::string> lines;
        if (busy_) {
            lines.push_back(std::string(kSpinner[spin_]) + " " + options_.busy_text);
        }
        if (ctrl_c_armed_) {
            lines.emplace_back("Press Ctrl-C again to exit");
        }
        std::string shown;
        if (!options_.no_echo) {
            for (const auto& piece : input_) {
                shown += piece.shown;
            }
        }
        std::string indent(static_cast<std::size_t>(display_width(options_.prompt)), ' ');
        auto input_lines = split_lines(shown);
        for (std::size_t i = 0; i < input_lines.size(); ++i) {
            lines.push_back((i == 0 ? options_.prompt : indent) + input_lines[i]);
        }
        return lines;
    }

    int rows_for(std::string_view line) const {
        return std::max(1, (display_width(line) + columns_ - 1) / columns_);
    }

    // Changes only mark the screen out of date; render() draws once per read
    // of input or timer, as a real TUI draws once per frame. Drawing after
    // every byte would make a long typed message cost quadratic time.
    void redraw() { dirty_ = true; }

    void render() {
        if (!dirty_) {
            return;
        }
        dirty_ = false;
        if (options_.alt_screen) {
            redraw_screen();
        } else {
            erase_area();
            draw_area();
        }
    }

    // Normal screen: the cursor ends on the input area's last row, so moving
    // up by the rows it covers and erasing below removes exactly it. After a
    // resize the terminal may have rewrapped those rows; like the real CLIs
    // we accept a stray row then.
    void erase_area() {
        if (area_rows_ == 0) {
            return;
        }
        frame_ += '\r';
        if (area_rows_ > 1) {
            frame_ += "\x1b[" + std::to_string(area_rows_ - 1) + "A";
        }
        frame_ += "\x1b[J";
        area_rows_ = 0;
    }

    void draw_area() {
        if (!ready_) {
            return;
        }
        auto lines = area_lines();
        for (std::size_t i = 0; i < lines.size(); ++i) {
            frame_ += (i == 0 ? "" : "\r\n") + lines[i];
            area_rows_ += rows_for(lines[i]);
        }
    }

    // The last lines that fit in max_rows rows; if not even the last one
    // does, its end (where the cursor is).
    std::vector<std::string> fit_tail(const std::vector<std::string>& lines, int max_rows) const {
        std::vector<std::string> kept;
        int used = 0;
        for (auto line = lines.rbegin(); line != lines.rend() && used < max_rows; ++line) {
            int rows = rows_for(*line);
            if (used + rows <= max_rows) {
                kept.push_back(*line);
                used += rows;
                continue;
            }
            if (kept.empty()) {
                auto chars = characters(*line);
                std::string tail;
                int width = 0;
                for (auto c = chars.rbegin(); c != chars.rend(); ++c) {
                    width += character_width(*c);
                    if (width > max_rows * columns_) {
                        break;
                    }
                    tail.insert(0, *c);
                }
                kept.push_back(std::move(tail));
            }
            break;
        }
        std::reverse(kept.begin(), kept.end());
        return kept;
    }

    // Alternate screen: clear and draw everything, like Codex's full redraws.
    // Each line is placed with an absolute cursor move, so a miscounted wide
    // character cannot shift the rest; the last row is never followed by a
    // newline, so the screen never scrolls.
    void redraw_screen() {
        frame_ += "\x1b[H\x1b[2J";
        auto area = ready_ ? fit_tail(area_lines(), rows_) : std::vector<std::string>{};
        int area_rows = 0;
        for (const auto& line : area) {
            area_rows += rows_for(line);
        }
        int row = 1;
        for (const auto& line : fit_tail(transcript_, rows_ - area_rows)) {
            frame_ += "\x1b[" + std::to_string(row) + ";1H" + line;
            row += rows_for(line);
        }
        row = rows_ - area_rows + 1;
        for (const auto& line : area) {
            frame_ += "\x1b[" + std::to_string(row) + ";1H" + line;
            row += rows_for(line);
        }
    }

    Options options_;
    int log_fd_;
    InputDecoder decoder_;
    Clock::time_point started_;
    int columns_ = 80;
    int rows_ = 24;

    bool ready_ = false;
    bool cursor_answered_ = false;
    std::vector<Piece> input_;
    int pastes_in_input_ = 0;
    std::optional<Clock::time_point> last_paste_end_;
    bool ctrl_c_armed_ = false;
    long submissions_ = 0;
    long swallowed_ = 0;

    bool busy_ = false;
    Clock::time_point busy_until_;
    Clock::time_point next_spin_;
    std::size_t spin_ = 0;

    std::vector<std::string> transcript_; // --alt-screen only
    bool dirty_ = false;                  // the screen does not show the state yet
    int area_rows_ = 0;                   // normal screen: rows the input area covers
    std::string frame_;                   // output of the event being handled
    std::deque<std::pair<Clock::time_point, std::string>> lagged_; // --echo-delay

    bool quit_ = false;
    int exit_status_ = 0;
    std::string error_;
};

int run(const Options& options) {
    int log_fd = -1;
    if (!options.log_path.empty()) {
        log_fd = ::open(options.log_path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (log_fd < 0) {
            std::fprintf(stderr, "fake_agent: --log %s: %s\n", options.log_path.c_str(),
                         std::strerror(errno));
            return 2;
        }
    }
    int wake[2];
    if (::pipe2(wake, O_NONBLOCK | O_CLOEXEC) != 0) {
        std::fprintf(stderr, "fake_agent: pipe: %s\n", std::strerror(errno));
        return 1;
    }
    g_terminal.wake_fd = wake[1];

    install_signal_handlers();
    enter_raw_mode();
    Agent agent(options, log_fd, Clock::now());
    agent.start();

    while (true) {
        auto now = Clock::now();
        agent.on_timers(now);
        agent.flush_output(now);
        if (agent.finished()) {
            break;
        }

        int timeout = -1;
        if (auto deadline = agent.next_deadline()) {
            auto wait = std::chrono::ceil<Ms>(*deadline - now).count();
            timeout = static_cast<int>(std::clamp<decltype(wait)>(wait, 0, 60'000));
        }
        pollfd fds[2] = {{wake[0], POLLIN, 0}, {STDIN_FILENO, POLLIN, 0}};
        // A quitting agent reads no more input; it only waits for its output.
        int ready = ::poll(fds, agent.quitting() ? 1 : 2, timeout);
        if (ready < 0 && errno != EINTR) {
            agent.quit(1, std::string("poll: ") + std::strerror(errno));
            continue;
        }
        now = Clock::now();
        // Drain the wake pipe first and only then look at the flag: a
        // SIGWINCH in between is then handled now, and its byte only wakes
        // the next poll once, instead of being left there to spin on.
        if (fds[0].revents != 0) {
            char drain[64];
            while (::read(wake[0], drain, sizeof drain) > 0) {
            }
        }
        if (g_terminal.resized) {
            g_terminal.resized = 0;
            agent.on_resize();
        }
        if (ready > 0 && !agent.quitting() && fds[1].revents != 0) {
            char buffer[4096];
            ssize_t got = ::read(STDIN_FILENO, buffer, sizeof buffer);
            if (got > 0) {
                agent.on_input(std::string_view(buffer, static_cast<std::size_t>(got)), now);
            } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
                // End of input (EOF, or EIO once the terminal hangs up).
                agent.quit(0);
            }
        }
    }

    restore_terminal();
    if (!agent.error().empty()) {
        std::fprintf(stderr, "fake_agent: %s\n", agent.error().c_str());
    }
    return agent.exit_status();
}

} // namespace

int main(int argc, char** argv) {
    Options options;
    try {
        options = parse_options(argc, argv);
    } catch (const UsageError& error) {
        std::fprintf(stderr, "fake_agent: %s\nTry 'fake_agent --help'.\n", error.what());
        return 2;
    }
    if (options.help) {
        std::fwrite(kUsage.data(), 1, kUsage.size(), stdout);
        return 0;
    }
    // wcwidth needs a UTF-8 locale to count columns as the terminal does.
    std::setlocale(LC_CTYPE, "C.UTF-8");
    return run(options);
}
