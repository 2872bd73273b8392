#!/usr/bin/env python3
"""Keystroke round trip through `switchboard attach` and through tmux.

Usage: bench/attach_keys.py [--build DIR] [--keys N] [--size COLSxROWS]

Both run in the same way, in the same run: the client (`switchboard attach`,
or a tmux client attached to a private tmux server) runs on a pseudo-terminal
this script owns, with the same size; its pane runs `cat` on a terminal
that echoes. For each key the script writes one character to the client's
terminal and measures the time until the echo is visible in what the
client draws (escape sequences stripped). Keys are sent one at a time, each
after the previous one's echo, with a short random pause between, the way a
person types.
"""

import argparse
import contextlib
import fcntl
import os
import pty
import random
import re
import select
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time

ESCAPES = re.compile(rb"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[()][0-9A-Za-z]|[=>78cDEHM])")
# The keys typed: letters that neither client's own text (switchboard's status
# line: workspace "bench", worker "typist", "held", "C-b ? help") contains.
ALPHABET = b"afgjkoqruvwxz"


def spawn(argv, cols, rows, env):
    pid, master = pty.fork()
    if pid == 0:
        try:
            os.execvpe(argv[0], argv, env)
        finally:
            os._exit(127)
    fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    os.kill(pid, signal.SIGWINCH)
    return pid, master


class Screen:
    """What a client drew, without escape sequences, read as it comes."""

    def __init__(self, fd):
        self.fd = fd
        self.raw = b""
        self.text = b""

    def pump(self, timeout):
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return False
        try:
            chunk = os.read(self.fd, 1 << 16)
        except OSError:
            raise RuntimeError("the client exited")
        if not chunk:
            raise RuntimeError("the client exited")
        self.raw += chunk
        # Strip only complete sequences; keep an unfinished tail raw.
        cut = self.raw.rfind(b"\x1b")
        if cut >= 0 and len(self.raw) - cut < 64 and not ESCAPES.match(self.raw, cut):
            done, self.raw = self.raw[:cut], self.raw[cut:]
        else:
            done, self.raw = self.raw, b""
        self.text += ESCAPES.sub(b"", done)
        return True

    def wait_for(self, needle, start, deadline):
        while True:
            at = self.text.find(needle, start)
            if at >= 0:
                return at
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError(f"timed out waiting for {needle!r}")
            self.pump(left)

    def drain(self, quiet):
        while self.pump(quiet):
            pass


def measure(fd, keys, label):
    screen = Screen(fd)
    # Settle: whatever the client draws first.
    screen.drain(0.5)
    marker = b"READY"
    os.write(fd, marker)
    screen.wait_for(marker, 0, time.monotonic() + 20)
    screen.drain(0.3)
    samples = []
    for i in range(keys):
        key = bytes([ALPHABET[i % len(ALPHABET)]])
        start = len(screen.text)
        sent = time.perf_counter()
        os.write(fd, key)
        screen.wait_for(key, start, time.monotonic() + 10)
        samples.append((time.perf_counter() - sent) * 1000)
        time.sleep(random.uniform(0.01, 0.03))
        # Let the redraw that follows the echo finish (status line, cursor).
        screen.drain(0.005)
    samples.sort()
    median = statistics.median(samples)
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
    print(f"{label:12s} keys {len(samples):5d}  median {median:6.2f} ms  p99 {p99:6.2f} ms  "
          f"max {samples[-1]:6.2f} ms", file=sys.stderr)
    return median, p99


def stop(pid):
    try:
        os.kill(pid, signal.SIGTERM)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass


@contextlib.contextmanager
def servers(binary, cols, rows, prefix):
    """A switchboard workspace and a tmux server on private sockets, each with
    one pane running `cat`; yields (env, runtime directory, tmux command,
    the attach command of each by label) and ends both."""
    with tempfile.TemporaryDirectory(prefix=prefix + "-") as tmp:
        runtime = os.path.join(tmp, "runtime")
        os.mkdir(runtime, 0o700)
        env = dict(os.environ, XDG_RUNTIME_DIR=runtime, XDG_STATE_HOME=os.path.join(tmp, "state"),
                   TERM="xterm-256color", COLORTERM="truecolor")
        env.pop("TMUX", None)
        env.pop("SWITCHBOARD_SOCKET", None)
        path = os.path.join(tmp, "switchboard.yaml")
        with open(path, "w") as f:
            f.write("name: bench\nworkers:\n  typist:\n    command: [cat]\n")
        subprocess.run([binary, "-f", path, "up", "--detach"], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        tmux_socket = f"{prefix}-{os.getpid()}"
        tmux_conf = os.path.join(tmp, "tmux.conf")
        with open(tmux_conf, "w") as f:
            f.write("set -g escape-time 0\nset -g status off\nset -g default-terminal tmux-256color\n")
        tmux = ["tmux", "-L", tmux_socket, "-f", tmux_conf]
        subprocess.run(tmux + ["new-session", "-d", "-x", str(cols), "-y", str(rows), "cat"],
                       env=env, check=True)
        try:
            yield env, runtime, tmux, {"switchboard": [binary, "-f", path, "attach"],
                                       "tmux": tmux + ["attach"]}
        finally:
            subprocess.run(tmux + ["kill-server"], env=env, stderr=subprocess.DEVNULL)
            subprocess.run([binary, "-f", path, "down"], env=env, stdout=subprocess.DEVNULL)


def each_client(attach, cols, rows, env, rounds, body):
    """Interleaved rounds: a client of switchboard, then one of tmux, each on a
    pseudo-terminal of its own; body(label, fd) runs while it is attached."""
    for _ in range(rounds):
        for label in ("switchboard", "tmux"):
            pid, fd = spawn(attach[label], cols, rows, env)
            try:
                body(label, fd)
            finally:
                stop(pid)
                os.close(fd)


def run(binary, keys, cols, rows, rounds):
    """Interleaved rounds of switchboard then tmux: {label: [(median, p99), ...]}."""
    results = {}
    with servers(binary, cols, rows, "sb-attach-bench") as (env, _, _, attach):
        each_client(attach, cols, rows, env, rounds,
                    lambda label, fd: results.setdefault(label, []).append(
                        measure(fd, keys, label)))
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default="build", help="meson build directory (default: build)")
    parser.add_argument("--keys", type=int, default=300, help="keys per client (default: 300)")
    parser.add_argument("--size", default="100x30", help="client terminal size (default: 100x30)")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds (default: 2)")
    args = parser.parse_args()
    cols, rows = (int(v) for v in args.size.split("x"))
    binary = os.path.abspath(os.path.join(args.build, "switchboard"))
    if not os.path.exists(binary):
        sys.exit(f"{binary} is missing; build first (ninja -C {args.build})")
    if shutil.which("tmux") is None:
        sys.exit("tmux is missing (Debian package tmux)")
    results = run(binary, args.keys, cols, rows, args.rounds)
    for label, values in results.items():
        for median, p99 in values:
            print(f"{label:12s} median {median:6.2f} ms  p99 {p99:6.2f} ms")
    print(f"size {cols}x{rows}, {args.keys} keys per run, {args.rounds} rounds each, interleaved")


if __name__ == "__main__":
    main()
