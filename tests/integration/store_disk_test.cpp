// The delivery store on a full disk: sends are refused cleanly, nothing
// accepted is lost, and delivery resumes once there is room again.
//
// The state directory is a 2 MiB tmpfs mounted in a mount namespace of the
// test's own, so the mount ends with the test whatever happens. Mounting
// needs privileges; without them the suite is skipped (exit status 77).
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <iostream>
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "agents.hpp"
#include "process.hpp"
#include "workspace_server.hpp"

using namespace std::chrono_literals;
using nlohmann::json;
using sb::test::agent_worker;
using sb::test::events_of;
using sb::test::eventually;
using sb::test::logged;
using sb::test::WorkspaceServer;

namespace {

[[noreturn]] void skip(const std::string& why) {
    std::cout << "skipped: " << why << '\n' << std::flush;
    // _exit: the suite is skipped as a whole, with nothing of it run.
    ::_exit(77);
}

// Fills the file system that holds `directory` to the last byte.
void fill(const std::filesystem::path& directory) {
    const auto file = directory / "filler";
    const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    REQUIRE(fd >= 0);
    const std::string block(4096, 'x');
    while (::write(fd, block.data(), block.size()) > 0) {
    }
    const int error = errno;
    // Whatever is left below a block.
    while (::write(fd, block.data(), 1) > 0) {
    }
    ::close(fd);
    REQUIRE_MESSAGE(error == ENOSPC, std::strerror(error));
}

json pending(const WorkspaceServer& ws) {
    return json::parse(ws.cli({"pending", "--json"}).out)["deliveries"];
}

} // namespace

TEST_SUITE("store-disk") {
    TEST_CASE("a full disk refuses sends, loses nothing accepted, and delivery resumes") {
        if (::unshare(CLONE_NEWNS) != 0) {
            skip(std::string("cannot make a mount namespace: ") + std::strerror(errno));
        }
        if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
            skip(std::string("cannot make mounts private: ") + std::strerror(errno));
        }
        WorkspaceServer ws("workers:\n" +
                           agent_worker("agent", "agent.log", "",
                                        "    delivery: {idle: 0ms, throttle: {min: 1ms}}\n"));
        std::filesystem::create_directories(ws.state());
        if (::mount("tmpfs", ws.state().c_str(), "tmpfs", 0, "size=2m,mode=0700") != 0) {
            skip(std::string("cannot mount a tmpfs: ") + std::strerror(errno));
        }
        REQUIRE(ws.start());
        REQUIRE(ws.cli({"hold", "agent"}).exit_status == 0);
        for (const auto* text : {"one", "two", "three"}) {
            REQUIRE(ws.cli({"send", "agent", text}).exit_status == 0);
        }

        fill(ws.state());
        // Sends are refused with the reason while the disk is full.
        const std::string big(20000, 'b');
        for (int i = 0; i < 3; ++i) {
            const auto refused = ws.cli({"send", "agent", big});
            CHECK(refused.exit_status == 1);
            CHECK(refused.out.empty());
            CHECK(refused.err.find("was not accepted") != std::string::npos);
            CHECK(refused.err.find("full") != std::string::npos);
        }
        CHECK_FALSE(events_of(ws, "store_error").empty());
        // Injection waits for the store: nothing is typed it could not record.
        REQUIRE(ws.cli({"release", "agent"}).exit_status == 0);
        REQUIRE(eventually(
            [&] {
                const auto p = pending(ws);
                return p.size() == 3 && p[0].value("waiting_for", "") == "store";
            },
            10000ms));
        CHECK(logged(ws.directory() / "agent.log").empty());
        REQUIRE(pending(ws).size() == 3);

        // Room again: everything accepted is delivered, once, in order.
        std::filesystem::remove(ws.state() / "filler");
        const auto log = logged(ws.directory() / "agent.log", 3);
        CHECK(log == std::vector<std::string>{"[from user · d-1] one", "[from user · d-2] two",
                                              "[from user · d-3] three"});
        const auto sent = ws.cli({"send", "agent", "four", "--wait"});
        CHECK(sent.exit_status == 0);
        CHECK(sent.out.starts_with("d-4\n"));
        CHECK(logged(ws.directory() / "agent.log", 4).size() == 4);

        REQUIRE(ws.cli({"down"}).exit_status == 0);
        REQUIRE(ws.server().wait(20000ms));
        ::umount2(ws.state().c_str(), MNT_DETACH);
    }
}
