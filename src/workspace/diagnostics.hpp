#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace sb::workspace {

enum class Severity { Error, Warning };

// One finding about a workspace file, pinned to where it is.
struct Diagnostic {
    Severity severity = Severity::Error;
    std::string file;
    // 1-based; 0 when the finding is about the file as a whole.
    int line = 0;
    int column = 0;
    std::string message;

    // "switchboard.yaml:12:5: worker \"alice\": unknown key ..." for errors,
    // with "warning: " before the message for warnings.
    std::string to_string() const;
};

class Diagnostics {
public:
    void error(std::string file, int line, int column, std::string message);
    void warning(std::string file, int line, int column, std::string message);

    const std::vector<Diagnostic>& all() const { return items_; }
    bool has_errors() const;
    std::size_t error_count() const;
    std::size_t warning_count() const;

private:
    std::vector<Diagnostic> items_;
};

// Text from the workspace file in double quotes for a message: quotes,
// backslashes and control characters are escaped so a diagnostic stays on one
// line, and text longer than `limit` bytes is cut (at a character boundary) so
// one bad value cannot flood the terminal.
std::string quote(std::string_view text, std::size_t limit = 80);

} // namespace sb::workspace
