#pragma once

#include <string>
#include <string_view>

namespace sb::util {

// The socket systemd gave for readiness notification ($NOTIFY_SOCKET), taken
// out of the environment so that the workers do not inherit it; empty when
// the process was not started by a service manager that listens.
std::string take_notify_socket();

// Sends `state` (for example "READY=1") to the service manager's socket, the
// sd_notify(3) protocol without libsystemd: one datagram on an AF_UNIX
// socket, a leading '@' naming an abstract address. Returns 0 or a negative
// errno.
int notify_service_manager(const std::string& socket_path, std::string_view state);

} // namespace sb::util
