#include "util/regex.hpp"

#include <regex>

namespace sb::util {

struct Regex::Compiled {
    std::regex regex;
};

Regex::Regex(const std::string& pattern) {
    try {
        compiled_ = std::make_shared<const Compiled>(Compiled{std::regex(pattern)});
    } catch (const std::regex_error& failure) {
        throw RegexError(failure.what());
    }
}

bool Regex::matches(std::string_view text) const {
    return std::regex_match(text.data(), text.data() + text.size(), compiled_->regex);
}

std::optional<std::vector<std::string>> Regex::match_groups(std::string_view text) const {
    std::cmatch match;
    if (!std::regex_match(text.data(), text.data() + text.size(), match, compiled_->regex)) {
        return std::nullopt;
    }
    std::vector<std::string> groups;
    for (std::size_t i = 1; i < match.size(); ++i) {
        groups.push_back(match[i].str());
    }
    return groups;
}

bool Regex::found_in(std::string_view text) const {
    return std::regex_search(text.data(), text.data() + text.size(), compiled_->regex);
}

std::optional<Regex::Span> Regex::find(std::string_view text) const {
    std::cmatch match;
    if (!std::regex_search(text.data(), text.data() + text.size(), match, compiled_->regex)) {
        return std::nullopt;
    }
    return Span{static_cast<std::size_t>(match.position(0)),
                static_cast<std::size_t>(match.length(0))};
}

std::vector<Regex::Span> Regex::find_all(std::string_view text) const {
    std::vector<Span> spans;
    for (auto it = std::cregex_iterator(text.data(), text.data() + text.size(), compiled_->regex);
         it != std::cregex_iterator(); ++it) {
        spans.push_back(
            Span{static_cast<std::size_t>(it->position()), static_cast<std::size_t>(it->length())});
    }
    return spans;
}

} // namespace sb::util
