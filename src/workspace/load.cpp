#include "workspace/load.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <system_error>

#include "util/duration.hpp"
#include "util/strings.hpp"
#include "workspace/expand.hpp"
#include "workspace/source_map.hpp"
#include "workspace/validate.hpp"

namespace sb::workspace {

namespace {

using namespace std::string_literals;

constexpr std::string_view top_level_keys[] = {"version", "name", "defaults", "workers", "attach"};
constexpr std::string_view settings_keys[] = {"size",    "scrollback", "env",     "restart",
                                              "stop_timeout", "profile", "delivery"};
constexpr std::string_view worker_only_keys[] = {"command", "cwd", "groups"};
constexpr std::string_view delivery_keys[] = {"max_pending", "idle", "verify_timeout",
                                              "enter_delay", "throttle"};
constexpr std::string_view throttle_keys[] = {"min", "max"};
constexpr std::string_view size_keys[] = {"cols", "rows"};
constexpr std::string_view attach_keys[] = {"prefix"};
constexpr std::string_view restart_names[] = {"never", "on-failure", "always"};

// Variables the server sets in every worker; a workspace cannot override them.
constexpr std::string_view reserved_env[] = {"SWITCHBOARD_SOCKET", "SWITCHBOARD_WORKER",
                                             "SWITCHBOARD_WORKSPACE"};

bool is_valid_name(std::string_view name) {
    static const std::regex pattern("[a-z0-9][a-z0-9_-]{0,31}");
    return std::regex_match(name.begin(), name.end(), pattern);
}

std::string in_quotes(std::string_view text) { return "\"" + std::string(text) + "\""; }

std::string describe(const YAML::Node& node) {
    switch (node.Type()) {
    case YAML::NodeType::Map:
        return "a mapping";
    case YAML::NodeType::Sequence:
        return "a list";
    case YAML::NodeType::Null:
        return "nothing";
    case YAML::NodeType::Scalar:
        return in_quotes(node.Scalar());
    case YAML::NodeType::Undefined:
        break;
    }
    return "nothing";
}

// Walks the YAML tree, turning every problem into a diagnostic at the node's
// position; never throws.
class Reader {
public:
    Reader(std::string file, const EnvironmentLookup& environment, Diagnostics& diagnostics)
        : file_(std::move(file)), environment_(environment), diagnostics_(diagnostics) {}

    Position position(const YAML::Node& node) const {
        const YAML::Mark mark = node.Mark();
        if (mark.is_null()) {
            return {1, 1};
        }
        return {mark.line + 1, mark.column + 1};
    }

    void error(const YAML::Node& node, const std::string& where, const std::string& message) {
        const Position at = position(node);
        diagnostics_.error(file_, at.line, at.column, where.empty() ? message : where + ": " + message);
    }

    // Every key of the mapping, reported once each: unknown keys (with a hint)
    // and repeated keys are errors. Returns key -> (key node, value node) of the
    // first occurrence of each known key.
    std::map<std::string, std::pair<YAML::Node, YAML::Node>>
    entries(const YAML::Node& map, std::span<const std::string_view> known,
            const std::string& where) {
        std::map<std::string, std::pair<YAML::Node, YAML::Node>> found;
        for (auto it = map.begin(); it != map.end(); ++it) {
            const YAML::Node key = it->first;
            if (!key.IsScalar()) {
                error(key, where, "keys must be plain words, not " + describe(key));
                continue;
            }
            const std::string& name = key.Scalar();
            if (auto previous = found.find(name); previous != found.end()) {
                error(key, where,
                      "duplicate key " + in_quotes(name) + " (first at line " +
                          std::to_string(position(previous->second.first).line) + ")");
                continue;
            }
            if (std::find(known.begin(), known.end(), name) == known.end()) {
                std::string message = "unknown key " + in_quotes(name);
                if (auto hint = util::closest_match(name, known)) {
                    message += " (did you mean " + in_quotes(*hint) + "?)";
                } else {
                    message += " (known keys: " + util::join(known, ", ") + ")";
                }
                error(key, where, message);
                continue;
            }
            found.emplace(name, std::make_pair(key, it->second));
        }
        return found;
    }

