#include "client/attach/input.hpp"

#include <charconv>

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

// A complete CSI sequence `sequence` (ESC [ ... final) as an event.
InputEvent csi_event(std::string_view sequence) {
    const std::string_view body = sequence.substr(2, sequence.size() - 3);
    const char final = sequence.back();
    if (body.empty() && final == 'I') {
        return {.kind = InputEvent::Kind::FocusIn};
    }
    if (body.empty() && final == 'O') {
        return {.kind = InputEvent::Kind::FocusOut};
    }
    if (cursor_final(final)) {
        if (body.empty()) {
            return {.kind = InputEvent::Kind::CursorKey, .key = final};
        }
        const auto parts = split(body, ';');
        int first = 0;
        int modifier = 0;
        if (parts.size() == 2 && parse_int(parts[0], first) && first == 1 &&
            parse_int(parts[1], modifier)) {
            return {.kind = InputEvent::Kind::CursorKey, .key = final, .modifier = modifier};
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
    return {.kind = InputEvent::Kind::Bytes, .bytes = std::string(sequence)};
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
            if (event.kind == InputEvent::Kind::Bytes) {
                append_bytes(events, event.bytes);
            } else {
                events.push_back(std::move(event));
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
        append_bytes(events, std::string_view(data).substr(at, kind == '\x1b' ? 1 : 2));
        at += kind == '\x1b' ? 1 : 2;
    }
    return events;
}

std::vector<InputEvent> InputParser::flush() {
    std::vector<InputEvent> events;
    if (!partial_.empty() && !in_paste_) {
        append_bytes(events, partial_);
        partial_.clear();
    }
    return events;
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
