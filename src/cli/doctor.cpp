#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include <fmt/format.h>
#include <sqlite3.h>

#include "cli/command.hpp"
#include "cli/workspace_file.hpp"
#include "util/paths.hpp"
#include "workspace/load.hpp"
#include "workspace/validate.hpp"

namespace sb::cli {

namespace {

// One line of the report: what was checked, and for a problem what to do.
struct Finding {
    bool ok = true;
    std::string what;
    std::string fix;
};

class Report {
public:
    void ok(std::string what) { print({true, std::move(what), ""}); }
    void problem(std::string what, std::string fix) {
        ++problems_;
        print({false, std::move(what), std::move(fix)});
    }
    void note(const std::string& what) { std::cout << "--      " << what << '\n'; }
    int problems() const { return problems_; }

private:
    static void print(const Finding& finding) {
        std::cout << (finding.ok ? "ok      " : "problem ") << finding.what << '\n';
        if (!finding.fix.empty()) {
            std::cout << "        fix: " << finding.fix << '\n';
        }
    }
    int problems_ = 0;
};

// The directories ncurses searches for a compiled terminfo entry, in its
// order (terminfo(5)).
std::vector<std::filesystem::path> terminfo_directories() {
    std::vector<std::filesystem::path> out;
    if (const char* terminfo = std::getenv("TERMINFO"); terminfo != nullptr && *terminfo) {
        out.emplace_back(terminfo);
    }
    if (const char* home = std::getenv("HOME"); home != nullptr && *home) {
        out.push_back(std::filesystem::path(home) / ".terminfo");
    }
    if (const char* dirs = std::getenv("TERMINFO_DIRS"); dirs != nullptr && *dirs) {
        std::string list = dirs;
        std::size_t start = 0;
        while (start <= list.size()) {
            const auto end = std::min(list.find(':', start), list.size());
            if (end > start) {
                out.emplace_back(list.substr(start, end - start));
            }
            start = end + 1;
        }
    }
    for (const char* dir : {"/etc/terminfo", "/lib/terminfo", "/usr/share/terminfo",
                            "/usr/lib/terminfo", "/usr/local/share/terminfo"}) {
        out.emplace_back(dir);
    }
    return out;
}

// Where the terminfo entry of `term` is, if any: DIR/x/NAME, or DIR/78/NAME
// on file systems that fold case.
std::optional<std::filesystem::path> find_terminfo(const std::string& term) {
    if (term.empty() || term.find('/') != std::string::npos) {
        return std::nullopt;
    }
    const std::string first(1, term[0]);
    const std::string hex = fmt::format("{:02x}", static_cast<unsigned char>(term[0]));
    for (const auto& dir : terminfo_directories()) {
        for (const auto& sub : {first, hex}) {
            std::error_code ec;
            const auto candidate = dir / sub / term;
            if (std::filesystem::is_regular_file(candidate, ec)) {
                return candidate;
            }
        }
    }
    return std::nullopt;
}

void check_runtime_directory(Report& report) {
    auto runtime = util::runtime_directory();
    if (auto* failure = std::get_if<util::PathError>(&runtime)) {
        report.problem("runtime directory: " + failure->message,
                       "the server cannot listen until this is fixed; see FILES in "
                       "switchboard(1)");
        return;
    }
    report.ok("runtime directory " + std::get<std::filesystem::path>(runtime).string() +
              " (mode 0700, owned by you)");
}

// Makes sure `directory` takes new files; returns the error text otherwise.
std::string writable_error(const std::filesystem::path& directory) {
    std::string probe = (directory / "doctor-XXXXXX").string();
    const int fd = ::mkstemp(probe.data());
    if (fd < 0) {
        return std::strerror(errno);
    }
    std::string error;
    if (::write(fd, "ok\n", 3) != 3) {
        error = std::strerror(errno);
    }
    ::close(fd);
    ::unlink(probe.c_str());
    return error;
}

// Creates a WAL database in `directory`, writes to it and removes it: what
// the delivery store needs from SQLite and the file system.
std::string sqlite_error(const std::filesystem::path& directory) {
    std::string path = (directory / "doctor-XXXXXX").string();
    const int fd = ::mkstemp(path.data());
    if (fd < 0) {
        return std::string("cannot create a file: ") + std::strerror(errno);
    }
    ::close(fd);
    std::string error;
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
        SQLITE_OK) {
        error = std::string("open: ") + (db != nullptr ? sqlite3_errmsg(db) : "out of memory");
    } else {
        std::string mode;
        char* message = nullptr;
        const auto keep_mode = [](void* out, int, char** values, char**) -> int {
            *static_cast<std::string*>(out) = values[0] != nullptr ? values[0] : "";
            return 0;
        };
        if (sqlite3_exec(db, "PRAGMA journal_mode=WAL", keep_mode, &mode, &message) != SQLITE_OK) {
            error = std::string("journal_mode=WAL: ") + (message ? message : "failed");
        } else if (mode != "wal") {
            error = "the file system does not support WAL (journal mode stayed \"" + mode + "\")";
        } else if (sqlite3_exec(db,
                                "BEGIN; CREATE TABLE probe(x); INSERT INTO probe VALUES (1); "
                                "COMMIT;",
                                nullptr, nullptr, &message) != SQLITE_OK) {
            error = std::string("write: ") + (message ? message : "failed");
        }
        sqlite3_free(message);
    }
    sqlite3_close(db);
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
        ::unlink((path + suffix).c_str());
    }
    return error;
}

