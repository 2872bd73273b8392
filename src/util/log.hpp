#pragma once

#include <memory>
#include <string>

#include <spdlog/spdlog.h>

namespace sb::log {

// The named logger of one module ("workspace", "pty", "server", ...). Every
// module logs through its own logger so a line says where it came from.
std::shared_ptr<spdlog::logger> get(const std::string& module);

} // namespace sb::log