    bool expect_map(const YAML::Node& node, const std::string& where, const std::string& what) {
        if (node.IsMap()) {
            return true;
        }
        error(node, where, what + ": expected a mapping, got " + describe(node));
        return false;
    }

    std::optional<std::string> string(const YAML::Node& node, const std::string& where,
                                      const std::string& key) {
        if (!node.IsScalar()) {
            error(node, where, key + ": expected a string, got " + describe(node));
            return std::nullopt;
        }
        return node.Scalar();
    }

    std::optional<long long> integer(const YAML::Node& node, const std::string& where,
                                     const std::string& key, long long min, long long max) {
        if (!node.IsScalar()) {
            error(node, where, key + ": expected a whole number, got " + describe(node));
            return std::nullopt;
        }
        const std::string& text = node.Scalar();
        static const std::regex digits("[+-]?[0-9]{1,18}");
        if (node.Tag() != "?" || !std::regex_match(text, digits)) {
            error(node, where, key + ": expected a whole number, got " + in_quotes(text));
            return std::nullopt;
        }
        const long long value = std::stoll(text);
        if (value < min || value > max) {
            error(node, where,
                  key + ": " + text + " is out of range (" + std::to_string(min) + ".." +
                      std::to_string(max) + ")");
            return std::nullopt;
        }
        return value;
    }

    std::optional<Milliseconds> duration(const YAML::Node& node, const std::string& where,
                                         const std::string& key, Milliseconds min,
                                         Milliseconds max) {
        if (!node.IsScalar()) {
            error(node, where, key + ": expected a duration like 500ms, 5s or 2m, got " +
                                   describe(node));
            return std::nullopt;
        }
        const auto value = util::parse_duration(node.Scalar());
        if (!value) {
            error(node, where,
                  key + ": expected a duration like 500ms, 5s or 2m, got " + in_quotes(node.Scalar()));
            return std::nullopt;
        }
        if (*value < min || *value > max) {
            error(node, where,
                  key + ": " + node.Scalar() + " is out of range (" + util::format_duration(min) +
                      ".." + util::format_duration(max) + ")");
            return std::nullopt;
        }
        return value;
    }

    template <std::size_t N>
    std::optional<std::string_view> choice(const YAML::Node& node, const std::string& where,
                                           const std::string& key,
                                           const std::string_view (&names)[N]) {
        const auto text = string(node, where, key);
        if (!text) {
            return std::nullopt;
        }
        for (const auto name : names) {
            if (name == *text) {
                return name;
            }
        }
        std::string message = key + ": unknown value " + in_quotes(*text);
        if (auto hint = util::closest_match(*text, names)) {
            message += " (did you mean " + in_quotes(*hint) + "?)";
        } else {
            message += " (one of: " + util::join(names, ", ") + ")";
        }
        error(node, where, message);
        return std::nullopt;
    }

    std::optional<std::string> expanded(const YAML::Node& node, const std::string& where,
                                        const std::string& key, const std::string& text) {
        auto result = expand_variables(text, environment_);
        if (auto* failure = std::get_if<ExpansionError>(&result)) {
            error(node, where, key + ": " + failure->message);
            return std::nullopt;
        }
        return std::get<std::string>(std::move(result));
    }