void check_state(Report& report, const std::optional<workspace::Workspace>& workspace) {
    auto state = workspace ? util::state_directory(workspace->name) : util::state_base_directory();
    if (auto* failure = std::get_if<util::PathError>(&state)) {
        report.problem("state directory: " + failure->message,
                       "the server keeps its log and delivery store there");
        report.problem("SQLite: not checked without a state directory",
                       "fix the state directory first");
        return;
    }
    const auto directory = std::get<std::filesystem::path>(state);
    if (auto error = writable_error(directory); !error.empty()) {
        report.problem("state directory " + directory.string() + " is not writable: " + error,
                       "make it writable by you (chmod u+rwx), or set XDG_STATE_HOME to a "
                       "directory of yours");
        return;
    }
    report.ok("state directory " + directory.string() + " is writable");
    if (auto error = sqlite_error(directory); !error.empty()) {
        report.problem("SQLite " + std::string(sqlite3_libversion()) +
                           " cannot keep a database in " + directory.string() + ": " + error,
                       "put the state directory on a local file system (set XDG_STATE_HOME); "
                       "network file systems do not support WAL");
        return;
    }
    report.ok("SQLite " + std::string(sqlite3_libversion()) + " keeps a WAL database there");
}

void check_terminal(Report& report) {
    const char* term = std::getenv("TERM");
    if (term == nullptr || *term == '\0') {
        report.problem("TERM is not set",
                       "run switchboard from a terminal, or set TERM (for example "
                       "export TERM=xterm-256color)");
        return;
    }
    if (auto entry = find_terminfo(term)) {
        report.ok(fmt::format("TERM={} is known to terminfo ({})", term, entry->string()));
        return;
    }
    report.problem(fmt::format("TERM={} has no terminfo entry", term),
                   "install it (Debian: apt-get install ncurses-term), or set TERM to a "
                   "terminal type that has one, such as xterm-256color");
}

// How to install the agent CLIs the built-in profiles know.
std::string install_hint(const std::string& program) {
    if (program == "claude") {
        return "npm install -g @anthropic-ai/claude-code";
    }
    if (program == "codex") {
        return "npm install -g @openai/codex";
    }
    if (program == "gemini") {
        return "npm install -g @google/gemini-cli";
    }
    if (program == "aider") {
        return "python3 -m pip install aider-install && aider-install";
    }
    return "";
}

void check_workers(Report& report, const workspace::Workspace& ws) {
    const auto environment = workspace::process_environment();
    std::vector<std::string> terms_checked;
    for (const auto& worker : ws.workers) {
        const std::string who = "worker \"" + worker.name + "\": ";
        const std::string program = workspace::program_of(worker.command);
        if (program.empty()) {
            report.note(who + "runs a shell line whose program only the shell can tell; "
                              "not checked");
        } else if (auto found = workspace::find_program(
                       program, workspace::search_path_of(worker, environment), worker.cwd)) {
            report.ok(who + program + " is " + found->string());
        } else {
            std::string fix = "install " + program;
            if (auto hint = install_hint(program); !hint.empty()) {
                fix += " (" + hint + ")";
            }
            fix += ", put its directory on PATH, or change the worker's command in " +
                   ws.file.string();
            report.problem(who + program + " is not found on PATH", fix);
        }
        // The workers' terminal type, which the programs in them look up.
        const auto term_setting = worker.settings.env.find("TERM");
        const std::string term =
            term_setting != worker.settings.env.end() ? term_setting->second : "xterm-256color";
        if (std::find(terms_checked.begin(), terms_checked.end(), term) != terms_checked.end()) {
            continue;
        }
        terms_checked.push_back(term);
        if (!find_terminfo(term)) {
            report.problem(fmt::format("workers' TERM={} has no terminfo entry", term),
                           "install it (Debian: apt-get install ncurses-term ncurses-base), or "
                           "set another TERM in the workspace's env");
        } else {
            report.ok(fmt::format("workers' TERM={} is known to terminfo", term));
        }
    }
}

struct DoctorOptions {};

int run_doctor(const GlobalOptions& globals, const DoctorOptions&) {
    Report report;
    std::optional<workspace::Workspace> ws;
    std::string error;
    const auto choice = choose_workspace_file(globals, error);
    if (!choice) {
        std::cout << "no workspace file: checking the environment only (name one with -f FILE "
                     "to check its workers too)\n";
    } else {
        auto loaded = workspace::load_file(choice->path);
        if (loaded.workspace) {
            ws = std::move(loaded.workspace);
            std::cout << "workspace \"" << ws->name << "\" (" << choice->path.string() << ")\n";
        } else {
            std::cout << "workspace file " << choice->path.string() << "\n";
            const auto errors = loaded.diagnostics.error_count();
            report.problem(fmt::format("{} does not load: {} error{}", choice->path.string(),
                                       errors, errors == 1 ? "" : "s"),
                           "`switchboard check -f " + choice->path.string() +
                               "` lists them with their fixes");
        }
    }

    check_runtime_directory(report);
    check_state(report, ws);
    check_terminal(report);
    if (ws) {
        check_workers(report, *ws);
    }

    if (report.problems() == 0) {
        std::cout << "no problems found\n";
        return exit_ok;
    }
    std::cout << report.problems() << " problem" << (report.problems() == 1 ? "" : "s")
              << " found\n";
    return exit_failure;
}

std::function<int()> define(CommandOptions& command, const GlobalOptions& globals) {
    auto options = std::make_shared<DoctorOptions>();
    command.footer("Checks the runtime directory (sockets), the state directory and SQLite "
                   "(delivery store), TERM, and with a workspace file the program of every "
                   "worker; prints what to do about each problem. Exit status: 0 no problems, 1 "
                   "some problem, 2 usage error.");
    return [&globals, options] { return run_doctor(globals, *options); };
}

} // namespace

extern const CommandSpec doctor_command;
const CommandSpec doctor_command{
    "doctor",
    "Check this machine and a workspace's programs, and say how to fix each problem",
    &define,
};

} // namespace sb::cli
