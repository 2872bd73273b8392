#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace sb::util {

// The bytes a prefix key named like tmux names keys sends: "C-b" (Ctrl with
// a letter or one of @ [ \ ] ^ _), "C-Space", "M-a" (Escape then the
// character), or one printable ASCII character ("`"). Nothing for any other
// name (switchboard.yaml(5), attach.prefix).
std::optional<std::string> prefix_key_bytes(std::string_view name);

} // namespace sb::util
