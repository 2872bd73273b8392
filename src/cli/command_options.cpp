#include <CLI/CLI.hpp>

#include "cli/command.hpp"

namespace sb::cli {

Option& Option::option_text(const std::string& text) {
    option_->option_text(text);
    return *this;
}

Option& Option::required() {
    option_->required();
    return *this;
}

Option& Option::check(std::function<std::string(const std::string&)> validator) {
    option_->check(std::move(validator));
    return *this;
}

Option& Option::check_range(int min, int max) {
    option_->check(CLI::Range(min, max));
    return *this;
}

Option& Option::check_non_negative() {
    option_->check(CLI::NonNegativeNumber);
    return *this;
}

Option& Option::excludes(const Option& other) {
    option_->excludes(other.option_);
    return *this;
}

Option CommandOptions::add_option(const std::string& name, std::string& value,
                                  const std::string& description) {
    return Option(app_.add_option(name, value, description));
}

Option CommandOptions::add_option(const std::string& name, std::vector<std::string>& values,
                                  const std::string& description) {
    return Option(app_.add_option(name, values, description));
}

Option CommandOptions::add_option(const std::string& name, int& value,
                                  const std::string& description) {
    return Option(app_.add_option(name, value, description));
}

Option CommandOptions::add_option(const std::string& name, long long& value,
                                  const std::string& description) {
    return Option(app_.add_option(name, value, description));
}

Option CommandOptions::add_flag(const std::string& name, bool& value,
                                const std::string& description) {
    return Option(app_.add_flag(name, value, description));
}

void CommandOptions::footer(const std::string& text) {
    app_.footer(text);
}

} // namespace sb::cli
