#include "client/attach/input.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <optional>

namespace sb::client::attach {

namespace {

constexpr std::string_view paste_begin = "\x1b[200~";
constexpr std::string_view paste_end = "\x1b[201~";

bool parse_int(std::string_view text, int& out) {
    if (text.empty()) {
        return false;
    }
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
    return error == std::errc() && end == text.data() + text.size();
}

std::vector<std::string_view> split(std::string_view text, char separator) {
    std::vector<std::string_view> parts;
    std::size_t start = 0;
    while (true) {
        const auto at = text.find(separator, start);
        parts.push_back(text.substr(start, at == std::string_view::npos ? at : at - start));
        if (at == std::string_view::npos) {
            return parts;
        }
        start = at + 1;
    }
}

// SS3 finals of keypad keys and what the keys send in numeric mode.
constexpr std::string_view keypad_finals = "jklmnopqrstuvwxyMX";
constexpr std::string_view keypad_numeric = "*+,-./0123456789\r=";

bool cursor_final(char c) {
    return c == 'A' || c == 'B' || c == 'C' || c == 'D' || c == 'H' || c == 'F';
}

void append_bytes(std::vector<InputEvent>& events, std::string_view bytes) {
    if (!events.empty() && events.back().kind == InputEvent::Kind::Bytes) {
        events.back().bytes += bytes;
        return;
    }
    events.push_back({.kind = InputEvent::Kind::Bytes, .bytes = std::string(bytes)});
}

// Letters come from some terminals in upper case with Shift (tmux: `CSI 65
// ; 6 u` for Ctrl+Shift+a, xterm: `CSI 27 ; 6 ; 65 ~`); a Key event names
// the key in lower case and keeps the upper case as what it types shifted.
InputEvent key_event(char32_t code, char32_t shifted, int modifier) {
    if (modifier < 1) {
        modifier = 1;
    }
    if (code >= U'A' && code <= U'Z') {
        shifted = code;
        code = code - U'A' + U'a';
        modifier = ((modifier - 1) | kShift) + 1;
    } else if (shifted == 0 && code >= U'a' && code <= U'z' && ((modifier - 1) & kShift) != 0) {
        shifted = code - U'a' + U'A';
    }
    return {.kind = InputEvent::Kind::Key, .modifier = modifier, .code = code, .shifted = shifted};
}

// kitty's code points for keypad keys (57399 KP_0 ... 57427 KP_BEGIN), which
// its flag 1 reports apart from the main keys: the SS3 final of the key in
// application keypad mode, or what the key does otherwise.
constexpr std::string_view kitty_keypad_finals = "pqrstuvwxynojmkMXl";
constexpr char32_t kitty_keypad_first = 57399;

std::optional<InputEvent> kitty_keypad_event(char32_t code) {
    const auto index = static_cast<std::size_t>(code - kitty_keypad_first);
    if (index < kitty_keypad_finals.size()) {
        return InputEvent{.kind = InputEvent::Kind::KeypadKey, .key = kitty_keypad_finals[index]};
    }
    // KP_LEFT, KP_RIGHT, KP_UP, KP_DOWN, KP_PAGE_UP, KP_PAGE_DOWN, KP_HOME,
    // KP_END, KP_INSERT, KP_DELETE, KP_BEGIN: what the main keys send.
    constexpr std::array<std::string_view, 11> others = {
        "D", "C", "A", "B", "\x1b[5~", "\x1b[6~", "H", "F", "\x1b[2~", "\x1b[3~", "\x1b[E"};
    const std::size_t other = index - kitty_keypad_finals.size();
    if (other >= others.size()) {
        return std::nullopt; // modifier keys, media keys: not asked for
    }
    if (others[other].size() == 1) {
        return InputEvent{.kind = InputEvent::Kind::CursorKey, .key = others[other][0]};
    }
    return InputEvent{.kind = InputEvent::Kind::Bytes, .bytes = std::string(others[other])};
}

// kitty's `CSI code[:shifted[:base]] [; modifier[:event] [; text]] u`.
std::optional<InputEvent> kitty_key_event(std::string_view sequence, std::string_view body) {
    const InputEvent as_is{.kind = InputEvent::Kind::Bytes, .bytes = std::string(sequence)};
    const auto fields = split(body, ';');
    const auto codes = split(fields[0], ':');
    int code = 0;
    int shifted = 0;
    if (!parse_int(codes[0], code) || code <= 0 || code > 0x10ffff ||
        (codes.size() > 1 && !codes[1].empty() && !parse_int(codes[1], shifted))) {
        return as_is;
    }
    int modifier = 1;
    int event_type = 1;
    if (fields.size() > 1 && !fields[1].empty()) {
        const auto parts = split(fields[1], ':');
        if (!parse_int(parts[0], modifier) ||
            (parts.size() > 1 && !parse_int(parts[1], event_type))) {
            return as_is;
        }
    }
    if (event_type == 3) {
        return std::nullopt; // a release: only sent when asked for (flag 2)
    }
    if (code >= 57344 && code <= 63743) { // the private use area: keypad and the like
        return kitty_keypad_event(static_cast<char32_t>(code));
    }
    return key_event(static_cast<char32_t>(code),
                     shifted > 0 && shifted <= 0x10ffff ? static_cast<char32_t>(shifted) : 0,
                     modifier);
}

// A complete CSI sequence `sequence` (ESC [ ... final) as an event; nothing
// for one that says nothing the worker needs (a key release).
std::optional<InputEvent> csi_event(std::string_view sequence) {
    const std::string_view body = sequence.substr(2, sequence.size() - 3);
    const char final = sequence.back();
    if (body.empty() && final == 'I') {
        return InputEvent{.kind = InputEvent::Kind::FocusIn};
    }
    if (body.empty() && final == 'O') {
        return InputEvent{.kind = InputEvent::Kind::FocusOut};
    }
    if (cursor_final(final)) {
        if (body.empty()) {
            return InputEvent{.kind = InputEvent::Kind::CursorKey, .key = final};
        }
        const auto parts = split(body, ';');
        int first = 0;
        int modifier = 0;
        if (parts.size() == 2 && parse_int(parts[0], first) && first == 1 &&
            parse_int(parts[1], modifier)) {
            return InputEvent{
                .kind = InputEvent::Kind::CursorKey, .key = final, .modifier = modifier};
        }
    }
    if (body.empty() && (final == 'P' || final == 'Q' || final == 'S')) {
        // F1, F2, F4 as kitty's protocol sends them: as xterm does (the
        // workers' TERM is xterm-256color).
        return InputEvent{.kind = InputEvent::Kind::Bytes, .bytes = std::string("\x1bO") + final};
    }
    if (final == '~' && body.size() == 2 && body[0] == '1' && body[1] >= '1' && body[1] <= '4') {
        // F1 to F4 in the VT220 form (kitty's F3, rxvt's): as xterm sends them.
        return InputEvent{.kind = InputEvent::Kind::Bytes,
                          .bytes = std::string("\x1bO") + static_cast<char>('P' + body[1] - '1')};
    }
    if (final == 'u' && !body.empty() && body.front() >= '0' && body.front() <= '9') {
        return kitty_key_event(sequence, body);
    }
    if (final == '~' && body.starts_with("27;")) {
        const auto parts = split(body, ';');
        int modifier = 0;
        int code = 0;
        if (parts.size() == 3 && parse_int(parts[1], modifier) && parse_int(parts[2], code) &&
            code > 0 && code <= 0x10ffff) {
            return key_event(static_cast<char32_t>(code), 0, modifier);
        }
    }
    if ((final == 'M' || final == 'm') && !body.empty() && body.front() == '<') {
        const auto parts = split(body.substr(1), ';');
        InputEvent mouse{.kind = InputEvent::Kind::Mouse, .release = final == 'm'};
        if (parts.size() == 3 && parse_int(parts[0], mouse.button) &&
            parse_int(parts[1], mouse.col) && parse_int(parts[2], mouse.row)) {
            return mouse;
        }
    }
    return InputEvent{.kind = InputEvent::Kind::Bytes, .bytes = std::string(sequence)};
}

// ESC then `byte`, as a legacy terminal sends Alt with a key: the key, or
// nothing when the byte is no key of its own.
std::optional<InputEvent> alt_key_event(unsigned char byte) {
    const int alt = kAlt + 1;
    switch (byte) {
    case '\r':
        return key_event(13, 0, alt);
    case '\t':
        return key_event(9, 0, alt);
    case 0x7f:
        return key_event(127, 0, alt);
    default:
        break;
    }
    if (byte >= 0x20 && byte < 0x7f) {
        return key_event(byte, 0, alt);
    }
    if (byte >= 0x01 && byte <= 0x1a) {
        return key_event(U'a' + byte - 1, 0, alt + kCtrl);
    }
    return std::nullopt;
}

} // namespace

std::vector<InputEvent> InputParser::feed(std::string_view input) {
    std::string data = std::move(partial_);
    partial_.clear();
    data += input;
    std::vector<InputEvent> events;
    std::size_t at = 0;
    while (at < data.size()) {
        if (in_paste_) {
            const auto end = data.find(paste_end, at);
            if (end == std::string::npos) {
                // Keep what could be the start of the end marker.
                std::size_t keep = 0;
                for (std::size_t n = std::min(paste_end.size() - 1, data.size() - at); n > 0; --n) {
                    if (std::string_view(data).substr(data.size() - n) == paste_end.substr(0, n)) {
                        keep = n;
                        break;
                    }
                }
                paste_.append(data, at, data.size() - at - keep);
                partial_ = data.substr(data.size() - keep);
                return events;
            }
            paste_.append(data, at, end - at);
            events.push_back({.kind = InputEvent::Kind::Paste, .bytes = std::move(paste_)});
            paste_.clear();
            in_paste_ = false;
            at = end + paste_end.size();
            continue;
        }
        const char c = data[at];
        if (c != '\x1b') {
            const auto next = data.find('\x1b', at);
            const auto end = next == std::string::npos ? data.size() : next;
            append_bytes(events, std::string_view(data).substr(at, end - at));
            at = end;
            continue;
        }
        if (at + 1 >= data.size()) {
            partial_ = data.substr(at);
            return events;
        }
        const char kind = data[at + 1];
        if (kind == '[') {
            std::size_t end = at + 2;
            while (end < data.size() && (static_cast<unsigned char>(data[end]) < 0x40 ||
                                         static_cast<unsigned char>(data[end]) > 0x7e)) {
                ++end;
            }
            if (end >= data.size()) {
                partial_ = data.substr(at);
                return events;
            }
            const std::string_view sequence = std::string_view(data).substr(at, end + 1 - at);
            at = end + 1;
            if (sequence == paste_begin) {
                in_paste_ = true;
                continue;
            }
            auto event = csi_event(sequence);
            if (!event) {
                continue;
            }
            if (event->kind == InputEvent::Kind::Bytes) {
                append_bytes(events, event->bytes);
            } else {
                events.push_back(std::move(*event));
            }
            continue;
        }
        if (kind == 'O') {
            if (at + 2 >= data.size()) {
                partial_ = data.substr(at);
                return events;
            }
            const char final = data[at + 2];
            if (cursor_final(final)) {
                events.push_back({.kind = InputEvent::Kind::CursorKey, .key = final});
            } else if (keypad_finals.find(final) != std::string_view::npos) {
                events.push_back({.kind = InputEvent::Kind::KeypadKey, .key = final});
            } else {
                append_bytes(events, std::string_view(data).substr(at, 3));
            }
            at += 3;
            continue;
        }
        // Alt with a key, or Escape then Escape.
        if (kind == '\x1b') {
            events.push_back(key_event(27, 0, 1)); // Escape, then whatever follows
            at += 1;
        } else if (auto alt = alt_key_event(static_cast<unsigned char>(kind))) {
            events.push_back(*alt);
            at += 2;
        } else {
            append_bytes(events, std::string_view(data).substr(at, 2));
            at += 2;
        }
    }
    return events;
}

std::vector<InputEvent> InputParser::flush() {
    std::vector<InputEvent> events;
    if (partial_ == "\x1b" && !in_paste_) {
        events.push_back(key_event(27, 0, 1)); // the Escape key, nothing after it
        partial_.clear();
    } else if (!partial_.empty() && !in_paste_) {
        append_bytes(events, partial_);
        partial_.clear();
    }
    return events;
}

std::string encode_key(const InputEvent& key, const WorkerModes& modes) {
    // Lock keys change no encoding here; kitty reports them only with flags
    // switchboard does not implement.
    const int mods = std::max(key.modifier - 1, 0) & ~(kCapsLock | kNumLock);
    return util::encode_text_key(key.code, key.shifted, mods,
                                 {.kitty_keyboard_flags = modes.kitty_keyboard_flags,
                                  .modify_other_keys = modes.modify_other_keys});
}

std::string encode_cursor_key(char key, int modifier, const WorkerModes& modes) {
    if (modifier <= 1) {
        return std::string(modes.application_cursor_keys ? "\x1bO" : "\x1b[") + key;
    }
    return "\x1b[1;" + std::to_string(modifier) + key;
}

std::string encode_keypad_key(char key, const WorkerModes& modes) {
    const auto at = keypad_finals.find(key);
    if (at == std::string_view::npos) {
        return {};
    }
    if (modes.application_keypad) {
        return std::string("\x1bO") + key;
    }
    return std::string(1, keypad_numeric[at]);
}

std::string encode_paste(std::string_view text, const WorkerModes& modes) {
    std::string body(text);
    for (auto at = body.find(paste_end); at != std::string::npos; at = body.find(paste_end)) {
        body.erase(at, paste_end.size());
    }
    if (!modes.bracketed_paste) {
        return body;
    }
    return std::string(paste_begin) + body + std::string(paste_end);
}

std::string encode_mouse(const InputEvent& event, int col, int row, const WorkerModes& modes) {
    const bool motion = (event.button & 32) != 0;
    const bool any_button = (event.button & 3) != 3;
    if (modes.mouse == "none" || (motion && modes.mouse == "click") ||
        (motion && !any_button && modes.mouse != "motion")) {
        return {};
    }
    if (event.release && motion) {
        return {};
    }
    if (modes.mouse_encoding == "sgr") {
        return "\x1b[<" + std::to_string(event.button) + ";" + std::to_string(col) + ";" +
               std::to_string(row) + (event.release ? "m" : "M");
    }
    // The older encodings say "released" with button 3 and no which.
    const int button = event.release ? (event.button & ~3) | 3 : event.button;
    if (modes.mouse_encoding == "urxvt") {
        return "\x1b[" + std::to_string(button + 32) + ";" + std::to_string(col) + ";" +
               std::to_string(row) + "M";
    }
    const auto put = [&](std::string& out, int value) {
        if (modes.mouse_encoding == "utf8" && value >= 128) {
            out += static_cast<char>(0xc0 | (value >> 6));
            out += static_cast<char>(0x80 | (value & 0x3f));
        } else {
            out += static_cast<char>(value);
        }
    };
    const int limit = modes.mouse_encoding == "utf8" ? 2015 : 223;
    if (col > limit || row > limit) {
        return {};
    }
    std::string out = "\x1b[M";
    put(out, button + 32);
    put(out, col + 32);
    put(out, row + 32);
    return out;
}

} // namespace sb::client::attach
