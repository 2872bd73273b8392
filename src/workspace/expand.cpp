#include "workspace/expand.hpp"

#include <cctype>

#include "workspace/diagnostics.hpp"

namespace sb::workspace {

namespace {

bool is_name_start(char c) {
    return std::isalpha(static_cast<unsigned char>(c)) || c == '_';
}
bool is_name_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}

} // namespace

std::variant<std::string, ExpansionError> expand_variables(std::string_view text,
                                                           const EnvironmentLookup& environment) {
    std::string out;
    std::size_t i = 0;
    while (i < text.size()) {
        const char c = text[i];
        if (c != '$' || i + 1 >= text.size()) {
            out += c;
            ++i;
            continue;
        }
        if (text[i + 1] == '$') {
            out += '$';
            i += 2;
            continue;
        }
        if (text[i + 1] != '{') {
            out += c;
            ++i;
            continue;
        }
        const std::size_t close = text.find('}', i + 2);
        if (close == std::string_view::npos) {
            return ExpansionError{"\"${\" without a closing \"}\" (write $${ for a literal ${)"};
        }
        const std::string_view inside = text.substr(i + 2, close - i - 2);
        std::size_t name_end = 0;
        while (name_end < inside.size() && is_name_char(inside[name_end])) {
            ++name_end;
        }
        const std::string_view name = inside.substr(0, name_end);
        const std::string_view rest = inside.substr(name_end);
        if (name.empty() || !is_name_start(name[0]) || (!rest.empty() && !rest.starts_with(":-"))) {
            return ExpansionError{quote("${" + std::string(inside) + "}") +
                                  " is not a variable reference; write ${NAME} or "
                                  "${NAME:-default}"};
        }
        const auto value = environment(name);
        if (rest.empty()) {
            if (!value) {
                return ExpansionError{"${" + std::string(name) +
                                      "} is not set in the environment; set it or write ${" +
                                      std::string(name) + ":-default}"};
            }
            out += *value;
        } else if (value && !value->empty()) {
            out += *value;
        } else {
            out += rest.substr(2);
        }
        i = close + 1;
    }
    return out;
}

} // namespace sb::workspace