    void read_size(const YAML::Node& node, const std::string& where, Size& size) {
        if (node.IsScalar()) {
            // "120x40" is accepted as a short form of {cols: 120, rows: 40}.
            static const std::regex short_form("([0-9]{1,6})x([0-9]{1,6})");
            std::smatch match;
            const std::string text = node.Scalar();
            if (!std::regex_match(text, match, short_form)) {
                error(node, where, "size: expected {cols: N, rows: N} or COLSxROWS, got " +
                                       in_quotes(text));
                return;
            }
            const int cols = std::stoi(match[1]);
            const int rows = std::stoi(match[2]);
            bool ok = true;
            if (cols < 10 || cols > 1000) {
                error(node, where, "size: " + std::to_string(cols) + " columns is out of range (10..1000)");
                ok = false;
            }
            if (rows < 5 || rows > 500) {
                error(node, where, "size: " + std::to_string(rows) + " rows is out of range (5..500)");
                ok = false;
            }
            if (ok) {
                size = {cols, rows};
            }
            return;
        }
        if (!expect_map(node, where, "size")) {
            return;
        }
        const auto found = entries(node, size_keys, join_where(where, "size"));
        if (auto it = found.find("cols"); it != found.end()) {
            if (auto v = integer(it->second.second, where, "size.cols", 10, 1000)) {
                size.cols = static_cast<int>(*v);
            }
        }
        if (auto it = found.find("rows"); it != found.end()) {
            if (auto v = integer(it->second.second, where, "size.rows", 5, 500)) {
                size.rows = static_cast<int>(*v);
            }
        }
    }

    void read_env(const YAML::Node& node, const std::string& where, Environment& env) {
        if (!expect_map(node, where, "env")) {
            return;
        }
        static const std::regex env_name("[A-Za-z_][A-Za-z0-9_]*");
        std::map<std::string, int> seen;
        for (auto it = node.begin(); it != node.end(); ++it) {
            const YAML::Node key = it->first;
            const YAML::Node value = it->second;
            if (!key.IsScalar() || !std::regex_match(key.Scalar(), env_name)) {
                error(key, where,
                      "env: " + describe(key) +
                          " is not a variable name (letters, digits and _, not starting with a digit)");
                continue;
            }
            const std::string& name = key.Scalar();
            if (auto previous = seen.find(name); previous != seen.end()) {
                error(key, where,
                      "env: duplicate key " + in_quotes(name) + " (first at line " +
                          std::to_string(previous->second) + ")");
                continue;
            }
            seen.emplace(name, position(key).line);
            if (std::find(std::begin(reserved_env), std::end(reserved_env), name) !=
                std::end(reserved_env)) {
                error(key, where, "env: " + name + " is set by switchboard itself and cannot be overridden");
                continue;
            }
            if (!value.IsScalar()) {
                error(value, where,
                      "env." + name + ": expected a string, got " + describe(value) +
                          " (write " + name + ": \"\" for an empty value)");
                continue;
            }
            if (auto text = expanded(value, where, "env." + name, value.Scalar())) {
                env[name] = *text;
            }
        }
    }

    void read_delivery(const YAML::Node& node, const std::string& where, DeliverySettings& d) {
        if (!expect_map(node, where, "delivery")) {
            return;
        }
        const auto found = entries(node, delivery_keys, join_where(where, "delivery"));
        const auto value = [&](const char* key) -> const YAML::Node* {
            auto it = found.find(key);
            return it == found.end() ? nullptr : &it->second.second;
        };
        if (auto* n = value("max_pending")) {
            if (auto v = integer(*n, where, "delivery.max_pending", 1, 100000)) {
                d.max_pending = static_cast<int>(*v);
            }
        }
        using std::chrono::minutes;
        if (auto* n = value("idle")) {
            if (auto v = duration(*n, where, "delivery.idle", Milliseconds(0), minutes(10))) {
                d.idle = *v;
            }
        }
        if (auto* n = value("verify_timeout")) {
            if (auto v = duration(*n, where, "delivery.verify_timeout", Milliseconds(100),
                                  minutes(10))) {
                d.verify_timeout = *v;
            }
        }
        if (auto* n = value("enter_delay")) {
            if (auto v = duration(*n, where, "delivery.enter_delay", Milliseconds(0),
                                  Milliseconds(10000))) {
                d.enter_delay = *v;
            }
        }
        if (auto* n = value("throttle")) {
            if (expect_map(*n, where, "delivery.throttle")) {
                const auto throttle =
                    entries(*n, throttle_keys, join_where(where, "delivery.throttle"));
                ThrottleSettings t = d.throttle;
                if (auto it = throttle.find("min"); it != throttle.end()) {
                    if (auto v = duration(it->second.second, where, "delivery.throttle.min",
                                          Milliseconds(1), minutes(10))) {
                        t.min = *v;
                    }
                }
                if (auto it = throttle.find("max"); it != throttle.end()) {
                    if (auto v = duration(it->second.second, where, "delivery.throttle.max",
                                          Milliseconds(1), minutes(10))) {
                        t.max = *v;
                    }
                }
                if (t.min > t.max) {
                    error(*n, where,
                          "delivery.throttle: min (" + util::format_duration(t.min) +
                              ") is greater than max (" + util::format_duration(t.max) + ")");
                } else {
                    d.throttle = t;
                }
            }
        }
    }

