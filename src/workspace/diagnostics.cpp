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

bool Diagnostics::has_errors() const {
    return error_count() > 0;
}

std::size_t Diagnostics::error_count() const {
    return static_cast<std::size_t>(std::count_if(
        items_.begin(), items_.end(), [](const auto& d) { return d.severity == Severity::Error; }));
}

std::size_t Diagnostics::warning_count() const {
    return items_.size() - error_count();
}

std::string quote(std::string_view text, std::size_t limit) {
    std::size_t end = text.size();
    if (end > limit) {
        end = limit;
        while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xc0) == 0x80) {
            --end;
        }
    }
    static const char hex[] = "0123456789abcdef";
    std::string out = "\"";
    for (const char c : text.substr(0, end)) {
        const auto byte = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '\t') {
            out += "\\t";
        } else if (c == '\r') {
            out += "\\r";
        } else if (byte < 0x20 || byte == 0x7f) {
            out += "\\x";
            out += hex[byte >> 4];
            out += hex[byte & 15];
        } else {
            out += c;
        }
    }
    if (end < text.size()) {
        out += "...";
    }
    return out + "\"";
}

} // namespace sb::workspace
