#include "worker/keys.hpp"

#include <array>
#include <cctype>
#include <optional>

#include "util/strings.hpp"

namespace sb::worker {

namespace {

struct Modifiers {
    bool ctrl = false;
    bool meta = false;
    bool shift = false;
    // xterm's modifier parameter: 1 + shift + 2*alt + 4*ctrl.
    int parameter() const { return 1 + (shift ? 1 : 0) + (meta ? 2 : 0) + (ctrl ? 4 : 0); }
    bool any() const { return ctrl || meta || shift; }
};

bool equals_ignoring_case(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(a[i])) !=
            std::tolower(static_cast<unsigned char>(b[i]))) {
            return false;
        }
    }
    return true;
}

// Cursor-style keys: CSI <final>, SS3 <final> in application mode, and
// CSI 1 ; <mod> <final> with modifiers.
std::string cursor_key(char final, bool application, const Modifiers& mods) {
    if (mods.any()) {
        return "\x1b[1;" + std::to_string(mods.parameter()) + final;
    }
    return application ? std::string("\x1bO") + final : std::string("\x1b[") + final;
}

// Tilde keys: CSI <n> ~ and CSI <n> ; <mod> ~.
std::string tilde_key(int number, const Modifiers& mods) {
    if (mods.any()) {
        return "\x1b[" + std::to_string(number) + ";" + std::to_string(mods.parameter()) + "~";
    }
    return "\x1b[" + std::to_string(number) + "~";
}

std::string function_key(int n, const Modifiers& mods) {
    if (n <= 4) {
        const char final = static_cast<char>('P' + n - 1);
        if (mods.any()) {
            return "\x1b[1;" + std::to_string(mods.parameter()) + final;
        }
        return std::string("\x1bO") + final;
    }
    static constexpr std::array<int, 8> numbers = {15, 17, 18, 19, 20, 21, 23, 24};
    return tilde_key(numbers[static_cast<std::size_t>(n - 5)], mods);
}

// A named key with modifiers applied, or empty when `name` names none.
std::string named_key(std::string_view name, const Modifiers& mods, const KeyModes& modes) {
    const auto with_meta = [&](std::string bytes) { return mods.meta ? "\x1b" + bytes : bytes; };
    if (equals_ignoring_case(name, "Enter")) {
        return with_meta("\r");
    }
    if (equals_ignoring_case(name, "Escape") || equals_ignoring_case(name, "Esc")) {
        return with_meta("\x1b");
    }
    if (equals_ignoring_case(name, "Tab")) {
        return mods.shift ? "\x1b[Z" : with_meta("\t");
    }
    if (equals_ignoring_case(name, "BTab")) {
        return "\x1b[Z";
    }
    if (equals_ignoring_case(name, "BSpace")) {
        return with_meta(mods.ctrl ? "\x08" : "\x7f");
    }
    if (equals_ignoring_case(name, "Space")) {
        return with_meta(mods.ctrl ? std::string(1, '\0') : " ");
    }
    const bool app = modes.application_cursor;
    if (equals_ignoring_case(name, "Up")) {
        return cursor_key('A', app, mods);
    }
    if (equals_ignoring_case(name, "Down")) {
        return cursor_key('B', app, mods);
    }
    if (equals_ignoring_case(name, "Right")) {
        return cursor_key('C', app, mods);
    }
    if (equals_ignoring_case(name, "Left")) {
        return cursor_key('D', app, mods);
    }
    if (equals_ignoring_case(name, "Home")) {
        return cursor_key('H', app, mods);
    }
    if (equals_ignoring_case(name, "End")) {
        return cursor_key('F', app, mods);
    }
    if (equals_ignoring_case(name, "PageUp") || equals_ignoring_case(name, "PPage") ||
        equals_ignoring_case(name, "PgUp")) {
        return tilde_key(5, mods);
    }
    if (equals_ignoring_case(name, "PageDown") || equals_ignoring_case(name, "NPage") ||
        equals_ignoring_case(name, "PgDn")) {
        return tilde_key(6, mods);
    }
    if (equals_ignoring_case(name, "Insert") || equals_ignoring_case(name, "IC")) {
        return tilde_key(2, mods);
    }
    if (equals_ignoring_case(name, "Delete") || equals_ignoring_case(name, "DC")) {
        return tilde_key(3, mods);
    }
    if (name.size() >= 2 && (name[0] == 'F' || name[0] == 'f')) {
        int n = 0;
        for (const char c : name.substr(1)) {
            if (!std::isdigit(static_cast<unsigned char>(c))) {
                return {};
            }
            n = n * 10 + (c - '0');
        }
        if (n >= 1 && n <= 12) {
            return function_key(n, mods);
        }
    }
    return {};
}

