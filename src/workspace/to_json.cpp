#include "workspace/to_json.hpp"

#include "util/duration.hpp"

namespace sb::workspace {

namespace {

// An override's value, or null for "the profile's own".
template <typename T>
nlohmann::json or_null(const std::optional<T>& value) {
    return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

nlohmann::json settings_json(const WorkerSettings& s) {
    return {
        {"size", {{"cols", s.size.cols}, {"rows", s.size.rows}}},
        {"scrollback", s.scrollback},
        {"env", s.env},
        {"restart", std::string(to_string(s.restart))},
        {"stop_timeout_ms", s.stop_timeout.count()},
        {"profile", s.profile},
        {"delivery",
         {
             {"max_pending", s.delivery.max_pending},
             {"idle_ms", s.delivery.idle.count()},
             {"verify_timeout_ms", s.delivery.verify_timeout.count()},
             {"enter_delay_ms", s.delivery.enter_delay
                                    ? nlohmann::json(s.delivery.enter_delay->count())
                                    : nlohmann::json(nullptr)},
             {"body_delay_ms", s.delivery.body_delay
                                   ? nlohmann::json(s.delivery.body_delay->count())
                                   : nlohmann::json(nullptr)},
             {"submit_timeout_ms", s.delivery.submit_timeout
                                       ? nlohmann::json(s.delivery.submit_timeout->count())
                                       : nlohmann::json(nullptr)},
             {"accept_timeout_ms", s.delivery.accept_timeout
                                       ? nlohmann::json(s.delivery.accept_timeout->count())
                                       : nlohmann::json(nullptr)},
             {"throttle",
              {{"min_ms", s.delivery.throttle.min.count()},
               {"max_ms", s.delivery.throttle.max.count()}}},
             {"hold_ms", s.delivery.hold.count()},
             {"ready_timeout_ms", s.delivery.ready_timeout.count()},
             {"max_body", s.delivery.max_body},
             {"ready_pattern", or_null(s.delivery.ready_pattern)},
             {"busy_pattern", or_null(s.delivery.busy_pattern)},
             {"placeholder_pattern", or_null(s.delivery.placeholder_pattern)},
             {"composer_pattern", or_null(s.delivery.composer_pattern)},
             {"submit_key", or_null(s.delivery.submit_key)},
             {"paste", or_null(s.delivery.paste)},
             {"header", or_null(s.delivery.header)},
             {"queues_input", or_null(s.delivery.queues_input)},
             {"wait_for_echo", or_null(s.delivery.wait_for_echo)},
         }},
    };
}

} // namespace

nlohmann::json to_json(const Workspace& workspace) {
    nlohmann::json workers = nlohmann::json::array();
    for (const auto& worker : workspace.workers) {
        nlohmann::json command;
        if (worker.command.via_shell) {
            command = worker.command.shell_line;
        } else {
            command = worker.command.argv;
        }
        nlohmann::json entry = settings_json(worker.settings);
        entry["name"] = worker.name;
        entry["command"] = command;
        entry["cwd"] = worker.cwd.string();
        entry["groups"] = worker.groups;
        workers.push_back(std::move(entry));
    }
    return {
        {"version", workspace.version},
        {"name", workspace.name},
        {"file", workspace.file.string()},
        {"directory", workspace.directory.string()},
        {"defaults", settings_json(workspace.defaults)},
        {"workers", workers},
        {"attach", {{"prefix", workspace.attach.prefix}}},
        {"durability", workspace.store.durability},
        {"history_retention", util::format_duration(workspace.store.history_retention)},
        {"inbox_capacity", workspace.store.inbox_capacity},
    };
}

nlohmann::json to_json(const Diagnostic& diagnostic) {
    return {
        {"severity", diagnostic.severity == Severity::Error ? "error" : "warning"},
        {"file", diagnostic.file},
        {"line", diagnostic.line},
        {"column", diagnostic.column},
        {"message", diagnostic.message},
        {"text", diagnostic.to_string()},
    };
}

} // namespace sb::workspace
