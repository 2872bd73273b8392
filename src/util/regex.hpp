#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace sb::util {

// A pattern that is not a valid regular expression; what() is std::regex's
// own reason ("Mismatched '(' and ')' in regular expression").
class RegexError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// A compiled regular expression with std::regex's default grammar
// (ECMAScript) and matching rules: ready, busy, composer and placeholder
// patterns are documented as ECMAScript in switchboard.yaml(5). Only
// util/regex.cpp includes <regex>: its templates take tens of seconds to
// compile in every file that matches with them. Copies share the compiled
// pattern, which matching never changes.
class Regex {
public:
    // Throws RegexError when the pattern does not compile.
    explicit Regex(const std::string& pattern);

    // Where a match starts in the text and how many bytes it spans.
    struct Span {
        std::size_t position = 0;
        std::size_t length = 0;
    };

    // The whole text matches (std::regex_match).
    bool matches(std::string_view text) const;
    // The whole text matches: its capture groups 1..N, a group that took no
    // part empty (std::regex_match with a std::smatch).
    std::optional<std::vector<std::string>> match_groups(std::string_view text) const;
    // Some part of the text matches (std::regex_search).
    bool found_in(std::string_view text) const;
    // The first match in the text (std::regex_search with a std::smatch).
    std::optional<Span> find(std::string_view text) const;
    // Every match in the text in order, as std::sregex_iterator finds them.
    std::vector<Span> find_all(std::string_view text) const;

private:
    struct Compiled;
    std::shared_ptr<const Compiled> compiled_;
};

} // namespace sb::util