    // The keys shared by `defaults` and each worker, applied onto `settings`.
    void read_settings(const std::map<std::string, std::pair<YAML::Node, YAML::Node>>& found,
                       const std::string& where, WorkerSettings& settings) {
        const auto value = [&](const char* key) -> const YAML::Node* {
            auto it = found.find(key);
            return it == found.end() ? nullptr : &it->second.second;
        };
        if (auto* n = value("size")) {
            read_size(*n, where, settings.size);
        }
        if (auto* n = value("scrollback")) {
            if (auto v = integer(*n, where, "scrollback", 0, 1000000)) {
                settings.scrollback = static_cast<int>(*v);
            }
        }
        if (auto* n = value("env")) {
            read_env(*n, where, settings.env);
        }
        if (auto* n = value("restart")) {
            if (auto v = choice(*n, where, "restart", restart_names)) {
                settings.restart = *v == "never"        ? RestartPolicy::Never
                                   : *v == "on-failure" ? RestartPolicy::OnFailure
                                                        : RestartPolicy::Always;
            }
        }
        if (auto* n = value("stop_timeout")) {
            if (auto v = duration(*n, where, "stop_timeout", Milliseconds(0),
                                  std::chrono::minutes(10))) {
                settings.stop_timeout = *v;
            }
        }
        if (auto* n = value("profile")) {
            if (auto v = choice(*n, where, "profile", profile_names)) {
                settings.profile = std::string(*v);
            }
        }
        if (auto* n = value("delivery")) {
            read_delivery(*n, where, settings.delivery);
        }
    }

    void read_command(const YAML::Node& node, const std::string& where, Command& command) {
        if (node.IsScalar()) {
            if (node.Scalar().find_first_not_of(" \t\n") == std::string::npos) {
                error(node, where, "command: is empty; give a program to run");
                return;
            }
            command.via_shell = true;
            command.shell_line = node.Scalar();
            return;
        }
        if (!node.IsSequence()) {
            error(node, where,
                  "command: expected a list like [claude, --flag] or a string for the shell, got " +
                      describe(node));
            return;
        }
        if (node.size() == 0) {
            error(node, where, "command: is an empty list; give at least the program to run");
            return;
        }
        std::vector<std::string> argv;
        for (const auto& item : node) {
            if (!item.IsScalar()) {
                error(item, where,
                      "command: every item must be a string, got " + describe(item));
                return;
            }
            argv.push_back(item.Scalar());
        }
        if (argv.front().empty()) {
            error(node[0], where, "command: the program name is empty");
            return;
        }
        command.argv = std::move(argv);
    }

    void read_groups(const YAML::Node& node, const std::string& where,
                     std::vector<std::string>& groups) {
        if (!node.IsSequence()) {
            error(node, where, "groups: expected a list of group names, got " + describe(node));
            return;
        }
        for (const auto& item : node) {
            if (!item.IsScalar() || !is_valid_name(item.Scalar()) || item.Scalar() == "all") {
                error(item, where,
                      "groups: " + describe(item) +
                          " is not a valid group name (lowercase letters, digits, - and _, at most "
                          "32, not \"all\")");
                continue;
            }
            if (std::find(groups.begin(), groups.end(), item.Scalar()) != groups.end()) {
                error(item, where, "groups: " + in_quotes(item.Scalar()) + " is listed twice");
                continue;
            }
            groups.push_back(item.Scalar());
        }
    }

