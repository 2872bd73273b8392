// `switchboard doctor` on private runtime and state directories.
#include <filesystem>
#include <string>

#include <doctest/doctest.h>

#include "process.hpp"

using sb::test::run;
using sb::test::switchboard_binary;
using sb::test::TempDir;

namespace {

// A healthy environment: private runtime and state directories, a known TERM.
struct Machine {
    TempDir dir;
    sb::test::RunOptions options;

    Machine() {
        dir.write("runtime/switchboard/.keep", "");
        for (const char* private_dir : {"runtime", "runtime/switchboard"}) {
            std::filesystem::permissions(dir.path() / private_dir,
                                         std::filesystem::perms::owner_all,
                                         std::filesystem::perm_options::replace);
        }
        options.env["XDG_RUNTIME_DIR"] = (dir.path() / "runtime").string();
        options.env["XDG_STATE_HOME"] = (dir.path() / "state").string();
        options.env["TERM"] = "xterm-256color";
        options.env["TERMINFO"] = std::nullopt;
        options.env["TERMINFO_DIRS"] = std::nullopt;
        options.cwd = dir.path();
    }
};

bool has_line(const std::string& text, const std::string& start) {
    return text.starts_with(start) || text.find("\n" + start) != std::string::npos;
}

} // namespace

TEST_SUITE("doctor") {
    TEST_CASE("doctor on a healthy machine and workspace: every check ok, exit 0") {
        Machine m;
        const auto file = m.dir.write("ws/switchboard.yaml", "name: healthy\nworkers:\n"
                                                             "  sh: {command: [bash, -i]}\n"
                                                             "  py: {command: \"exec python3\"}\n");
        const auto result = run({switchboard_binary(), "doctor", "-f", file.string()}, m.options);
        CAPTURE(result.out);
        CHECK(result.exit_status == 0);
        CHECK(result.err == "");
        CHECK(has_line(result.out, "workspace \"healthy\" (" + file.string() + ")"));
        CHECK(has_line(result.out, "ok      runtime directory " +
                                       (m.dir.path() / "runtime/switchboard").string() +
                                       " (mode 0700, owned by you)"));
        CHECK(has_line(result.out, "ok      state directory " +
                                       (m.dir.path() / "state/switchboard/healthy").string() +
                                       " is writable"));
        CHECK(has_line(result.out, "ok      SQLite "));
        CHECK(result.out.find("keeps a WAL database there") != std::string::npos);
        CHECK(has_line(result.out, "ok      TERM=xterm-256color is known to terminfo"));
        CHECK(has_line(result.out, "ok      worker \"sh\": bash is /"));
        CHECK(has_line(result.out, "ok      worker \"py\": python3 is /"));
        CHECK(has_line(result.out, "ok      workers' TERM=xterm-256color is known to terminfo"));
        CHECK(has_line(result.out, "no problems found"));
        CHECK(result.out.find("problem ") == std::string::npos);
        // The probe database and its WAL files are gone again.
        std::size_t left = 0;
        for (const auto& entry :
             std::filesystem::directory_iterator(m.dir.path() / "state/switchboard/healthy")) {
            CAPTURE(entry.path());
            ++left;
        }
        CHECK(left == 0);
    }

    TEST_CASE("doctor names each problem and its fix, and exits 1") {
        Machine m;
        std::filesystem::permissions(m.dir.path() / "runtime/switchboard",
                                     std::filesystem::perms::others_read |
                                         std::filesystem::perms::others_exec,
                                     std::filesystem::perm_options::add);
        m.options.env["TERM"] = "no-such-terminal-type";
        m.options.env["PATH"] = "/usr/bin:/bin";
        const auto file = m.dir.write("ws/switchboard.yaml",
                                      "name: sick\nworkers:\n"
                                      "  claude: {command: [claude], env: {PATH: /nonexistent}}\n"
                                      "  tool: {command: [no-such-tool-here, -x]}\n"
                                      "  sh: {command: \"cd /tmp && exec bash\"}\n");
        const auto result = run({switchboard_binary(), "doctor", "-f", file.string()}, m.options);
        CAPTURE(result.out);
        CHECK(result.exit_status == 1);
        const auto runtime = (m.dir.path() / "runtime/switchboard").string();
        CHECK(has_line(result.out, "problem runtime directory: " + runtime +
                                       " is open to other users; make it private with chmod 700"));
        CHECK(has_line(result.out, "problem TERM=no-such-terminal-type has no terminfo entry"));
        CHECK(has_line(result.out, "        fix: install it (Debian: apt-get install "
                                   "ncurses-term), or set TERM to a terminal type that has one"));
        CHECK(has_line(result.out, "problem worker \"claude\": claude is not found on PATH"));
        CHECK(has_line(result.out, "        fix: install claude (npm install -g "
                                   "@anthropic-ai/claude-code), put its directory on PATH, or "
                                   "change the worker's command in " +
                                       file.string()));
        CHECK(has_line(result.out, "problem worker \"tool\": no-such-tool-here is not found on "
                                   "PATH"));
        CHECK(has_line(result.out, "--      worker \"sh\": runs a shell line whose program only "
                                   "the shell can tell; not checked"));
        // What is fine is still said to be.
        CHECK(has_line(result.out, "ok      state directory "));
        CHECK(has_line(result.out, "4 problems found"));
    }

    TEST_CASE("doctor: an unset TERM, an unusable state directory, an invalid workspace") {
        Machine m;
        m.options.env["TERM"] = std::nullopt;
        // A state directory under a regular file cannot be made, even by root.
        m.dir.write("plain-file", "");
        m.options.env["XDG_STATE_HOME"] = (m.dir.path() / "plain-file").string();
        const auto file = m.dir.write("ws/bad.yaml", "workers:\n  a: {comand: [bash]}\n");
        const auto result = run({switchboard_binary(), "doctor", "-f", file.string()}, m.options);
        CAPTURE(result.out);
        CHECK(result.exit_status == 1);
        CHECK(has_line(result.out, "problem " + file.string() + " does not load: 2 errors"));
        CHECK(has_line(result.out, "        fix: `switchboard check -f " + file.string() +
                                       "` lists them with their fixes"));
        CHECK(has_line(result.out, "problem state directory: cannot create " +
                                       (m.dir.path() / "plain-file/switchboard").string()));
        CHECK(result.out.find("set XDG_STATE_HOME to a directory of yours") != std::string::npos);
        CHECK(has_line(result.out, "problem SQLite: not checked without a state directory"));
        CHECK(has_line(result.out, "problem TERM is not set"));
        CHECK(has_line(result.out, "4 problems found"));
    }

    TEST_CASE("doctor without a workspace file checks the machine only") {
        Machine m;
        const auto result = run({switchboard_binary(), "doctor"}, m.options);
        CAPTURE(result.out);
        CHECK(result.exit_status == 0);
        CHECK(has_line(result.out, "no workspace file: checking the environment only (name one "
                                   "with -f FILE to check its workers too)"));
        CHECK(has_line(result.out, "ok      state directory " +
                                       (m.dir.path() / "state/switchboard").string() +
                                       " is writable"));
        CHECK(result.out.find("ok      worker") == std::string::npos);
    }
}
