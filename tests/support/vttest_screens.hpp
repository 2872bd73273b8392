#pragma once

#include <string>
#include <vector>

namespace sb::test {

// vttest 2.7's test 1, screen 3 (autowrap, mixing control and print
// characters) as a VT100 shows it on 80x24: the letters I to Z at the left
// and right margins, "Push <RETURN>" on row 22.
inline std::vector<std::string> vttest_autowrap_screen() {
    std::vector<std::string> lines = {"Test of autowrap, mixing control and print characters.",
                                      "The left/right margins should have letters in order:"};
    for (char letter = 'I'; letter <= 'Z'; ++letter) {
        lines.push_back(letter + std::string(78, ' ') + static_cast<char>(letter - 'A' + 'a'));
    }
    lines.push_back("");
    lines.push_back("Push <RETURN>");
    lines.push_back("");
    lines.push_back("");
    return lines;
}

} // namespace sb::test