    void read_prefix(const YAML::Node& node, std::string& prefix) {
        const auto text = string(node, "attach", "prefix");
        if (!text) {
            return;
        }
        // One key, written the way tmux writes it: C-b, C-Space, M-a, or a
        // single printable character.
        static const std::regex key("C-[a-z@\\[\\]\\\\^_]|C-Space|M-[!-~]|[!-~]");
        if (!std::regex_match(*text, key)) {
            error(node, "attach",
                  "prefix: " + in_quotes(*text) +
                      " is not a key; write it like C-b, C-a, C-Space or M-a");
            return;
        }
        prefix = *text;
    }

    std::string join_where(const std::string& where, std::string_view key) const {
        return where.empty() ? std::string(key) : where + ": " + std::string(key);
    }

    const std::string& file() const { return file_; }

private:
    std::string file_;
    const EnvironmentLookup& environment_;
    Diagnostics& diagnostics_;
};

std::string default_name(const std::filesystem::path& directory) {
    std::string name;
    for (const char c : directory.filename().string()) {
        const char lower = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (std::isalnum(static_cast<unsigned char>(lower)) || lower == '_' || lower == '-') {
            name += lower;
        } else if (!name.empty() && name.back() != '-') {
            name += '-';
        }
    }
    while (!name.empty() && (name.front() == '-' || name.front() == '_')) {
        name.erase(name.begin());
    }
    if (name.size() > 32) {
        name.resize(32);
    }
    while (!name.empty() && name.back() == '-') {
        name.pop_back();
    }
    return name.empty() ? "workspace" : name;
}

void read_workspace(const YAML::Node& root, Reader& reader, const EnvironmentLookup& environment,
                    const std::filesystem::path& directory, Workspace& workspace,
                    SourceMap& positions) {
    const auto found = reader.entries(root, top_level_keys, "");
    const auto value = [&](const char* key) -> const YAML::Node* {
        auto it = found.find(key);
        return it == found.end() ? nullptr : &it->second.second;
    };
    const auto key_node = [&](const char* key) -> const YAML::Node* {
        auto it = found.find(key);
        return it == found.end() ? nullptr : &it->second.first;
    };

    if (auto* n = value("version")) {
        if (auto v = reader.integer(*n, "", "version", 0, 1'000'000)) {
            if (*v != schema_version) {
                reader.error(*n, "",
                             "version: " + std::to_string(*v) +
                                 " is not supported; this switchboard reads version " +
                                 std::to_string(schema_version));
            }
        }
    }

    workspace.name = default_name(directory);
    if (auto* n = value("name")) {
        if (auto v = reader.string(*n, "", "name")) {
            if (!is_valid_name(*v)) {
                reader.error(*n, "",
                             "name: " + in_quotes(*v) +
                                 " is not a valid workspace name (lowercase letters, digits, - "
                                 "and _, at most 32, starting with a letter or digit)");
            } else {
                workspace.name = *v;
            }
        }
    }

    if (auto* n = value("defaults")) {
        if (reader.expect_map(*n, "", "defaults")) {
            const auto settings = reader.entries(*n, settings_keys, "defaults");
            reader.read_settings(settings, "defaults", workspace.defaults);
        } else if (n->IsNull()) {
            // `defaults:` with nothing under it is harmless.
        }
    }

    if (auto* n = value("attach")) {
        if (reader.expect_map(*n, "", "attach")) {
            const auto attach = reader.entries(*n, attach_keys, "attach");
            if (auto it = attach.find("prefix"); it != attach.end()) {
                reader.read_prefix(it->second.second, workspace.attach.prefix);
            }
        }
    }

    const YAML::Node* workers = value("workers");
    if (workers == nullptr) {
        reader.error(root, "",
                     "missing key \"workers\"; a workspace needs at least one worker, e.g. "
                     "workers: {shell: {command: bash}}");
        return;
    }
    if (workers->IsNull() || (workers->IsMap() && workers->size() == 0)) {
        reader.error(*key_node("workers"), "",
                     "workers: is empty; a workspace needs at least one worker");
        return;
    }
    if (!reader.expect_map(*workers, "", "workers")) {
        return;
    }

    std::vector<std::string_view> worker_keys(std::begin(settings_keys), std::end(settings_keys));
    worker_keys.insert(worker_keys.end(), std::begin(worker_only_keys), std::end(worker_only_keys));
    std::sort(worker_keys.begin(), worker_keys.end());

    std::map<std::string, int> seen;
    for (auto it = workers->begin(); it != workers->end(); ++it) {
        const YAML::Node key = it->first;
        const YAML::Node body = it->second;
        if (!key.IsScalar()) {
            reader.error(key, "workers", "worker names must be plain words, not " + describe(key));
            continue;
        }
        const std::string name = key.Scalar();
        const std::string where = "worker " + in_quotes(name);
        if (auto previous = seen.find(name); previous != seen.end()) {
            reader.error(key, "",
                         "duplicate worker " + in_quotes(name) + " (first defined at line " +
                             std::to_string(previous->second) + ")");
            continue;
        }
        seen.emplace(name, reader.position(key).line);
        if (name == "all" || name.starts_with("@")) {
            reader.error(key, "",
                         "worker name " + in_quotes(name) +
                             " is reserved (\"all\" and names starting with @ address several "
                             "workers)");
            continue;
        }
        if (!is_valid_name(name)) {
            reader.error(key, "",
                         "worker name " + in_quotes(name) +
                             " is not valid; use lowercase letters, digits, - and _ (at most 32, "
                             "starting with a letter or digit)");
            continue;
        }
        if (body.IsNull()) {
            reader.error(key, where, "missing key \"command\"; give the program to run");
            continue;
        }
        if (!reader.expect_map(body, where, "definition")) {
            continue;
        }
        const auto worker_found = reader.entries(body, worker_keys, where);
        Worker worker;
        worker.name = name;
        worker.settings = workspace.defaults;
        worker.cwd = directory;
        SourceMap::WorkerPositions& at = positions.workers[name];
        at.name = reader.position(key);
        at.command = at.name;
        at.cwd = at.name;
        reader.read_settings(worker_found, where, worker.settings);
        if (auto c = worker_found.find("command"); c != worker_found.end()) {
            at.command = reader.position(c->second.second);
            reader.read_command(c->second.second, where, worker.command);
        } else {
            reader.error(key, where, "missing key \"command\"; give the program to run");
        }
        if (auto c = worker_found.find("cwd"); c != worker_found.end()) {
            const YAML::Node& node = c->second.second;
            at.cwd = reader.position(node);
            if (auto text = reader.string(node, where, "cwd")) {
                if (auto path = reader.expanded(node, where, "cwd", *text)) {
                    std::filesystem::path cwd(*path);
                    if (path->starts_with("~/") || *path == "~") {
                        if (auto home = environment("HOME")) {
                            cwd = std::filesystem::path(*home) / path->substr(std::min<std::size_t>(2, path->size()));
                        }
                    }
                    worker.cwd = (directory / cwd).lexically_normal();
                }
            }
        }
        if (auto g = worker_found.find("groups"); g != worker_found.end()) {
            reader.read_groups(g->second.second, where, worker.groups);
        }
        workspace.workers.push_back(std::move(worker));
    }
}

} // namespace

EnvironmentLookup process_environment() {
    return [](std::string_view name) -> std::optional<std::string> {
        if (const char* value = std::getenv(std::string(name).c_str())) {
            return std::string(value);
        }
        return std::nullopt;
    };
}

LoadResult load_text(std::string_view text, const std::string& display_name,
                     const std::filesystem::path& directory,
                     const EnvironmentLookup& environment) {
    LoadResult result;
    Diagnostics& diagnostics = result.diagnostics;

    if (auto bad = util::first_invalid_utf8(text)) {
        const std::string_view before = text.substr(0, *bad);
        const int line = 1 + static_cast<int>(std::count(before.begin(), before.end(), '\n'));
        const std::size_t line_start = before.rfind('\n');
        const int column = static_cast<int>(
            *bad - (line_start == std::string_view::npos ? 0 : line_start + 1) + 1);
        diagnostics.error(display_name, line, column,
                          "the file is not valid UTF-8 (byte 0x" +
                              [&] {
                                  static const char hex[] = "0123456789abcdef";
                                  const auto byte = static_cast<unsigned char>(text[*bad]);
                                  return std::string{hex[byte >> 4], hex[byte & 15]};
                              }() +
                              "); save it as UTF-8");
        return result;
    }

    YAML::Node root;
    try {
        root = YAML::Load(std::string(text));
    } catch (const YAML::Exception& failure) {
        const int line = failure.mark.is_null() ? 1 : failure.mark.line + 1;
        const int column = failure.mark.is_null() ? 1 : failure.mark.column + 1;
        diagnostics.error(display_name, line, column, "invalid YAML: " + failure.msg);
        return result;
    }

    if (root.IsNull() || !root.IsDefined()) {
        diagnostics.error(display_name, 1, 1,
                          "the file is empty; a workspace needs at least a \"workers\" mapping, "
                          "e.g. workers: {shell: {command: bash}}");
        return result;
    }
    Reader reader(display_name, environment, diagnostics);
    if (!root.IsMap()) {
        reader.error(root, "",
                     "a workspace file must be a mapping of keys (version, name, defaults, "
                     "workers, attach), not " +
                         describe(root));
        return result;
    }

    Workspace workspace;
    workspace.file = display_name;
    workspace.directory = directory;
    SourceMap positions;
    try {
        read_workspace(root, reader, environment, directory, workspace, positions);
    } catch (const YAML::Exception& failure) {
        // yaml-cpp throws for trees it cannot represent (for example an alias
        // to a node it has not built); the reader never throws by itself.
        const int line = failure.mark.is_null() ? 1 : failure.mark.line + 1;
        const int column = failure.mark.is_null() ? 1 : failure.mark.column + 1;
        diagnostics.error(display_name, line, column, "invalid YAML: " + failure.msg);
        return result;
    }
    validate(workspace, positions, environment, diagnostics);
    if (!diagnostics.has_errors()) {
        result.workspace = std::move(workspace);
    }
    return result;
}

LoadResult load_file(const std::filesystem::path& file, const EnvironmentLookup& environment) {
    const std::string display_name = file.string();
    std::error_code ec;
    const auto status = std::filesystem::status(file, ec);
    if (ec || !std::filesystem::exists(status)) {
        LoadResult result;
        result.diagnostics.error(display_name, 0, 0,
                                 "no such file; create it or name another with -f FILE");
        return result;
    }
    if (std::filesystem::is_directory(status)) {
        LoadResult result;
        result.diagnostics.error(display_name, 0, 0,
                                 "is a directory, not a workspace file; name the file, e.g. " +
                                     (file / "switchboard.yaml").string());
        return result;
    }
    std::ifstream in(file, std::ios::binary);
    if (!in.is_open()) {
        LoadResult result;
        result.diagnostics.error(display_name, 0, 0,
                                 std::string("cannot be read: ") + std::strerror(errno));
        return result;
    }
    std::ostringstream contents;
    contents << in.rdbuf();
    // A workspace file is a few kilobytes; a huge one is a mistake, not a workspace.
    constexpr std::size_t max_size = 4 * 1024 * 1024;
    if (contents.view().size() > max_size) {
        LoadResult result;
        result.diagnostics.error(display_name, 0, 0,
                                 "is larger than 4 MiB; that is not a workspace file");
        return result;
    }
    const auto directory = std::filesystem::absolute(file, ec).parent_path().lexically_normal();
    return load_text(contents.view(), display_name, directory, environment);
}

const Worker* Workspace::find_worker(std::string_view worker_name) const {
    for (const auto& worker : workers) {
        if (worker.name == worker_name) {
            return &worker;
        }
    }
    return nullptr;
}

std::string_view to_string(RestartPolicy policy) {
    switch (policy) {
    case RestartPolicy::Never:
        return "never";
    case RestartPolicy::OnFailure:
        return "on-failure";
    case RestartPolicy::Always:
        return "always";
    }
    return "never";
}

} // namespace sb::workspace
