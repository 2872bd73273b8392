#include <algorithm>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include <doctest/doctest.h>

#include "process.hpp"
#include "util/strings.hpp"
#include "workspace/expand.hpp"
#include "workspace/load.hpp"
#include "workspace/locate.hpp"
#include "workspace/validate.hpp"

namespace ws = sb::workspace;

namespace {

// A fixed environment, so what `${VAR}` expands to and what PATH finds do not
// depend on the machine running the tests.
ws::EnvironmentLookup fake_environment() {
    static const std::map<std::string, std::string, std::less<>> vars = {
        {"HOME", "/root"},
        {"PATH", "/usr/bin:/bin"},
        {"EDITOR", "vi"},
        {"EMPTY", ""},
    };
    return [](std::string_view name) -> std::optional<std::string> {
        if (auto it = vars.find(name); it != vars.end()) {
            return it->second;
        }
        return std::nullopt;
    };
}

ws::LoadResult load(const std::string& yaml, const std::filesystem::path& directory = "/tmp") {
    return ws::load_text(yaml, "switchboard.yaml", directory, fake_environment());
}

std::string messages(const ws::LoadResult& result) {
    std::vector<std::string> lines;
    for (const auto& d : result.diagnostics.all()) {
        lines.push_back(d.to_string());
    }
    return sb::util::join(lines, "\n");
}

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
    for (std::size_t at = text.find(from); at != std::string::npos;
         at = text.find(from, at + to.size())) {
        text.replace(at, from.size(), to);
    }
    return text;
}

} // namespace