// A single character with modifiers: C-a is 0x01, M-x is ESC x.
std::string character_key(std::string_view character, const Modifiers& mods) {
    std::string bytes(character);
    if (mods.ctrl && character.size() == 1) {
        const char c = character[0];
        const char lower = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (lower >= 'a' && lower <= 'z') {
            bytes = std::string(1, static_cast<char>(lower - 'a' + 1));
        } else if (c == '@' || c == ' ' || c == '2') {
            bytes = std::string(1, '\0');
        } else if (c >= '[' && c <= '_') {
            bytes = std::string(1, static_cast<char>(c - '@'));
        } else if (c == '?' || c == '8') {
            bytes = "\x7f";
        } else if (c >= '3' && c <= '7') {
            bytes = std::string(1, static_cast<char>(c - '3' + 0x1b));
        }
    }
    if (mods.meta) {
        bytes.insert(bytes.begin(), '\x1b');
    }
    return bytes;
}

// The code point of a key util::encode_text_key encodes: Enter, Tab,
// BSpace, Space, Escape or one character (a letter in lower case, with
// `upper` set for an upper-case one); nothing for other names.
std::optional<char32_t> text_key_code(std::string_view name, bool& upper) {
    upper = false;
    if (equals_ignoring_case(name, "Enter")) {
        return 13;
    }
    if (equals_ignoring_case(name, "Escape") || equals_ignoring_case(name, "Esc")) {
        return 27;
    }
    if (equals_ignoring_case(name, "Tab")) {
        return 9;
    }
    if (equals_ignoring_case(name, "BSpace")) {
        return 127;
    }
    if (equals_ignoring_case(name, "Space")) {
        return U' ';
    }
    const auto length = util::utf8_sequence_length(static_cast<unsigned char>(name[0]));
    // utf8_sequence_length counts a byte that cannot start a sequence as
    // one: such a byte is typed as it is, not taken for a code point.
    if (name.size() != length || (length == 1 && static_cast<unsigned char>(name[0]) >= 0x80)) {
        return std::nullopt;
    }
    if (length == 1) {
        const char c = name[0];
        if (c >= 'A' && c <= 'Z') {
            upper = true;
            return static_cast<char32_t>(c - 'A' + 'a');
        }
        return static_cast<char32_t>(static_cast<unsigned char>(c));
    }
    char32_t code = static_cast<unsigned char>(name[0]) & (0x7f >> length);
    for (std::size_t i = 1; i < length; ++i) {
        code = (code << 6) | (static_cast<unsigned char>(name[i]) & 0x3f);
    }
    return code;
}

// A key under a keyboard protocol, or nothing when it is not one of those
// the protocol changes.
std::optional<std::string> protocol_key(std::string_view name, const Modifiers& mods,
                                        const util::KeyboardProtocols& protocols) {
    if ((protocols.kitty_keyboard_flags & 1) == 0 && protocols.modify_other_keys == 0) {
        return std::nullopt;
    }
    int bits = (mods.shift ? util::kShift : 0) | (mods.meta ? util::kAlt : 0) |
               (mods.ctrl ? util::kCtrl : 0);
    bool upper = false;
    std::optional<char32_t> code;
    if (equals_ignoring_case(name, "BTab")) {
        code = 9;
        bits |= util::kShift;
    } else {
        code = text_key_code(name, upper);
    }
    if (!code) {
        return std::nullopt;
    }
    char32_t shifted = 0;
    if (upper) {
        // As tmux reads them: C-A is C-a, and A on its own or with Alt is the
        // shifted letter.
        shifted = *code - U'a' + U'A';
        if (!mods.ctrl) {
            bits |= util::kShift;
        }
    }
    return util::encode_text_key(*code, shifted, bits, protocols);
}

} // namespace

std::string encode_key(std::string_view name, const KeyModes& modes) {
    Modifiers mods;
    std::string_view rest = name;
    // Modifier prefixes, as many as given: C-M-x, M-C-Up, S-F5.
    while (rest.size() > 2 && rest[1] == '-') {
        const char m = rest[0];
        if (m == 'C' || m == 'c') {
            mods.ctrl = true;
        } else if (m == 'M' || m == 'm') {
            mods.meta = true;
        } else if (m == 'S' || m == 's') {
            mods.shift = true;
        } else {
            break;
        }
        rest.remove_prefix(2);
    }
    if (rest.empty()) {
        return std::string(name);
    }
    if (auto bytes = protocol_key(rest, mods, modes.protocols)) {
        return *bytes;
    }
    if (auto bytes = named_key(rest, mods, modes); !bytes.empty()) {
        return bytes;
    }
    if (rest.size() == util::utf8_sequence_length(static_cast<unsigned char>(rest[0]))) {
        if (mods.shift && rest.size() == 1) {
            return character_key(std::string(1, static_cast<char>(std::toupper(
                                                    static_cast<unsigned char>(rest[0])))),
                                 Modifiers{mods.ctrl, mods.meta, false});
        }
        return character_key(rest, mods);
    }
    // Not a key: like tmux send-keys, the word is sent as text.
    return std::string(name);
}

} // namespace sb::worker
