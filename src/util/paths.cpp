#include "util/paths.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

namespace sb::util {

namespace {

std::string errno_text() {
    return std::strerror(errno);
}

// Creates every missing directory of `path` with `mode` (the last one
// exactly: umask does not apply to it).
bool make_directories(const std::filesystem::path& path, mode_t mode, std::string& error) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
        return true;
    }
    if (path.has_parent_path() && path.parent_path() != path) {
        if (!make_directories(path.parent_path(), 0700, error)) {
            return false;
        }
    }
    if (::mkdir(path.c_str(), mode) != 0 && errno != EEXIST) {
        error = "cannot create " + path.string() + ": " + errno_text();
        return false;
    }
    return true;
}

std::string home_directory() {
    if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
        return home;
    }
    if (const passwd* entry = ::getpwuid(::getuid()); entry != nullptr) {
        return entry->pw_dir;
    }
    return "/";
}

} // namespace

std::variant<std::filesystem::path, PathError> runtime_directory() {
    std::filesystem::path directory;
    const char* xdg = std::getenv("XDG_RUNTIME_DIR");
    if (xdg != nullptr && *xdg == '/') {
        directory = std::filesystem::path(xdg) / "switchboard";
    } else {
        directory = "/tmp/switchboard-" + std::to_string(::getuid());
    }
    std::string error;
    if (!make_directories(directory, 0700, error)) {
        return PathError{error + "; fix the permissions there or set XDG_RUNTIME_DIR to a "
                                 "directory of yours"};
    }
    struct stat info {};
    if (::lstat(directory.c_str(), &info) != 0) {
        return PathError{"cannot use " + directory.string() + ": " + errno_text() +
                         "; set XDG_RUNTIME_DIR to a directory of yours"};
    }
    if (!S_ISDIR(info.st_mode)) {
        return PathError{directory.string() + " is not a directory; remove it"};
    }
    if (info.st_uid != ::getuid()) {
        return PathError{
            directory.string() +
            " belongs to another user; refusing to put sockets there (remove it, or set "
            "XDG_RUNTIME_DIR to a directory of yours)"};
    }
    if ((info.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
        return PathError{directory.string() +
                         " is open to other users; make it private with chmod 700"};
    }
    return directory;
}

std::variant<std::filesystem::path, PathError> state_base_directory() {
    std::filesystem::path base;
    const char* xdg = std::getenv("XDG_STATE_HOME");
    if (xdg != nullptr && *xdg == '/') {
        base = xdg;
    } else {
        base = std::filesystem::path(home_directory()) / ".local" / "state";
    }
    const auto directory = base / "switchboard";
    std::string error;
    if (!make_directories(directory, 0700, error)) {
        return PathError{error + "; fix the permissions there or set XDG_STATE_HOME to a "
                                 "directory of yours"};
    }
    return directory;
}

std::variant<std::filesystem::path, PathError> state_directory(const std::string& workspace) {
    auto base = state_base_directory();
    if (auto* failure = std::get_if<PathError>(&base)) {
        return *failure;
    }
    const auto directory = std::get<std::filesystem::path>(base) / workspace;
    std::string error;
    if (!make_directories(directory, 0700, error)) {
        return PathError{error + "; fix the permissions there or set XDG_STATE_HOME to a "
                                 "directory of yours"};
    }
    return directory;
}

} // namespace sb::util
