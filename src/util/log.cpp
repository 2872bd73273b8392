#include "util/log.hpp"

namespace sb::log {

std::shared_ptr<spdlog::logger> get(const std::string& module) {
    if (auto existing = spdlog::get(module)) {
        return existing;
    }
    auto logger = spdlog::default_logger()->clone(module);
    spdlog::register_logger(logger);
    return logger;
}

} // namespace sb::log
