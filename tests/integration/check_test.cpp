#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "process.hpp"

using sb::test::run;
using sb::test::switchboard_binary;
using sb::test::TempDir;

TEST_SUITE("check") {
    TEST_CASE("check validates the example workspace and summarises it") {
        const auto demo = sb::test::test_data("../contrib/examples/demo.yaml").string();
        const auto result = run({switchboard_binary(), "check", "-f", demo});
        CHECK(result.exit_status == 0);
        CHECK(result.out.find("workspace \"demo\"") != std::string::npos);
        CHECK(result.out.find("planner") != std::string::npos);
        CHECK(result.out.find("python3 -q -i") != std::string::npos);
        CHECK(result.err == "");
    }

    TEST_CASE("check loads every example workspace, each with a comment header") {
        const auto root = sb::test::test_data("../contrib/examples");
        std::vector<std::filesystem::path> examples;
        for (const auto& entry : std::filesystem::directory_iterator(root)) {
            if (entry.path().extension() == ".yaml") {
                examples.push_back(entry.path());
            }
        }
        std::sort(examples.begin(), examples.end());
        for (const auto& file : examples) {
            CAPTURE(file);
            const auto result = run({switchboard_binary(), "check", "-f", file.string()});
            CHECK(result.exit_status == 0);
            const auto name = file.stem().string();
            CHECK(result.out.find("workspace \"" + name + "\"") != std::string::npos);
            // Agent CLIs may not be installed here: a missing program is a
            // warning, and nothing else may be.
            std::istringstream warnings(result.err);
            for (std::string line; std::getline(warnings, line);) {
                CHECK_MESSAGE(line.find("not found on PATH") != std::string::npos, line);
            }
            std::ifstream in(file);
            std::string first;
            std::getline(in, first);
            CHECK(first.starts_with("# " + name + ".yaml: "));
        }
        CHECK(examples.size() == 3);
    }

    TEST_CASE("--help lists the commands under headings by purpose, in order") {
        const auto result = run({switchboard_binary(), "--help"});
        CHECK(result.exit_status == 0);
        // Each heading, then its commands, one per line.
        const std::vector<std::pair<std::string, std::vector<std::string>>> groups{
            {"Workspace", {"up", "down", "reload", "check", "doctor"}},
            {"Workers", {"ls", "start", "stop", "restart", "resize", "capture", "keys"}},
            {"Messages", {"send", "pending", "hold", "release", "cancel"}},
            {"Events", {"events"}},
            {"Getting started", {"demo", "help"}},
        };
        std::size_t at = 0;
        for (const auto& [heading, names] : groups) {
            CAPTURE(heading);
            at = result.out.find("\n" + heading + ":\n", at);
            REQUIRE(at != std::string::npos);
            for (const auto& name : names) {
                CAPTURE(name);
                at = result.out.find("\n  " + name + " ", at);
                REQUIRE(at != std::string::npos);
            }
        }
    }

    TEST_CASE("check finds switchboard.yaml in a parent directory and says which") {
        TempDir dir;
        dir.write("switchboard.yaml", "name: found\nworkers:\n  sh: {command: [bash]}\n");
        dir.write("deep/er/.keep", "");
        const auto result = run({switchboard_binary(), "check"}, {.cwd = dir.path() / "deep/er"});
        CHECK(result.exit_status == 0);
        CHECK(result.err ==
              "switchboard: using " + (dir.path() / "switchboard.yaml").string() + "\n");
        CHECK(result.out.find("workspace \"found\"") != std::string::npos);
    }

    TEST_CASE("check without any workspace file explains what to do") {
        TempDir dir;
        const auto result = run({switchboard_binary(), "check"}, {.cwd = dir.path()});
        CHECK(result.exit_status == 1);
        CHECK(result.err.find("no switchboard.yaml or switchboard.yml in") != std::string::npos);
        CHECK(result.err.find("-f FILE") != std::string::npos);
    }

    TEST_CASE("check prints every error and a count, exit 1") {
        TempDir dir;
        const auto file =
            dir.write("bad.yaml", "workers:\n  a:\n    comand: [bash]\n  B: {command: x}\n");
        const auto result = run({switchboard_binary(), "check", "-f", file.string()});
        CHECK(result.exit_status == 1);
        CHECK(result.out == "");
        const std::string f = file.string();
        CHECK(result.err ==
              f + ":3:5: worker \"a\": unknown key \"comand\" (did you mean \"command\"?)\n" + f +
                  ":2:3: worker \"a\": missing key \"command\"; give the program to run\n" + f +
                  ":4:3: worker name \"B\" is not valid; use lowercase letters, digits, - and _ "
                  "(at most 32, starting with a letter or digit)\n" +
                  f + ": 3 errors\n");
    }

    TEST_CASE("check --json reports diagnostics and the effective workspace") {
        TempDir dir;
        const auto file = dir.write("s.yaml", "workers:\n  a: {command: [bash], scrollback: 5}\n");
        auto result = run({switchboard_binary(), "check", "--json", "-f", file.string()});
        CHECK(result.exit_status == 0);
        const auto out = nlohmann::json::parse(result.out);
        CHECK(out["valid"] == true);
        CHECK(out["workspace"]["workers"][0]["name"] == "a");
        CHECK(out["workspace"]["workers"][0]["scrollback"] == 5);
        CHECK(out["workspace"]["workers"][0]["delivery"]["idle_ms"] == 500);

        const auto bad = dir.write("b.yaml", "workers: []\n");
        result = run({switchboard_binary(), "check", "--json", "-f", bad.string()});
        CHECK(result.exit_status == 1);
        const auto invalid = nlohmann::json::parse(result.out);
        CHECK(invalid["valid"] == false);
        CHECK(invalid["diagnostics"][0]["line"] == 1);
        CHECK(invalid["diagnostics"][0]["column"] == 10);
    }

    TEST_CASE("a directory, a missing file, an empty file and binary junk are clear errors") {
        TempDir dir;
        auto result = run({switchboard_binary(), "check", "-f", dir.path().string()});
        CHECK(result.exit_status == 1);
        CHECK(result.err.find("is a directory, not a workspace file") != std::string::npos);

        result = run({switchboard_binary(), "check", "-f", (dir.path() / "nope.yaml").string()});
        CHECK(result.exit_status == 1);
        CHECK(result.err.find("nope.yaml: no such file") != std::string::npos);

        const auto empty = dir.write("empty.yaml", "\n# nothing\n");
        result = run({switchboard_binary(), "check", "-f", empty.string()});
        CHECK(result.exit_status == 1);
        CHECK(result.err.find("empty.yaml:1:1: the file is empty") != std::string::npos);

        const auto junk = dir.write("junk.yaml", std::string("\x7f"
                                                             "ELF\x02\x01\x01\x00\x00\xff\xfe",
                                                             11));
        result = run({switchboard_binary(), "check", "-f", junk.string()});
        CHECK(result.exit_status == 1);
        CHECK(result.err.find("not valid UTF-8") != std::string::npos);
        CHECK(result.err.find("terminate called") == std::string::npos);
    }

    // Files too big to keep in tests/workspace/bad; the smaller hostile cases
    // (NUL bytes, tabs, a second document, a 600-deep list) are pinned there.
    TEST_CASE("hostile workspace files give a clear error or load, never a crash") {
        TempDir dir;
        const auto check = [&](const std::string& name, const std::string& contents) {
            const auto file = dir.write(name, contents);
            auto result = run({switchboard_binary(), "check", "-f", file.string()},
                              {.timeout = std::chrono::seconds(120)});
            CAPTURE(name);
            CHECK(result.signal == 0);
            CHECK_FALSE(result.timed_out);
            CHECK(result.err.find("terminate called") == std::string::npos);
            return result;
        };

        // yaml-cpp stops at 500 levels instead of overflowing the stack.
        auto result = check("deep.yaml", "workers: " + std::string(100000, '[') +
                                             std::string(100000, ']') + "\n");
        CHECK(result.exit_status == 1);
        CHECK(result.err.starts_with(dir.path().string() + "/deep.yaml:1:"));
        CHECK(result.err.find("invalid YAML: lists and mappings are nested too deeply to read") !=
              std::string::npos);

        result = check(
            "deep-map.yaml", "workers:\n  a:\n    command: " + [] {
                std::string open;
                for (int i = 0; i < 50000; ++i) {
                    open += "{a: [";
                }
                return open;
            }() + "\n");
        CHECK(result.exit_status == 1);
        CHECK(result.err.find("nested too deeply") != std::string::npos);

        // A std::regex with `*` recurses once per character: a long key once
        // overflowed the stack here.
        result = check("long-key.yaml", "workers:\n  a:\n    command: [sh]\n    env:\n      ? " +
                                            std::string(300000, 'A') + "\n      : x\n");
        CHECK(result.exit_status == 0);
        result = check("long-name.yaml",
                       "workers:\n  ? " + std::string(300000, 'a') + "\n  : {command: [sh]}\n");
        CHECK(result.exit_status == 1);
        CHECK(result.err.find("worker name \"" + std::string(80, 'a') + "...\" is not valid") !=
              std::string::npos);

        // 3 MB is read; past 4 MiB the file is refused before parsing.
        std::string comments;
        for (int i = 0; i < 38000; ++i) {
            comments += "# " + std::string(78, 'x') + "\n";
        }
        result = check("big.yaml", "workers:\n  a: {command: [sh]}\n" + comments);
        CHECK(result.exit_status == 0);
        result = check("huge.yaml", "workers:\n  a: {command: [sh]}\n" + comments + comments);
        CHECK(result.exit_status == 1);
        CHECK(result.err.find("huge.yaml: is larger than 4 MiB") != std::string::npos);

        // Anchors and aliases work, including a worker reusing another's body
        // and an alias that makes a structure refer to itself.
        result = check("aliases.yaml", "workers:\n  a: &w {command: [sh], env: &e {A: b}}\n"
                                       "  b: *w\n  c: {command: [sh], env: *e}\n");
        CHECK(result.exit_status == 0);
        CHECK(result.out.find("valid, 3 workers") != std::string::npos);
        result = check("cycle.yaml", "workers:\n  a: &x {command: [sh], groups: *x}\n");
        CHECK(result.exit_status == 1);
        CHECK(result.err.find("groups: expected a list of group names") != std::string::npos);
    }

    TEST_CASE("usage errors exit 2 and --help/--version work") {
        auto result = run({switchboard_binary(), "check", "--no-such-flag"});
        CHECK(result.exit_status == 2);
        result = run({switchboard_binary(), "frobnicate"});
        CHECK(result.exit_status == 2);
        result = run({switchboard_binary(), "--version"});
        CHECK(result.exit_status == 0);
        CHECK(result.out.starts_with("switchboard "));
        result = run({switchboard_binary(), "--help"});
        CHECK(result.exit_status == 0);
        CHECK(result.out.find("check") != std::string::npos);
        result = run({switchboard_binary(), "check", "--help"});
        CHECK(result.exit_status == 0);
        CHECK(result.out.find("--json") != std::string::npos);
        result = run({switchboard_binary(), "help", "check"});
        CHECK(result.exit_status == 0);
        CHECK(result.out.find("--json") != std::string::npos);
        CHECK(result.out.find("Usage: switchboard check") != std::string::npos);
        result = run({switchboard_binary(), "help"});
        CHECK(result.exit_status == 0);
        CHECK(result.out.find("Usage: switchboard [OPTIONS]") != std::string::npos);
        CHECK(result.out.find("send") != std::string::npos);
        result = run({switchboard_binary(), "help", "nothing"});
        CHECK(result.exit_status == 2);
    }
}
