#!/usr/bin/env python3
"""Where a keystroke's round trip goes, switchboard's server against tmux's.

Usage: sudo bench/keys_trace.py [--build DIR] [--keys N] [--rounds N]

Figure 4 (bench/attach_keys.py) says how long a key takes from the client's
terminal to its echo on the screen; this says where that time goes. It types
the same way, into the same kind of pane (`cat` on a terminal that echoes),
and records with the kernel's tracer (tracefs: root, and `raw_syscalls`
events) the system calls of each server and a mark of its own when it writes
a key and when it sees the echo. Each key's time splits into five phases:

  to server       the key written -> the server's first system call after
                  it (the kernel hands the key over and wakes the server)
  key in server   the server reads the key -> writes it to the worker
  echo in kernel  that write -> the server reads the echo (the kernel
                  carries the key to the worker's terminal and its echo back)
  echo in server  the echo read -> the write to the client's terminal (the
                  server's screen model, frame and drawing)
  to screen       that write -> the script sees the echo

It prints the median of each phase for each server, in microseconds, and
`moved`: the share of keys for which the kernel woke this script, once the
server had written the echo, on another CPU than it slept on. On a VM such a
wake-up of an idle virtual CPU costs tens of microseconds, and it happens
more often the longer the server takes between reading the echo and writing
it (the other CPU has gone idle by then). The tracer adds about a
microsecond to every system call of the traced server, the same for both.
"""

import argparse
import glob
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import attach_keys  # noqa: E402

TRACING = "/sys/kernel/tracing/"
PHASES = ("to server", "key in server", "echo in kernel", "echo in server", "to screen")
READS = {0, 19}  # read, readv
WRITES = {1, 20}  # write, writev
LINE = re.compile(r"^\s*.+?-(\d+)\s+\[\d+\]\s+\S+\s+([\d.]+): (\w+): (.*)$")


def tracefs(name, text):
    with open(TRACING + name, "w") as f:
        f.write(text)


def trace_keys(fd, server_pid, keys):
    """Types `keys` keys with the tracer on; the trace's text."""
    screen = attach_keys.Screen(fd)
    screen.drain(0.5)
    screen_marker = b"READY"
    os.write(fd, screen_marker)
    screen.wait_for(screen_marker, 0, time.monotonic() + 20)
    screen.drain(0.3)
    tracefs("tracing_on", "0")
    tracefs("trace", "")
    tracefs("buffer_size_kb", "8192")
    for event in ("sys_enter", "sys_exit"):
        tracefs(f"events/raw_syscalls/{event}/filter", f"common_pid == {server_pid}")
        tracefs(f"events/raw_syscalls/{event}/enable", "1")
    tracefs("events/sched/sched_migrate_task/filter", f"pid == {os.getpid()}")
    tracefs("events/sched/sched_migrate_task/enable", "1")
    marker = os.open(TRACING + "trace_marker", os.O_WRONLY)
    tracefs("tracing_on", "1")
    try:
        for i in range(keys):
            key = bytes([attach_keys.ALPHABET[i % len(attach_keys.ALPHABET)]])
            start = len(screen.text)
            os.write(marker, b"K%d" % i)
            os.write(fd, key)
            screen.wait_for(key, start, time.monotonic() + 10)
            os.write(marker, b"E%d" % i)
            time.sleep(random.uniform(0.01, 0.03))
            screen.drain(0.005)
    finally:
        tracefs("tracing_on", "0")
        os.close(marker)
        for event in ("sys_enter", "sys_exit"):
            tracefs(f"events/raw_syscalls/{event}/enable", "0")
            tracefs(f"events/raw_syscalls/{event}/filter", "0")
        tracefs("events/sched/sched_migrate_task/enable", "0")
        tracefs("events/sched/sched_migrate_task/filter", "0")
    with open(TRACING + "trace") as f:
        return f.read()


