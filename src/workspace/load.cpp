#include "workspace/load.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <system_error>

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include "util/duration.hpp"
#include "util/regex.hpp"
#include "util/strings.hpp"
#include "workspace/expand.hpp"
#include "workspace/source_map.hpp"
#include "workspace/validate.hpp"

namespace sb::workspace {

namespace {

using namespace std::string_literals;

constexpr std::string_view top_level_keys[] = {"version",           "name",          "defaults",
                                               "workers",           "attach",        "durability",
                                               "history_retention", "inbox_capacity"};
constexpr std::string_view settings_keys[] = {"size",         "scrollback", "env",     "restart",
                                              "stop_timeout", "profile",    "delivery"};
constexpr std::string_view worker_only_keys[] = {"command", "cwd", "groups"};
constexpr std::string_view delivery_keys[] = {
    "max_pending",   "idle",           "verify_timeout", "enter_delay",
    "body_delay",    "throttle",       "hold",           "ready_timeout",
    "max_body",      "ready_pattern",  "busy_pattern",   "placeholder_pattern",
    "submit_key",    "paste",          "header",         "queues_input",
    "wait_for_echo", "submit_timeout", "accept_timeout", "composer_pattern"};
constexpr std::string_view throttle_keys[] = {"min", "max"};
constexpr std::string_view size_keys[] = {"cols", "rows"};
constexpr std::string_view attach_keys[] = {"prefix"};
constexpr std::string_view restart_names[] = {"never", "on-failure", "always"};

// Variables the server sets in every worker; a workspace cannot override them.
constexpr std::string_view reserved_env[] = {"SWITCHBOARD_SOCKET", "SWITCHBOARD_WORKER",
                                             "SWITCHBOARD_WORKSPACE"};

bool is_valid_name(std::string_view name) {
    static const util::Regex pattern("[a-z0-9][a-z0-9_-]{0,31}");
    return pattern.matches(name);
}

// A variable name a shell accepts: letters, digits and _, not starting with a
// digit. Not a std::regex: libstdc++ matches `*` by recursion, and a key of a
// few hundred kilobytes would overflow the stack.
bool is_env_name(std::string_view name) {
    if (name.empty() || std::isdigit(static_cast<unsigned char>(name.front()))) {
        return false;
    }
    return std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
    });
}

