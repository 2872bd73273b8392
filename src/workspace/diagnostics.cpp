#include "workspace/diagnostics.hpp"

#include <algorithm>

namespace sb::workspace {

std::string Diagnostic::to_string() const {
    std::string out = file;
    if (line > 0) {
        out += ':' + std::to_string(line) + ':' + std::to_string(column);
    }
    out += ": ";
    if (severity == Severity::Warning) {
        out += "warning: ";
    }
    out += message;
    return out;
}

void Diagnostics::error(std::string file, int line, int column, std::string message) {
    items_.push_back({Severity::Error, std::move(file), line, column, std::move(message)});
}

void Diagnostics::warning(std::string file, int line, int column, std::string message) {
    items_.push_back({Severity::Warning, std::move(file), line, column, std::move(message)});
}

bool Diagnostics::has_errors() const { return error_count() > 0; }

std::size_t Diagnostics::error_count() const {
    return static_cast<std::size_t>(std::count_if(items_.begin(), items_.end(), [](const auto& d) {
        return d.severity == Severity::Error;
    }));
}

std::size_t Diagnostics::warning_count() const { return items_.size() - error_count(); }

} // namespace sb::workspace