def phases(trace, server_pid):
    """Per key, the five phases in microseconds and whether the reader (this
    script) was woken on another CPU than it slept on after the server wrote
    the echo; keys whose trace is incomplete are left out."""
    found = []
    key = None
    for line in trace.splitlines():
        m = LINE.match(line)
        if not m:
            continue
        pid, stamp, event, rest = int(m.group(1)), float(m.group(2)) * 1e6, m.group(3), m.group(4)
        if event == "tracing_mark_write":
            if rest.startswith("K"):
                key = {"sent": stamp, "calls": [], "moves": []}
            elif rest.startswith("E") and key is not None:
                key["seen"] = stamp
                found.append(key)
                key = None
            continue
        if key is None:
            continue
        if event == "sched_migrate_task":
            key["moves"].append(stamp)
            continue
        if pid != server_pid or event not in ("sys_enter", "sys_exit"):
            continue
        fields = rest.split()
        number = int(fields[1])
        result = int(fields[3]) if event == "sys_exit" and len(fields) > 3 else None
        key["calls"].append((stamp, event, number, result))
    rows = []
    for key in found:
        calls = key["calls"]
        reads = [t for t, e, n, r in calls if e == "sys_exit" and n in READS and r and r > 0]
        writes = [t for t, e, n, r in calls if e == "sys_enter" and n in WRITES]
        if not calls or len(reads) < 2 or len(writes) < 2:
            continue
        key_read, key_write, shown = reads[0], writes[0], writes[-1]
        echo_reads = [t for t in reads if key_write < t < shown]
        if not echo_reads:
            continue
        echo_read = echo_reads[-1]
        moved = any(t > shown for t in key["moves"])
        rows.append((calls[0][0] - key["sent"], key_write - key_read, echo_read - key_write,
                     shown - echo_read, key["seen"] - shown, moved))
    return rows


def server_pid_of(runtime, workspace):
    for lock in glob.glob(os.path.join(runtime, "**", workspace + ".lock"), recursive=True):
        with open(lock) as f:
            text = f.read().strip()
        if text.isdigit():
            return int(text)
    raise RuntimeError(f"no lock file of workspace {workspace} under {runtime}")


def run(binary, keys, rounds):
    """{label: [phase rows of all rounds]}"""
    results = {}
    with attach_keys.servers(binary, 100, 30, "sb-keys-trace") as (env, runtime, tmux, attach):
        pids = {
            "switchboard": server_pid_of(runtime, "bench"),
            "tmux": int(subprocess.run(tmux + ["display-message", "-p", "#{pid}"], env=env,
                                       check=True, capture_output=True, text=True).stdout.strip()),
        }

        def trace(label, fd):
            results.setdefault(label, []).extend(phases(trace_keys(fd, pids[label], keys),
                                                        pids[label]))

        attach_keys.each_client(attach, 100, 30, env, rounds, trace)
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default="build", help="meson build directory (default: build)")
    parser.add_argument("--keys", type=int, default=200, help="keys per client (default: 200)")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds (default: 2)")
    args = parser.parse_args()
    binary = os.path.abspath(os.path.join(args.build, "switchboard"))
    if not os.path.exists(binary):
        sys.exit(f"{binary} is missing; build first (ninja -C {args.build})")
    if shutil.which("tmux") is None:
        sys.exit("tmux is missing (Debian package tmux)")
    if not os.access(TRACING + "trace_marker", os.W_OK):
        sys.exit(f"{TRACING} is not writable: this needs root and tracefs")
    results = run(binary, args.keys, args.rounds)
    print(f"{'us, median':16s}" + "".join(f"{name:>16s}" for name in PHASES) + f"{'total':>10s}"
          f"{'moved':>10s}")
    for label, rows in results.items():
        if not rows:
            print(f"{label:16s} no complete keys in the trace")
            continue
        cells = [statistics.median(row[i] for row in rows) for i in range(len(PHASES))]
        total = statistics.median(sum(row[:len(PHASES)]) for row in rows)
        moved = sum(1 for row in rows if row[len(PHASES)]) / len(rows)
        print(f"{label:16s}" + "".join(f"{cell:16.1f}" for cell in cells) +
              f"{total:10.1f}{moved:10.0%}")
    print(f"{args.keys} keys per round, {args.rounds} rounds each, interleaved; "
          f"keys with a complete trace: " +
          ", ".join(f"{label} {len(rows)}" for label, rows in results.items()))


if __name__ == "__main__":
    main()
