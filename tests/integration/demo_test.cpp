// `switchboard demo` end to end: the embedded workspace with real bash and
// python3, on private directories, leaving nothing behind.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <doctest/doctest.h>

#include "process.hpp"

using namespace std::chrono_literals;
using sb::test::run;
using sb::test::switchboard_binary;
using sb::test::TempDir;

namespace {

// Whether any process still has `text` in its command line or environment.
std::string process_mentioning(const std::string& text) {
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
        const auto name = entry.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos) {
            continue;
        }
        for (const char* file : {"cmdline", "environ"}) {
            std::ifstream in(entry.path() / file);
            const std::string contents(std::istreambuf_iterator<char>(in), {});
            if (contents.find(text) != std::string::npos) {
                return name;
            }
        }
    }
    return "";
}

std::size_t entries(const std::filesystem::path& dir) {
    std::size_t count = 0;
    for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir)) {
        ++count;
    }
    return count;
}

} // namespace

TEST_SUITE("demo") {
    TEST_CASE("demo --no-attach runs the exchanges, reports them and leaves nothing behind") {
        TempDir dir;
        dir.write("tmp/.keep", "");
        dir.write("user-runtime/.keep", "");
        std::filesystem::permissions(dir.path() / "user-runtime", std::filesystem::perms::owner_all,
                                     std::filesystem::perm_options::replace);
        sb::test::RunOptions options;
        options.env["TMPDIR"] = (dir.path() / "tmp").string();
        // The user's own directories, which the demo must not touch.
        options.env["XDG_RUNTIME_DIR"] = (dir.path() / "user-runtime").string();
        options.env["XDG_STATE_HOME"] = (dir.path() / "user-state").string();
        // As if run from inside a worker of another workspace.
        options.env["SWITCHBOARD_SOCKET"] = (dir.path() / "user-runtime/other.sock").string();
        options.env["SWITCHBOARD_WORKER"] = "someone";
        options.timeout = 300s;
        std::filesystem::remove(dir.path() / "tmp/.keep");
        std::filesystem::remove(dir.path() / "user-runtime/.keep");

        const auto result =
            run({switchboard_binary(), "demo", "--no-attach", "--exchanges", "2"}, options);
        CAPTURE(result.out);
        CAPTURE(result.err);
        CHECK_FALSE(result.timed_out);
        CHECK(result.exit_status == 0);
        CHECK(result.err == "");
        CHECK(result.out.find("(This build cannot attach") == std::string::npos);
        CHECK(result.out.find("exchange 1: demo -> planner \"task 1\" -> coder \"solve(1)\" -> "
                              "planner \"answer 1 1\"") != std::string::npos);
        CHECK(result.out.find("exchange 2:") != std::string::npos);
        CHECK(result.out.find("exchange 3:") == std::string::npos);

        // The event log: every delivery queued and verified, from each sender.
        CHECK(result.out.find("delivery_queued      planner      bytes=6 from=demo") !=
              std::string::npos);
        CHECK(result.out.find("delivery_queued      coder        bytes=8 from=planner") !=
              std::string::npos);
        CHECK(result.out.find("delivery_queued      planner      bytes=10 from=coder") !=
              std::string::npos);
        CHECK(result.out.find("delivery_verified    planner") != std::string::npos);
        CHECK(result.out.find("delivery_verified    coder") != std::string::npos);

        // The planner checked both answers.
        CHECK(result.out.find("  | planner: square(1) = 1, correct") != std::string::npos);
        CHECK(result.out.find("  | planner: square(2) = 4, correct") != std::string::npos);

        // Six deliveries, each with an outcome; none dropped. (An echo that
        // comes later than verify_timeout on a loaded machine is reported
        // as unverified, so the split between the two is not pinned.)
        const auto summary = result.out.find("summary: 2 of 2 exchanges; 6 deliveries: ");
        REQUIRE(summary != std::string::npos);
        const auto line = result.out.substr(summary, result.out.find('\n', summary) - summary);
        CAPTURE(line);
        int verified = -1;
        int unverified = -1;
        int dropped = -1;
        REQUIRE(std::sscanf(line.c_str() + line.find("deliveries: ") + 12,
                            "%d verified by echo, %d unverified (timeout fallback), %d dropped",
                            &verified, &unverified, &dropped) == 3);
        CHECK(verified + unverified == 6);
        CHECK(dropped == 0);
        CHECK(result.out.find("\n  typed in -> echo seen: median ") != std::string::npos);
        CHECK(result.out.find("\n  queued -> outcome:     median ") != std::string::npos);
        CHECK(result.out.find("demo server stopped; nothing is left running") != std::string::npos);

        // Its private directory is gone, the user's directories are untouched
        // and no process of the demo is left.
        CHECK(entries(dir.path() / "tmp") == 0);
        CHECK(entries(dir.path() / "user-runtime") == 0);
        CHECK_FALSE(std::filesystem::exists(dir.path() / "user-state"));
        CHECK(process_mentioning((dir.path() / "tmp").string()) == "");
    }

    TEST_CASE("demo refuses a number of exchanges out of range") {
        const auto result = run({switchboard_binary(), "demo", "--exchanges", "0"});
        CHECK(result.exit_status == 2);
        CHECK(result.err.find("--exchanges") != std::string::npos);
    }
}
