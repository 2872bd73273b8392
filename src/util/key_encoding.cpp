#include "util/key_encoding.hpp"

#include <cstdint>
#include <optional>

#include "util/strings.hpp"

namespace sb::util {

namespace {

// The byte Ctrl makes of a key in a legacy terminal (xterm's table), or
// nothing when Ctrl does not change it.
std::optional<char> control_byte(char32_t c) {
    if (c >= U'a' && c <= U'z') {
        return static_cast<char>(c - U'a' + 1);
    }
    switch (c) {
    case U'@':
    case U' ':
    case U'2':
        return '\x00';
    case U'[':
    case U'3':
        return '\x1b';
    case U'\\':
    case U'4':
        return '\x1c';
    case U']':
    case U'5':
        return '\x1d';
    case U'^':
    case U'6':
    case U'~':
        return '\x1e';
    case U'_':
    case U'7':
    case U'/':
        return '\x1f';
    case U'8':
    case U'?':
        return '\x7f';
    default:
        return std::nullopt;
    }
}

bool functional_key(char32_t code) {
    return code == 27 || code == 13 || code == 9 || code == 127;
}

// What the key types: its shifted character with Shift.
char32_t key_text(char32_t code, char32_t shifted, int mods) {
    if ((mods & kShift) == 0) {
        return code;
    }
    if (shifted != 0) {
        return shifted;
    }
    return code >= U'a' && code <= U'z' ? code - U'a' + U'A' : code;
}

// Whether a legacy terminal sends this key with all its modifiers, so that
// modifyOtherKeys 1 leaves it alone.
bool legacy_exact(char32_t code, int mods) {
    if ((mods & ~(kShift | kAlt | kCtrl)) != 0) {
        return false;
    }
    if (functional_key(code)) {
        return (mods & ~kAlt) == 0 || (code == 9 && (mods & ~kAlt) == kShift);
    }
    if ((mods & kCtrl) == 0) {
        return true;
    }
    return (mods & kShift) == 0 && control_byte(code).has_value();
}

std::string legacy_key(char32_t code, char32_t shifted, int mods) {
    std::string out = (mods & kAlt) != 0 ? "\x1b" : "";
    switch (code) {
    case 13:
        return out + "\r";
    case 9:
        return out + ((mods & kShift) != 0 ? "\x1b[Z" : "\t");
    case 127:
        return out + ((mods & kCtrl) != 0 ? "\x08" : "\x7f");
    case 27:
        return out + "\x1b";
    default:
        break;
    }
    if ((mods & kCtrl) != 0) {
        if (const auto byte = control_byte(code)) {
            return out + *byte;
        }
    }
    append_utf8(out, key_text(code, shifted, mods));
    return out;
}

} // namespace

std::string encode_text_key(char32_t code, char32_t shifted, int mods,
                            const KeyboardProtocols& protocols) {
    const bool functional = functional_key(code);
    if ((protocols.kitty_keyboard_flags & 1) != 0) {
        const bool escaped =
            code == 27 || (functional && mods != 0) || (!functional && (mods & ~kShift) != 0);
        if (escaped) {
            std::string out = "\x1b[" + std::to_string(static_cast<std::uint32_t>(code));
            if (mods != 0) {
                out += ";" + std::to_string(mods + 1);
            }
            return out + "u";
        }
        return legacy_key(code, shifted, mods);
    }
    const bool plain = mods == 0 || (mods == kShift && !functional);
    if (!plain && (protocols.modify_other_keys >= 2 ||
                   (protocols.modify_other_keys == 1 && !legacy_exact(code, mods)))) {
        const char32_t reported = functional ? code : key_text(code, shifted, mods);
        return "\x1b[27;" + std::to_string(mods + 1) + ";" +
               std::to_string(static_cast<std::uint32_t>(reported)) + "~";
    }
    return legacy_key(code, shifted, mods);
}

} // namespace sb::util
