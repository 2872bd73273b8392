#pragma once

#include <optional>
#include <string>

#include <uv.h>

#include "client/attach/session.hpp"
#include "client/control_client.hpp"

namespace sb::client::attach {

// Hands the terminal on standard input and output to the server, which runs
// the attach session on it (attach_terminal), and waits for the session to
// end: passes on resizes and SIGTERM/SIGHUP, and gives the terminal back
// itself when the server goes without having done so. The exit status, with
// the farewell; nothing when the server cannot use this terminal (then the
// caller runs the session itself).
std::optional<int> attach_through_server(uv_loop_t* loop, ControlClient& client,
                                         const SessionOptions& options, std::string& farewell);

} // namespace sb::client::attach
