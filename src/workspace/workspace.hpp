#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sb::workspace {

using Milliseconds = std::chrono::milliseconds;

// The schema version this build reads; a file's `version` must equal it.
inline constexpr int schema_version = 1;

enum class RestartPolicy { Never, OnFailure, Always };

struct Size {
    int cols = 120;
    int rows = 40;
    bool operator==(const Size&) const = default;
};

struct ThrottleSettings {
    Milliseconds min{100};
    Milliseconds max{5000};
    bool operator==(const ThrottleSettings&) const = default;
};

struct DeliverySettings {
    int max_pending = 256;
    Milliseconds idle{500};
    Milliseconds verify_timeout{5000};
    // Unset: the profile's own delay (each agent CLI needs a different one).
    std::optional<Milliseconds> enter_delay;
    // Unset: the profile's own pause between the header and the body.
    std::optional<Milliseconds> body_delay;
    // Unset: the profile's own times to wait for a typed message to leave
    // the composer and for the agent to show it took it (0: not followed).
    std::optional<Milliseconds> submit_timeout;
    std::optional<Milliseconds> accept_timeout;
    ThrottleSettings throttle;
    // A person's keystroke in an attached pane holds injection this long.
    Milliseconds hold{3000};
    // Ready anyway this long after a start when the ready pattern never shows.
    Milliseconds ready_timeout{10000};
    // The most a message body may be, in bytes.
    std::size_t max_body = 64 * 1024;
    // Overrides of the profile's fields; unset means the profile's own value.
    // Patterns are ECMAScript regular expressions (checked when loading).
    std::optional<std::string> ready_pattern;
    std::optional<std::string> busy_pattern;
    std::optional<std::string> placeholder_pattern;
    std::optional<std::string> composer_pattern;
    // A key name from submit_key_names.
    std::optional<std::string> submit_key;
    std::optional<bool> paste;
    std::optional<bool> header;
    std::optional<bool> queues_input;
    std::optional<bool> wait_for_echo;
    bool operator==(const DeliverySettings&) const = default;
};

// The keys `delivery.submit_key` accepts, and the bytes each one sends.
inline constexpr std::pair<std::string_view, std::string_view> submit_keys[] = {
    {"Enter", "\r"}, {"C-m", "\r"}, {"C-j", "\n"}, {"Tab", "\t"}};

// The bytes of a submit key name ("" for a name that is not one).
constexpr std::string_view submit_key_bytes(std::string_view name) {
    for (const auto& [key, bytes] : submit_keys) {
        if (key == name) {
            return bytes;
        }
    }
    return {};
}

// An ordered environment: later entries override earlier ones of the same name.
using Environment = std::map<std::string, std::string>;

// Settings every worker has; `defaults` gives them to all workers and each
// worker may override any of them.
struct WorkerSettings {
    Size size;
    int scrollback = 10000;
    Environment env;
    RestartPolicy restart = RestartPolicy::OnFailure;
    Milliseconds stop_timeout{10000};
    std::string profile = "generic";
    DeliverySettings delivery;
    bool operator==(const WorkerSettings&) const = default;
};

// A list is exec'd as it is; a string runs through `$SHELL -c`.
struct Command {
    std::vector<std::string> argv;
    std::string shell_line;
    bool via_shell = false;
    bool operator==(const Command&) const = default;
};

struct Worker {
    std::string name;
    Command command;
    // Absolute, resolved against the workspace file's directory.
    std::filesystem::path cwd;
    std::vector<std::string> groups;
    // Effective settings: defaults merged with the worker's own keys, and the
    // environment of `defaults.env` then the worker's `env`.
    WorkerSettings settings;
    bool operator==(const Worker&) const = default;
};

struct AttachSettings {
    std::string prefix = "C-b";
    bool operator==(const AttachSettings&) const = default;
};

// The delivery store (DESIGN's "store").
struct StoreSettings {
    // What a saved delivery survives: "process" (the server being killed;
    // SQLite synchronous=NORMAL) or "power" (power loss; synchronous=FULL).
    std::string durability = "process";
    // How long finished deliveries stay in the history.
    Milliseconds history_retention{7LL * 24 * 3600 * 1000};
    // How many messages the workspace's inbox holds before it refuses new
    // ones.
    int inbox_capacity = 1000;
    bool operator==(const StoreSettings&) const = default;
};

inline constexpr std::string_view durability_names[] = {"process", "power"};

struct Workspace {
    int version = schema_version;
    std::string name;
    // The file it was loaded from, as the user named it, and its directory (absolute).
    std::filesystem::path file;
    std::filesystem::path directory;
    WorkerSettings defaults;
    // In the order the file lists them.
    std::vector<Worker> workers;
    AttachSettings attach;
    StoreSettings store;

    const Worker* find_worker(std::string_view worker_name) const;
};

std::string_view to_string(RestartPolicy policy);

// The profiles this build knows; DESIGN's "profiles".
inline constexpr std::string_view profile_names[] = {"generic", "shell",  "claude",
                                                     "codex",   "gemini", "aider"};

} // namespace sb::workspace
