#include "util/log.hpp"

#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

namespace sb::log {

namespace {

void use_sink(spdlog::sink_ptr sink, const std::string& level) {
    const auto parsed = spdlog::level::from_str(level);
    auto fallback = std::make_shared<spdlog::logger>("switchboard", sink);
    fallback->set_level(parsed);
    fallback->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ [%n] %v");
    spdlog::set_default_logger(fallback);
    // Module loggers made earlier keep their identity but follow the new sink.
    spdlog::apply_all([&](const std::shared_ptr<spdlog::logger>& logger) {
        logger->sinks().assign(1, sink);
        logger->set_level(parsed);
        logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ [%n] %v");
        logger->flush_on(spdlog::level::info);
    });
    spdlog::set_level(parsed);
    spdlog::flush_on(spdlog::level::info);
}

} // namespace

std::shared_ptr<spdlog::logger> get(const std::string& module) {
    if (auto existing = spdlog::get(module)) {
        return existing;
    }
    auto logger = spdlog::default_logger()->clone(module);
    // A server's log is read while it runs: every line that matters is
    // written out at once.
    logger->flush_on(spdlog::level::info);
    spdlog::register_logger(logger);
    return logger;
}

void to_stderr(const std::string& level) {
    use_sink(std::make_shared<spdlog::sinks::stderr_color_sink_st>(), level);
}

void to_file(const std::filesystem::path& file, const std::string& level) {
    use_sink(
        std::make_shared<spdlog::sinks::rotating_file_sink_st>(file.string(), 5 * 1024 * 1024, 3),
        level);
}

} // namespace sb::log