TEST_SUITE("workspace") {
    TEST_CASE("a minimal workspace takes every default") {
        const auto result = load("workers:\n  alice:\n    command: [bash]\n");
        REQUIRE_MESSAGE(result.workspace, messages(result));
        const auto& w = *result.workspace;
        CHECK(w.name == "tmp");
        CHECK(w.version == 1);
        REQUIRE(w.workers.size() == 1);
        const auto& alice = w.workers[0];
        CHECK(alice.name == "alice");
        CHECK(alice.command.argv == std::vector<std::string>{"bash"});
        CHECK_FALSE(alice.command.via_shell);
        CHECK(alice.cwd == "/tmp");
        CHECK(alice.settings == ws::WorkerSettings{});
        CHECK(w.attach.prefix == "C-b");
    }

    TEST_CASE("workers override defaults key by key and env merges") {
        sb::test::TempDir dir;
        dir.write("sub/dir/.keep", "");
        const auto result = load(R"(
name: review-team
defaults:
  size: {cols: 100, rows: 30}
  scrollback: 500
  env: {LANG: C.UTF-8, A: one}
  restart: always
  stop_timeout: 2s
  profile: shell
  delivery:
    max_pending: 10
    idle: 250ms
    throttle: {min: 50ms}
workers:
  alice:
    command: "echo ${HOME} $$PATH"
    size: {rows: 50}
    env: {A: two, B: "${MISSING:-fallback}", C: "${EMPTY:-was-empty}"}
    delivery: {verify_timeout: 1.5s}
    groups: [reviewers, leads]
  bob:
    command: [python3, -q]
    cwd: sub/dir
    restart: never
)",
                                 dir.path());
        REQUIRE_MESSAGE(result.workspace, messages(result));
        const auto& w = *result.workspace;
        CHECK(w.name == "review-team");
        REQUIRE(w.workers.size() == 2);
        const auto& alice = w.workers[0];
        CHECK(alice.command.via_shell);
        // Only env values and cwd are expanded; a shell command keeps its text.
        CHECK(alice.command.shell_line == "echo ${HOME} $$PATH");
        CHECK(alice.settings.size == ws::Size{100, 50});
        CHECK(alice.settings.scrollback == 500);
        CHECK(alice.settings.env ==
              ws::Environment{
                  {"LANG", "C.UTF-8"}, {"A", "two"}, {"B", "fallback"}, {"C", "was-empty"}});
        CHECK(alice.settings.restart == ws::RestartPolicy::Always);
        CHECK(alice.settings.stop_timeout == std::chrono::seconds(2));
        CHECK(alice.settings.profile == "shell");
        CHECK(alice.settings.delivery.max_pending == 10);
        CHECK(alice.settings.delivery.idle == std::chrono::milliseconds(250));
        CHECK(alice.settings.delivery.verify_timeout == std::chrono::milliseconds(1500));
        CHECK(alice.settings.delivery.throttle.min == std::chrono::milliseconds(50));
        CHECK(alice.settings.delivery.throttle.max == std::chrono::milliseconds(5000));
        CHECK(alice.groups == std::vector<std::string>{"reviewers", "leads"});
        const auto& bob = w.workers[1];
        CHECK(bob.settings.restart == ws::RestartPolicy::Never);
        CHECK(bob.settings.env == ws::Environment{{"LANG", "C.UTF-8"}, {"A", "one"}});
        CHECK(bob.cwd == dir.path() / "sub/dir");
    }

    TEST_CASE("workers keep the order of the file") {
        const auto result = load("workers:\n  zed: {command: [bash]}\n  amy: {command: [bash]}\n  "
                                 "max: {command: [bash]}\n");
        REQUIRE(result.workspace);
        std::vector<std::string> names;
        for (const auto& worker : result.workspace->workers) {
            names.push_back(worker.name);
        }
        CHECK(names == std::vector<std::string>{"zed", "amy", "max"});
    }

    TEST_CASE("size accepts the COLSxROWS short form") {
        const auto result = load("defaults: {size: 80x24}\nworkers: {a: {command: [bash]}}\n");
        REQUIRE(result.workspace);
        CHECK(result.workspace->workers[0].settings.size == ws::Size{80, 24});
    }

    TEST_CASE("delivery timing, body limit and profile overrides") {
        const auto result = load(R"(
defaults:
  profile: claude
  delivery:
    hold: 1s
    max_body: 1000
    ready_pattern: '^\$ $'
    paste: false
    submit_key: C-j
workers:
  alice:
    command: [bash]
    delivery:
      ready_timeout: 2.5s
      busy_pattern: "working|thinking"
      placeholder_pattern: ""
      header: false
      queues_input: true
      paste: true
      body_delay: 20ms
      wait_for_echo: false
  bob:
    command: [bash]
    delivery: {hold: 0ms, max_body: 16777216, submit_key: Tab}
)");
        REQUIRE_MESSAGE(result.workspace, messages(result));
        const auto& w = *result.workspace;
        CHECK(w.defaults.delivery.hold == std::chrono::seconds(1));
        CHECK(w.defaults.delivery.ready_timeout == std::chrono::seconds(10));
        CHECK_FALSE(w.defaults.delivery.busy_pattern);
        const auto& alice = w.workers[0].settings.delivery;
        // The worker's keys replace those of defaults one by one.
        CHECK(alice.hold == std::chrono::seconds(1));
        CHECK(alice.ready_timeout == std::chrono::milliseconds(2500));
        CHECK(alice.max_body == 1000);
        CHECK(alice.ready_pattern == std::optional<std::string>("^\\$ $"));
        CHECK(alice.busy_pattern == std::optional<std::string>("working|thinking"));
        CHECK(alice.placeholder_pattern == std::optional<std::string>(""));
        CHECK(alice.submit_key == std::optional<std::string>("C-j"));
        CHECK(alice.paste == std::optional<bool>(true));
        CHECK(alice.header == std::optional<bool>(false));
        CHECK(alice.queues_input == std::optional<bool>(true));
        CHECK(alice.body_delay == std::optional<std::chrono::milliseconds>(20));
        CHECK(alice.wait_for_echo == std::optional<bool>(false));
        const auto& bob = w.workers[1].settings.delivery;
        CHECK(bob.hold == std::chrono::milliseconds(0));
        CHECK(bob.max_body == 16777216);
        CHECK(bob.submit_key == std::optional<std::string>("Tab"));
        CHECK(bob.paste == std::optional<bool>(false));
        CHECK_FALSE(bob.header);
        CHECK_FALSE(bob.queues_input);
        CHECK_FALSE(bob.body_delay);
        CHECK_FALSE(bob.wait_for_echo);
        CHECK(ws::submit_key_bytes("Tab") == "\t");
        CHECK(ws::submit_key_bytes("C-j") == "\n");
        CHECK(ws::submit_key_bytes("Enter") == "\r");
        CHECK(ws::submit_key_bytes("Return").empty());
    }

    TEST_CASE("unset profile overrides and defaults of the new delivery keys") {
        const auto result = load("workers:\n  alice:\n    command: [bash]\n");
        REQUIRE_MESSAGE(result.workspace, messages(result));
        const auto& d = result.workspace->workers[0].settings.delivery;
        CHECK(d.hold == std::chrono::seconds(3));
        CHECK(d.ready_timeout == std::chrono::seconds(10));
        CHECK(d.max_body == 65536);
        CHECK_FALSE(d.ready_pattern);
        CHECK_FALSE(d.busy_pattern);
        CHECK_FALSE(d.placeholder_pattern);
        CHECK_FALSE(d.submit_key);
        CHECK_FALSE(d.paste);
        CHECK_FALSE(d.header);
        CHECK_FALSE(d.queues_input);
    }

    TEST_CASE("a pattern that is not a regular expression is an error at its value") {
        const auto result = load("workers:\n  alice:\n    command: [bash]\n"
                                 "    delivery: {ready_pattern: \"(unclosed\"}\n");
        CHECK_FALSE(result.workspace);
        const auto text = messages(result);
        CHECK_MESSAGE(text.starts_with("switchboard.yaml:4:31: worker \"alice\": "
                                       "delivery.ready_pattern: \"(unclosed\" is not a valid "
                                       "regular expression ("),
                      text);
        // The reason is std::regex's own words.
        std::string reason;
        try {
            const std::regex compiled("(unclosed");
        } catch (const std::regex_error& failure) {
            reason = failure.what();
        }
        CHECK(text.ends_with("(" + reason + ")"));
    }

    TEST_CASE("flags are plain true or false, and the submit key is a known name") {
        const auto result = load(R"(workers:
  alice:
    command: [bash]
    delivery: {paste: yes, header: "true", queues_input: [x], submit_key: enter}
)");
        CHECK_FALSE(result.workspace);
        CHECK(messages(result) ==
              "switchboard.yaml:4:75: worker \"alice\": delivery.submit_key: unknown value "
              "\"enter\" (did you mean \"Enter\"?)\n"
              "switchboard.yaml:4:23: worker \"alice\": delivery.paste: expected true or false, "
              "got \"yes\"\n"
              "switchboard.yaml:4:36: worker \"alice\": delivery.header: expected true or false, "
              "got the string \"true\"; remove the quotes\n"
              "switchboard.yaml:4:58: worker \"alice\": delivery.queues_input: expected true or "
              "false, got a list");
    }

    TEST_CASE("the default name derives from the directory") {
        sb::test::TempDir dir;
        dir.write("My Project.v2/.keep", "");
        const auto result = ws::load_text("workers: {a: {command: [bash]}}\n", "x.yaml",
                                          dir.path() / "My Project.v2", fake_environment());
        REQUIRE_MESSAGE(result.workspace, messages(result));
        CHECK(result.workspace->name == "my-project-v2");
    }

    TEST_CASE("every error is reported, not only the first") {
        const auto result = load(R"(workers:
  alice:
    comand: [bash]
    scrollback: -1
  Bob:
    command: [bash]
)");
        CHECK_FALSE(result.workspace);
        CHECK(result.diagnostics.error_count() == 4);
    }

    TEST_CASE("a program missing from PATH is a warning, not an error") {
        const auto result = load("workers:\n  a:\n    command: [no-such-agent-cli, --x]\n");
        REQUIRE(result.workspace);
        CHECK(result.diagnostics.warning_count() == 1);
        CHECK(
            messages(result) ==
            "switchboard.yaml:3:14: warning: worker \"a\": command: program \"no-such-agent-cli\" "
            "is not found on PATH (the worker will fail to start until it is installed; "
            "`switchboard doctor` says how)");
    }

    TEST_CASE("variable expansion") {
        const auto env = fake_environment();
        const auto expand = [&](std::string_view text) -> std::string {
            auto result = ws::expand_variables(text, env);
            if (auto* error = std::get_if<ws::ExpansionError>(&result)) {
                return "error: " + error->message;
            }
            return std::get<std::string>(result);
        };
        CHECK(expand("${HOME}/x") == "/root/x");
        CHECK(expand("${NOPE:-d}") == "d");
        CHECK(expand("${NOPE:-}") == "");
        CHECK(expand("${EMPTY:-e}") == "e");
        CHECK(expand("$HOME and $$") == "$HOME and $");
        CHECK(expand("$${HOME}") == "${HOME}");
        CHECK(expand("${NOPE}") ==
              "error: ${NOPE} is not set in the environment; set it or write ${NOPE:-default}");
        CHECK(expand("${HOME") ==
              "error: \"${\" without a closing \"}\" (write $${ for a literal ${)");
        CHECK(expand("${1X}").starts_with("error: \"${1X}\" is not a variable reference"));
    }

    TEST_CASE("the program of a shell line") {
        CHECK(ws::program_of_shell_line("codex --full-auto") == "codex");
        CHECK(ws::program_of_shell_line("FOO=1 exec nohup claude") == "claude");
        CHECK(ws::program_of_shell_line("cd x && make") == "");
        CHECK(ws::program_of_shell_line("\"$EDITOR\" file") == "");
        CHECK(ws::program_of_shell_line("  ") == "");
    }

    TEST_CASE("locate finds the nearest workspace file") {
        sb::test::TempDir dir;
        dir.write("switchboard.yml", "workers: {}\n");
        dir.write("a/b/c/.keep", "");
        CHECK(ws::locate(dir.path() / "a/b/c") == dir.path() / "switchboard.yml");
        dir.write("a/switchboard.yaml", "workers: {}\n");
        dir.write("a/switchboard.yml", "workers: {}\n");
        CHECK(ws::locate(dir.path() / "a/b") == dir.path() / "a/switchboard.yaml");
    }

    TEST_CASE("the example workspaces load cleanly") {
        const auto root = sb::test::test_data("../contrib/examples");
        int loaded = 0;
        for (const auto& entry : std::filesystem::directory_iterator(root)) {
            if (entry.path().extension() != ".yaml") {
                continue;
            }
            CAPTURE(entry.path());
            const auto result = ws::load_file(entry.path(), fake_environment());
            for (const auto& d : result.diagnostics.all()) {
                // Agent CLIs may not be installed where the tests run.
                CHECK_MESSAGE(d.severity == ws::Severity::Warning, d.to_string());
            }
            CHECK(result.workspace);
            ++loaded;
        }
        CHECK(loaded >= 2);
    }

    TEST_CASE("every malformed workspace gives exactly its pinned errors") {
        const auto directory = sb::test::test_data("workspace/bad");
        std::vector<std::filesystem::path> files;
        for (const auto& entry : std::filesystem::directory_iterator(directory)) {
            if (entry.path().extension() == ".yaml") {
                files.push_back(entry.path());
            }
        }
        std::sort(files.begin(), files.end());
        CHECK(files.size() >= 30);
        for (const auto& file : files) {
            CAPTURE(file.filename());
            auto expected_path = file;
            expected_path.replace_extension(".err");
            REQUIRE_MESSAGE(std::filesystem::exists(expected_path), "missing ", expected_path);
            const std::string expected = replace_all(read_file(expected_path), "@DIR@",
                                                     directory.lexically_normal().string());
            const std::string text = read_file(file);
            // The first line says what the case is about.
            CHECK(text.starts_with("# "));
            const auto result = ws::load_text(text, file.filename().string(),
                                              directory.lexically_normal(), fake_environment());
            CHECK_FALSE(result.workspace);
            CHECK(messages(result) + "\n" == expected);
        }
    }
}