std::string describe(const YAML::Node& node) {
    switch (node.Type()) {
    case YAML::NodeType::Map:
        return "a mapping";
    case YAML::NodeType::Sequence:
        return "a list";
    case YAML::NodeType::Null:
        return "nothing";
    case YAML::NodeType::Scalar:
        return quote(node.Scalar());
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
        if (node.IsNull()) {
            if (auto key = empty_value_keys_.find(mark.pos); key != empty_value_keys_.end()) {
                return key->second;
            }
        }
        return {mark.line + 1, mark.column + 1};
    }

    // An empty value (`key:` with nothing after it) has no text of its own:
    // yaml-cpp marks it where the next token starts, often on a later line.
    // Findings about it point at its key instead.
    void note_value(const YAML::Node& key, const YAML::Node& value) {
        if (value.IsNull() && !value.Mark().is_null()) {
            empty_value_keys_.emplace(value.Mark().pos, position(key));
        }
    }

    void error(const YAML::Node& node, const std::string& where, const std::string& message) {
        const Position at = position(node);
        diagnostics_.error(file_, at.line, at.column,
                           where.empty() ? message : where + ": " + message);
    }

    // Every key of the mapping, reported once each: unknown keys (with a hint)
    // and repeated keys are errors. `misplaced` may say where a key that is
    // unknown here belongs instead (that replaces "unknown key"). Returns
    // key -> (key node, value node) of the first occurrence of each known key.
    std::map<std::string, std::pair<YAML::Node, YAML::Node>>
    entries(const YAML::Node& map, std::span<const std::string_view> known,
            const std::string& where,
            const std::function<std::string(std::string_view)>& misplaced = {}) {
        std::map<std::string, std::pair<YAML::Node, YAML::Node>> found;
        for (auto it = map.begin(); it != map.end(); ++it) {
            const YAML::Node key = it->first;
            if (key.IsNull()) {
                error(key, where, "a key is empty; write a name before the \":\"");
                continue;
            }
            if (!key.IsScalar()) {
                error(key, where, "keys must be plain words, not " + describe(key));
                continue;
            }
            const std::string& name = key.Scalar();
            if (auto previous = found.find(name); previous != found.end()) {
                error(key, where,
                      "duplicate key " + quote(name) + " (first at line " +
                          std::to_string(position(previous->second.first).line) +
                          "); keep only one");
                continue;
            }
            if (std::find(known.begin(), known.end(), name) == known.end()) {
                std::string message = "unknown key " + quote(name);
                std::string explanation = misplaced ? misplaced(name) : std::string();
                if (name == "<<") {
                    message = "merge keys (<<) are not supported; put settings that workers "
                              "share under \"defaults\"";
                } else if (!explanation.empty()) {
                    message = explanation;
                } else if (auto hint = util::closest_match(name, known)) {
                    message += " (did you mean " + quote(*hint) + "?)";
                } else {
                    message += " (known keys: " + util::join(known, ", ") + ")";
                }
                error(key, where, message);
                continue;
            }
            note_value(key, it->second);
            found.emplace(name, std::make_pair(key, it->second));
        }
        return found;
    }

    // True when `node` is a mapping to read. A key with nothing under it
    // (`env:`) is an empty mapping and quietly reads as nothing; anything
    // else is an error that says what `what` should look like.
    bool mapping(const YAML::Node& node, const std::string& where, const std::string& what,
                 const std::string& shape = "a mapping") {
        if (node.IsMap()) {
            return true;
        }
        if (!node.IsNull()) {
            error(node, where, what + ": expected " + shape + ", got " + describe(node));
        }
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
        static const util::Regex digits("[+-]?[0-9]{1,18}");
        if (!digits.matches(text)) {
            error(node, where, key + ": expected a whole number, got " + quote(text));
            return std::nullopt;
        }
        // A quoted "5" is a string in YAML; only plain and !!int numbers count.
        if (node.Tag() != "?" && node.Tag() != "tag:yaml.org,2002:int") {
            error(node, where,
                  key + ": expected a whole number, got the string " + quote(text) +
                      "; remove the quotes");
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
            error(node, where,
                  key + ": expected a duration like 500ms, 5s or 2m, got " + describe(node));
            return std::nullopt;
        }
        const std::string& text = node.Scalar();
        const auto value = util::parse_duration(text);
        static const util::Regex number("[0-9]{1,18}(\\.[0-9]{1,9})?");
        static const util::Regex too_long("[0-9]{1,18}(\\.[0-9]{1,9})?(ms|s|m|h|d)");
        if (!value && number.matches(text)) {
            error(node, where,
                  key + ": " + text + " has no unit; write " + text + "ms, " + text + "s or " +
                      text + "m");
            return std::nullopt;
        }
        if (!value && !too_long.matches(text)) {
            error(node, where,
                  key + ": expected a duration like 500ms, 5s or 2m, got " + quote(text));
            return std::nullopt;
        }
        // parse_duration refuses what is longer than a year, so a well-formed
        // duration it refuses is out of range like any other that is too long.
        if (!value || *value < min || *value > max) {
            error(node, where,
                  key + ": " + text + " is out of range (" + util::format_duration(min) + ".." +
                      util::format_duration(max) + ")");
            return std::nullopt;
        }
        return *value;
    }

    std::optional<bool> boolean(const YAML::Node& node, const std::string& where,
                                const std::string& key) {
        if (!node.IsScalar()) {
            error(node, where, key + ": expected true or false, got " + describe(node));
            return std::nullopt;
        }
        // YAML 1.2's core schema: true, True, TRUE, false, False, FALSE.
        static const util::Regex truth("true|True|TRUE");
        static const util::Regex falsity("false|False|FALSE");
        const std::string& text = node.Scalar();
        const bool is_true = truth.matches(text);
        const bool is_false = falsity.matches(text);
        if (!is_true && !is_false) {
            error(node, where, key + ": expected true or false, got " + quote(text));
            return std::nullopt;
        }
        // A quoted "true" is a string in YAML; only plain and !!bool values count.
        if (node.Tag() != "?" && node.Tag() != "tag:yaml.org,2002:bool") {
            error(node, where,
                  key + ": expected true or false, got the string " + quote(text) +
                      "; remove the quotes");
            return std::nullopt;
        }
        return is_true;
    }

    // A regular expression (ECMAScript, as the dispatcher compiles it); an
    // empty one is allowed and means the profile's check is off.
    std::optional<std::string> pattern(const YAML::Node& node, const std::string& where,
                                       const std::string& key) {
        auto text = string(node, where, key);
        if (!text) {
            return std::nullopt;
        }
        // libstdc++ compiles and matches by recursion; a long pattern is a
        // mistake and could exhaust the stack.
        constexpr std::size_t max_pattern = 1024;
        if (text->size() > max_pattern) {
            error(node, where,
                  key + ": is " + std::to_string(text->size()) + " bytes long; a pattern may be " +
                      "at most " + std::to_string(max_pattern));
            return std::nullopt;
        }
        try {
            const util::Regex compiled(*text);
        } catch (const util::RegexError& failure) {
            error(node, where,
                  key + ": " + quote(*text) + " is not a valid regular expression (" +
                      failure.what() + ")");
            return std::nullopt;
        }
        return text;
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
        std::string message = key + ": unknown value " + quote(*text);
        if (auto hint = util::closest_match(*text, names)) {
            message += " (did you mean " + quote(*hint) + "?)";
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
            static const util::Regex short_form("([0-9]{1,6})x([0-9]{1,6})");
            const std::string text = node.Scalar();
            const auto match = short_form.match_groups(text);
            if (!match) {
                error(node, where,
                      "size: expected {cols: N, rows: N} or COLSxROWS, got " + quote(text));
                return;
            }
            const int cols = std::stoi((*match)[0]);
            const int rows = std::stoi((*match)[1]);
            bool ok = true;
            if (cols < 10 || cols > 1000) {
                error(node, where,
                      "size: " + std::to_string(cols) + " columns is out of range (10..1000)");
                ok = false;
            }
            if (rows < 5 || rows > 500) {
                error(node, where,
                      "size: " + std::to_string(rows) + " rows is out of range (5..500)");
                ok = false;
            }
            if (ok) {
                size = {cols, rows};
            }
            return;
        }
        if (!mapping(node, where, "size", "{cols: N, rows: N} or COLSxROWS")) {
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
        if (!mapping(node, where, "env", "a mapping of NAME: value")) {
            return;
        }
        std::map<std::string, int> seen;
        for (auto it = node.begin(); it != node.end(); ++it) {
            const YAML::Node key = it->first;
            const YAML::Node value = it->second;
            if (key.IsScalar() && key.Scalar() == "<<") {
                error(key, where, "env: merge keys (<<) are not supported; list each variable");
                continue;
            }
            if (!key.IsScalar() || !is_env_name(key.Scalar())) {
                error(key, where,
                      "env: " + describe(key) +
                          " is not a variable name (letters, digits and _, not starting with a "
                          "digit)");
                continue;
            }
            const std::string& name = key.Scalar();
            if (auto previous = seen.find(name); previous != seen.end()) {
                error(key, where,
                      "env: duplicate key " + quote(name) + " (first at line " +
                          std::to_string(previous->second) + "); keep only one");
                continue;
            }
            seen.emplace(name, position(key).line);
            note_value(key, value);
            if (std::find(std::begin(reserved_env), std::end(reserved_env), name) !=
                std::end(reserved_env)) {
                error(key, where,
                      "env: " + name +
                          " is set by switchboard itself and cannot be overridden; remove it");
                continue;
            }
            if (!value.IsScalar()) {
                error(value, where,
                      "env." + name + ": expected a string, got " + describe(value) +
                          (value.IsNull() ? " (write " + name + ": \"\" for an empty value)"
                                          : "; write the value as one string"));
                continue;
            }
            if (auto text = expanded(value, where, "env." + name, value.Scalar())) {
                env[name] = *text;
            }
        }
    }

    void read_delivery(const YAML::Node& node, const std::string& where, DeliverySettings& d) {
        if (!mapping(node, where, "delivery")) {
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
        if (auto* n = value("body_delay")) {
            if (auto v = duration(*n, where, "delivery.body_delay", Milliseconds(0),
                                  Milliseconds(10000))) {
                d.body_delay = *v;
            }
        }
        if (auto* n = value("submit_timeout")) {
            if (auto v = duration(*n, where, "delivery.submit_timeout", Milliseconds(100),
                                  minutes(10))) {
                d.submit_timeout = *v;
            }
        }
        if (auto* n = value("accept_timeout")) {
            if (auto v =
                    duration(*n, where, "delivery.accept_timeout", Milliseconds(0), minutes(60))) {
                d.accept_timeout = *v;
            }
        }
        if (auto* n = value("hold")) {
            if (auto v = duration(*n, where, "delivery.hold", Milliseconds(0), minutes(10))) {
                d.hold = *v;
            }
        }
        if (auto* n = value("ready_timeout")) {
            if (auto v =
                    duration(*n, where, "delivery.ready_timeout", Milliseconds(0), minutes(10))) {
                d.ready_timeout = *v;
            }
        }
        if (auto* n = value("max_body")) {
            if (auto v = integer(*n, where, "delivery.max_body", 1, 16 * 1024 * 1024)) {
                d.max_body = static_cast<std::size_t>(*v);
            }
        }
        const std::pair<const char*, std::optional<std::string> DeliverySettings::*> patterns[] = {
            {"ready_pattern", &DeliverySettings::ready_pattern},
            {"busy_pattern", &DeliverySettings::busy_pattern},
            {"placeholder_pattern", &DeliverySettings::placeholder_pattern},
            {"composer_pattern", &DeliverySettings::composer_pattern},
        };
        for (const auto& [key, field] : patterns) {
            if (auto* n = value(key)) {
                if (auto v = pattern(*n, where, "delivery."s + key)) {
                    d.*field = std::move(*v);
                }
            }
        }
        if (auto* n = value("submit_key")) {
            std::string_view names[std::size(submit_keys)];
            std::transform(std::begin(submit_keys), std::end(submit_keys), std::begin(names),
                           [](const auto& key) { return key.first; });
            if (auto v = choice(*n, where, "delivery.submit_key", names)) {
                d.submit_key = std::string(*v);
            }
        }
        const std::pair<const char*, std::optional<bool> DeliverySettings::*> flags[] = {
            {"paste", &DeliverySettings::paste},
            {"header", &DeliverySettings::header},
            {"queues_input", &DeliverySettings::queues_input},
            {"wait_for_echo", &DeliverySettings::wait_for_echo},
        };
        for (const auto& [key, field] : flags) {
            if (auto* n = value(key)) {
                if (auto v = boolean(*n, where, "delivery."s + key)) {
                    d.*field = *v;
                }
            }
        }
        if (auto* n = value("throttle")) {
            if (mapping(*n, where, "delivery.throttle", "a mapping like {min: 100ms, max: 5s}")) {
                const auto throttle =
                    entries(*n, throttle_keys, join_where(where, "delivery.throttle"));
                ThrottleSettings t = d.throttle;
                // A min above max is reported at the value this mapping sets.
                const YAML::Node* culprit = n;
                if (auto it = throttle.find("max"); it != throttle.end()) {
                    culprit = &it->second.second;
                }
                if (auto it = throttle.find("min"); it != throttle.end()) {
                    culprit = &it->second.second;
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
                    error(*culprit, where,
                          "delivery.throttle: min (" + util::format_duration(t.min) +
                              ") is greater than max (" + util::format_duration(t.max) +
                              "); lower min or raise max");
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
                error(item, where, "command: every item must be a string, got " + describe(item));
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
            error(node, where,
                  "groups: expected a list of group names like [reviewers], got " + describe(node));
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
                error(item, where,
                      "groups: " + quote(item.Scalar()) + " is listed twice; keep only one");
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
        static const util::Regex key("C-[a-z@\\[\\]\\\\^_]|C-Space|M-[!-~]|[!-~]");
        if (!key.matches(*text)) {
            error(node, "attach",
                  "prefix: " + quote(*text) +
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
    // Key positions of empty values, by the value's Mark().pos.
    std::map<int, Position> empty_value_keys_;
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
    // Keys a newcomer may put at the top that belong under defaults or a worker.
    const auto found = reader.entries(root, top_level_keys, "", [](std::string_view key) {
        const auto is = [&](std::span<const std::string_view> keys) {
            return std::find(keys.begin(), keys.end(), key) != keys.end();
        };
        if (is(settings_keys)) {
            return quote(key) + " is not a top-level key; put it under \"defaults\" (for every " +
                   "worker) or under a worker";
        }
        if (is(worker_only_keys)) {
            return quote(key) + " is not a top-level key; put it under a worker, e.g. " +
                   "workers: {shell: {" + std::string(key) + ": ...}}";
        }
        return std::string();
    });
    const auto value = [&](const char* key) -> const YAML::Node* {
        auto it = found.find(key);
        return it == found.end() ? nullptr : &it->second.second;
    };
    const auto key_node = [&](const char* key) -> const YAML::Node* {
        auto it = found.find(key);
        return it == found.end() ? nullptr : &it->second.first;
    };

    if (auto* n = value("version")) {
        if (auto v = reader.integer(*n, "", "version", std::numeric_limits<long long>::min(),
                                    std::numeric_limits<long long>::max())) {
            if (*v != schema_version) {
                reader.error(*n, "",
                             "version: " + std::to_string(*v) +
                                 " is not supported; this switchboard reads version " +
                                 std::to_string(schema_version) +
                                 (*v > schema_version ? " (a newer switchboard may read it)"
                                                      : " (write version: " +
                                                            std::to_string(schema_version) + ")"));
            }
        }
    }

    workspace.name = default_name(directory);
    if (auto* n = value("name")) {
        if (auto v = reader.string(*n, "", "name")) {
            if (!is_valid_name(*v)) {
                reader.error(*n, "",
                             "name: " + quote(*v) +
                                 " is not a valid workspace name (lowercase letters, digits, - "
                                 "and _, at most 32, starting with a letter or digit)");
            } else {
                workspace.name = *v;
            }
        }
    }

    if (auto* n = value("defaults")) {
        if (reader.mapping(*n, "", "defaults")) {
            const auto settings =
                reader.entries(*n, settings_keys, "defaults", [](std::string_view key) {
                    if (std::find(std::begin(worker_only_keys), std::end(worker_only_keys), key) ==
                        std::end(worker_only_keys)) {
                        return std::string();
                    }
                    return quote(key) + " cannot be a default; set it in each worker";
                });
            reader.read_settings(settings, "defaults", workspace.defaults);
        }
    }

    if (auto* n = value("attach")) {
        if (reader.mapping(*n, "", "attach", "a mapping like {prefix: C-a}")) {
            const auto attach = reader.entries(*n, attach_keys, "attach");
            if (auto it = attach.find("prefix"); it != attach.end()) {
                reader.read_prefix(it->second.second, workspace.attach.prefix);
            }
        }
    }

    if (auto* n = value("durability")) {
        if (auto v = reader.choice(*n, "", "durability", durability_names)) {
            workspace.store.durability = std::string(*v);
        }
    }
    if (auto* n = value("history_retention")) {
        if (auto v = reader.duration(*n, "", "history_retention", std::chrono::hours(1),
                                     std::chrono::hours(24 * 366))) {
            workspace.store.history_retention = *v;
        }
    }
    if (auto* n = value("inbox_capacity")) {
        if (auto v = reader.integer(*n, "", "inbox_capacity", 1, 1000000)) {
            workspace.store.inbox_capacity = static_cast<int>(*v);
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
                     "workers: is empty; a workspace needs at least one worker, e.g. "
                     "workers: {shell: {command: bash}}");
        return;
    }
    if (!reader.mapping(*workers, "", "workers",
                        "a mapping from worker names to their settings, like "
                        "workers: {shell: {command: bash}}")) {
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
        const std::string where = "worker " + quote(name);
        if (auto previous = seen.find(name); previous != seen.end()) {
            reader.error(key, "",
                         "duplicate worker " + quote(name) + " (first defined at line " +
                             std::to_string(previous->second) + "); rename one of them");
            continue;
        }
        seen.emplace(name, reader.position(key).line);
        if (name == "all" || name.starts_with("@")) {
            reader.error(key, "",
                         "worker name " + quote(name) +
                             " is reserved (\"all\" and names starting with @ address several "
                             "workers)");
            continue;
        }
        if (!is_valid_name(name)) {
            reader.error(key, "",
                         "worker name " + quote(name) +
                             " is not valid; use lowercase letters, digits, - and _ (at most 32, "
                             "starting with a letter or digit)");
            continue;
        }
        if (body.IsNull()) {
            reader.error(key, where, "missing key \"command\"; give the program to run");
            continue;
        }
        if (!body.IsMap()) {
            reader.error(body, where,
                         "expected a mapping of settings like {command: [claude]}, got " +
                             describe(body));
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
                            cwd = std::filesystem::path(*home) /
                                  path->substr(std::min<std::size_t>(2, path->size()));
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

// Where a byte offset of the text is: 1-based, the column counted in bytes as
// yaml-cpp counts it.
Position position_of(std::string_view text, std::size_t offset) {
    const std::string_view before = text.substr(0, offset);
    const std::size_t line_start = before.rfind('\n');
    return {
        1 + static_cast<int>(std::count(before.begin(), before.end(), '\n')),
        static_cast<int>(offset - (line_start == std::string_view::npos ? 0 : line_start + 1) + 1)};
}

// The byte offset where line `line` (0-based, as in a YAML::Mark) starts.
std::optional<std::size_t> line_offset(std::string_view text, int line) {
    std::size_t offset = 0;
    for (int i = 0; i < line; ++i) {
        offset = text.find('\n', offset);
        if (offset == std::string_view::npos) {
            return std::nullopt;
        }
        ++offset;
    }
    return offset;
}

std::string hex(unsigned value, int digits, bool upper = false) {
    const char* digit = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    std::string out;
    for (int shift = 4 * (digits - 1); shift >= 0; shift -= 4) {
        out += digit[(value >> shift) & 15];
    }
    return out;
}

// A character YAML does not allow anywhere in a file (YAML 1.2, 5.1): the C0
// controls other than tab, LF and CR, DEL, and the C1 controls other than NEL.
// yaml-cpp takes most of them silently, and a NUL ends what it reads.
struct ForbiddenCharacter {
    std::size_t offset;
    unsigned code_point;
};

std::optional<ForbiddenCharacter> first_forbidden_character(std::string_view text) {
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto byte = static_cast<unsigned char>(text[i]);
        if ((byte < 0x20 && byte != '\t' && byte != '\n' && byte != '\r') || byte == 0x7f) {
            return ForbiddenCharacter{i, byte};
        }
        // The text is valid UTF-8 here, so U+0080..U+009F are C2 80..C2 9F.
        if (byte == 0xc2 && i + 1 < text.size()) {
            const auto next = static_cast<unsigned char>(text[i + 1]);
            if (next >= 0x80 && next <= 0x9f && next != 0x85) {
                return ForbiddenCharacter{i, next};
            }
        }
    }
    return std::nullopt;
}

// yaml-cpp's words for the syntax errors people make, said so that someone new
// to YAML knows what to change. Anything else keeps yaml-cpp's words.
std::string explain_syntax_error(const std::string& message) {
    namespace says = YAML::ErrorMsg;
    static const std::pair<const char*, const char*> explanations[] = {
        {says::END_OF_MAP, "expected a key of the mapping here; check the indentation, and quote "
                           "a value that contains quotes or \": \""},
        {says::END_OF_SEQ, "expected a \"- \" item of the list here; check the indentation"},
        {says::END_OF_MAP_FLOW,
         "a \"{\" before here is not closed; add the missing \"}\" (or a \",\" between entries)"},
        {says::END_OF_SEQ_FLOW,
         "a \"[\" before here is not closed; add the missing \"]\" (or a \",\" between items)"},
        {says::FLOW_END, "this closing bracket does not match an open \"[\" or \"{\"; check the "
                         "brackets"},
        {says::MAP_VALUE, "unexpected \":\" here; quote a value that contains \": \", or check "
                          "the indentation"},
        {says::BLOCK_ENTRY, "a \"- \" list item cannot start here; put the list on the lines "
                            "under its key, or quote a value that starts with \"- \""},
        {says::UNKNOWN_ANCHOR, "this alias (*name) refers to no anchor (&name) defined before "
                               "it; quote the value if \"*\" is meant literally"},
        {says::ALIAS_NOT_FOUND,
         "\"*\" starts an alias and needs a name after it; quote the value if \"*\" is meant "
         "literally"},
        {says::ANCHOR_NOT_FOUND,
         "\"&\" starts an anchor and needs a name after it; quote the value if \"&\" is meant "
         "literally"},
        {says::UNKNOWN_TOKEN, "a value cannot start with \"@\" or \"`\"; put it in quotes"},
        {says::EOF_IN_SCALAR, "a quoted string is not closed before the end of the file; add its "
                              "closing quote"},
        {says::INVALID_HEX, "a \"\\x\", \"\\u\" or \"\\U\" escape needs 2, 4 or 8 hex digits"},
        {says::YAML_MAJOR_VERSION,
         "this %YAML directive names a YAML version yaml-cpp cannot read; remove the line"},
        {says::DOC_IN_SCALAR, "a line starting with \"---\" or \"...\" inside a value ends the "
                              "document; indent that line"},
    };
    for (const auto& [says_text, explanation] : explanations) {
        if (message == says_text) {
            return explanation;
        }
    }
    if (message.starts_with(says::INVALID_ESCAPE)) {
        return "\"\\" + message.substr(std::strlen(says::INVALID_ESCAPE)) +
               "\" is not an escape in a double-quoted string; write \\\\ for a backslash, or use "
               "single quotes";
    }
    return message;
}

constexpr std::string_view tab_indentation =
    "this line is indented with a tab; indent with spaces (YAML does not allow tabs there)";

constexpr std::string_view never_closed =
    "this quoted string is never closed, so the rest of the file is part of it; add its "
    "closing quote";

// Remembers where the last scalar of the stream starts when it is quoted.
// yaml-cpp 0.7 accepts a quoted string that is never closed when the file ends
// with a newline, and silently makes the rest of the file part of that string;
// only the last scalar can have run into the end of the file (an empty value
// may still follow it when the string is a key).
class LastQuotedScalar final : public YAML::EventHandler {
public:
    std::optional<YAML::Mark> start;

    void OnDocumentStart(const YAML::Mark&) override {}
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
    void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
    void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t,
                  const std::string&) override {
        // "!" is the tag of every scalar that is not plain.
        if (tag == "!") {
            start = mark;
        } else {
            start.reset();
        }
    }
    void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                         YAML::EmitterStyle::value) override {}
    void OnSequenceEnd() override {}
    void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                    YAML::EmitterStyle::value) override {}
    void OnMapEnd() override {}
};

// Where a quoted string that is never closed starts, if the text has one.
std::optional<Position> unclosed_quote(std::string_view text) {
    LastQuotedScalar last;
    try {
        std::istringstream in{std::string(text)};
        YAML::Parser parser(in);
        while (parser.HandleNextDocument(last)) {
        }
    } catch (const YAML::Exception&) {
        return std::nullopt;
    }
    if (!last.start) {
        return std::nullopt;
    }
    const auto line = line_offset(text, last.start->line);
    if (!line) {
        return std::nullopt;
    }
    const std::size_t start = *line + static_cast<std::size_t>(last.start->column);
    if (start >= text.size() || (text[start] != '"' && text[start] != '\'')) {
        return std::nullopt; // A block scalar, or a tag or anchor before the quote.
    }
    const char quote_mark = text[start];
    for (std::size_t i = start + 1; i < text.size(); ++i) {
        if (quote_mark == '"' && text[i] == '\\') {
            ++i;
        } else if (text[i] == quote_mark) {
            if (quote_mark == '\'' && i + 1 < text.size() && text[i + 1] == '\'') {
                ++i; // '' is a quote inside a single-quoted string.
                continue;
            }
            return std::nullopt;
        }
    }
    return position_of(text, start);
}

// Reports a parse failure where it is, in words a user can act on.
void report_parse_error(const YAML::ParserException& failure, std::string_view text,
                        const std::string& file, Diagnostics& diagnostics) {
    Position at{1, 1};
    if (!failure.mark.is_null()) {
        at = {failure.mark.line + 1, failure.mark.column + 1};
    }
    if (dynamic_cast<const YAML::DeepRecursion*>(&failure) != nullptr) {
        diagnostics.error(file, at.line, at.column,
                          "invalid YAML: lists and mappings are nested too deeply to read; a "
                          "workspace file needs only a few levels");
        return;
    }
    // A tab in the indentation of the line yaml-cpp stopped at is the cause
    // whatever yaml-cpp calls it ("illegal map value", "end of map not found").
    if (!failure.mark.is_null()) {
        if (auto start = line_offset(text, failure.mark.line)) {
            const std::size_t indent_end = text.find_first_not_of(" \t", *start);
            const std::size_t tab = text.find('\t', *start);
            if (tab != std::string_view::npos && tab < indent_end) {
                const Position tab_at = position_of(text, tab);
                diagnostics.error(file, tab_at.line, tab_at.column,
                                  "invalid YAML: " + std::string(tab_indentation));
                return;
            }
        }
    }
    // yaml-cpp marks the end of the file; the opening quote is more use. With a
    // newline added yaml-cpp reads the string to the end of the file, and
    // unclosed_quote finds where it starts.
    if (failure.msg == YAML::ErrorMsg::EOF_IN_SCALAR) {
        if (auto start = unclosed_quote(std::string(text) + "\n")) {
            diagnostics.error(file, start->line, start->column,
                              "invalid YAML: " + std::string(never_closed));
            return;
        }
    }
    if (failure.msg == YAML::ErrorMsg::TAB_IN_INDENTATION) {
        diagnostics.error(file, at.line, at.column,
                          "invalid YAML: " + std::string(tab_indentation));
        return;
    }
    diagnostics.error(file, at.line, at.column,
                      "invalid YAML: " + explain_syntax_error(failure.msg));
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
                     const std::filesystem::path& directory, const EnvironmentLookup& environment) {
    LoadResult result;
    Diagnostics& diagnostics = result.diagnostics;

    // A byte order mark is allowed at the start; it is not part of the text,
    // and leaving it out keeps the columns of line 1 what an editor shows.
    if (text.starts_with("\xef\xbb\xbf")) {
        text.remove_prefix(3);
    }
    if (auto bad = util::first_invalid_utf8(text)) {
        const Position at = position_of(text, *bad);
        diagnostics.error(display_name, at.line, at.column,
                          "the file is not valid UTF-8 (byte 0x" +
                              hex(static_cast<unsigned char>(text[*bad]), 2) +
                              "); save it as UTF-8");
        return result;
    }
    if (auto bad = first_forbidden_character(text)) {
        const Position at = position_of(text, bad->offset);
        diagnostics.error(
            display_name, at.line, at.column,
            bad->code_point == 0
                ? std::string("the file contains a NUL byte; a workspace file is text, not "
                              "binary data")
                : "control character U+" + hex(bad->code_point, 4, true) +
                      " is not allowed in YAML; write it as \"\\x" + hex(bad->code_point, 2) +
                      "\" inside a double-quoted string");
        return result;
    }

    std::vector<YAML::Node> documents;
    try {
        documents = YAML::LoadAll(std::string(text));
    } catch (const YAML::ParserException& failure) {
        report_parse_error(failure, text, display_name, diagnostics);
        return result;
    } catch (const YAML::Exception& failure) {
        const Position at = failure.mark.is_null()
                                ? Position{1, 1}
                                : Position{failure.mark.line + 1, failure.mark.column + 1};
        diagnostics.error(display_name, at.line, at.column, "invalid YAML: " + failure.msg);
        return result;
    }
    if (auto at = unclosed_quote(text)) {
        diagnostics.error(display_name, at->line, at->column,
                          "invalid YAML: " + std::string(never_closed));
        return result;
    }

    // A file may start with "---" and end with "..." or an empty document, but
    // a second document would be ignored without a word; say so instead.
    YAML::Node root;
    for (const auto& document : documents) {
        if (document.IsNull()) {
            continue;
        }
        if (!root.IsDefined() || root.IsNull()) {
            root = document;
            continue;
        }
        const YAML::Mark mark = document.Mark();
        diagnostics.error(display_name, mark.is_null() ? 1 : mark.line + 1,
                          mark.is_null() ? 1 : mark.column + 1,
                          "a second YAML document starts here; a workspace file is one document, "
                          "so remove the \"---\" before it and merge the two");
        break;
    }

    if (!root.IsDefined() || root.IsNull()) {
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
