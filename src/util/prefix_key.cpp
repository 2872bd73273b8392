#include "util/prefix_key.hpp"

namespace sb::util {

namespace {

std::string byte(int value) {
    return std::string(1, static_cast<char>(value));
}

} // namespace

std::optional<std::string> prefix_key_bytes(std::string_view name) {
    if (name.size() == 1 && name[0] > 0x20 && name[0] < 0x7f) {
        return std::string(name);
    }
    if (name.size() == 3 && name.substr(0, 2) == "M-" && name[2] > 0x20 && name[2] < 0x7f) {
        return "\x1b" + std::string(1, name[2]);
    }
    if (name.size() < 3 || (name.substr(0, 2) != "C-" && name.substr(0, 2) != "c-")) {
        return std::nullopt;
    }
    const std::string_view key = name.substr(2);
    if (key == "Space" || key == "space") {
        return byte(0);
    }
    if (key.size() != 1) {
        return std::nullopt;
    }
    const char c = key[0];
    if (c >= 'a' && c <= 'z') {
        return byte(c - 'a' + 1);
    }
    if (c >= 'A' && c <= 'Z') {
        return byte(c - 'A' + 1);
    }
    if (c == '@' || c == '[' || c == '\\' || c == ']' || c == '^' || c == '_') {
        return byte(c - '@');
    }
    return std::nullopt;
}

} // namespace sb::util
