#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include <spdlog/spdlog.h>

namespace sb::log {

// The named logger of one module ("workspace", "pty", "server", ...). Every
// module logs through its own logger so a line says where it came from.
std::shared_ptr<spdlog::logger> get(const std::string& module);

// Sends every logger (existing and future) to stderr, at `level`
// ("trace" ... "off").
void to_stderr(const std::string& level);

// Sends every logger to a rotating file (a few MB, three old files kept).
void to_file(const std::filesystem::path& file, const std::string& level);

} // namespace sb::log
