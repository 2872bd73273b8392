#include "server/run.hpp"

#include <signal.h>

#include <uv.h>

#include "server/server.hpp"
#include "util/log.hpp"

namespace sb::server {

int run(workspace::Workspace workspace, worker::WorkerContext context,
        const std::filesystem::path& store_file,
        const std::function<void(const std::string& error)>& on_ready) {
    auto log = sb::log::get("server");
    // A client that hangs up while the server writes to it must cost the
    // server an EPIPE, not its life. Workers get default dispositions back
    // when they are spawned.
    ::signal(SIGPIPE, SIG_IGN);
    uv_loop_t loop;
    if (const int error = uv_loop_init(&loop); error != 0) {
        const std::string message =
            std::string("cannot start the event loop: ") + uv_strerror(error);
        log->error("{}", message);
        if (on_ready) {
            on_ready(message);
        }
        return 1;
    }
    int status = 0;
    {
        Server server(&loop, std::move(workspace), std::move(context), store_file);
        if (auto error = server.start()) {
            log->error("{}", *error);
            if (on_ready) {
                on_ready(*error);
            }
            status = 1;
        } else {
            if (on_ready) {
                on_ready("");
            }
            uv_run(&loop, UV_RUN_DEFAULT);
        }
    }
    // Let the close callbacks of everything the server owned run.
    uv_run(&loop, UV_RUN_DEFAULT);
    if (const int error = uv_loop_close(&loop); error != 0) {
        log->warn("event loop closed with handles still open: {}", uv_strerror(error));
    }
    return status;
}

} // namespace sb::server
