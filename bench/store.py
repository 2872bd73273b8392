#!/usr/bin/env python3
"""Delivery store benchmark: sends per second the server accepts (each one
committed to the store before it is answered) with `durability: process`
and `durability: power`, from one client and from 8 concurrent clients.

Usage: bench/store.py [--build DIR] [--sends N] [--runs R] [--dir DIR]

Each run starts a private workspace whose workers are held, so that only
accepting is measured: every send is one SQLite transaction (process:
synchronous=NORMAL in WAL mode, no flush to disk; power: synchronous=FULL,
one fsync per commit). Clients speak the control protocol on their own
connection, one request at a time. The state directory (where deliveries.db
lives) is made under --dir, which must be on a real disk for `power` to
mean anything (default: the current directory).
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from delivery import Client


def run(binary, durability, clients, sends_per_client, base):
    with tempfile.TemporaryDirectory(prefix="sb-store-bench-", dir=base) as tmp:
        runtime = os.path.join(tmp, "run")
        os.makedirs(runtime, mode=0o700)
        env = dict(os.environ, XDG_RUNTIME_DIR=runtime, XDG_STATE_HOME=os.path.join(tmp, "state"))
        env.pop("SWITCHBOARD_SOCKET", None)
        path = os.path.join(tmp, "switchboard.yaml")
        with open(path, "w") as f:
            f.write(
                "name: storebench\n"
                f"durability: {durability}\n"
                "defaults:\n"
                "  delivery: {max_pending: 100000}\n"
                "workers:\n"
                + "".join(f"  w{w}: {{command: [sleep, infinity]}}\n" for w in range(4))
            )
        subprocess.run([binary, "-f", path, "up"], env=env, check=True, stdout=subprocess.DEVNULL)
        try:
            socket_path = os.path.join(runtime, "switchboard", "storebench.sock")
            control = Client(socket_path)
            for w in range(4):
                control.call("hold", {"worker": f"w{w}"})
            connections = [Client(socket_path) for _ in range(clients)]
            barrier = threading.Barrier(clients + 1)
            errors = []

            def sender(index, client):
                barrier.wait()
                try:
                    for i in range(sends_per_client):
                        client.call("send", {"to": f"w{(index + i) % 4}",
                                             "body": f"message {i} from client {index}"})
                except Exception as error:  # reported below, never hidden
                    errors.append(error)

            threads = [threading.Thread(target=sender, args=(i, c)) for i, c in enumerate(connections)]
            for t in threads:
                t.start()
            barrier.wait()
            start = time.perf_counter()
            for t in threads:
                t.join()
            elapsed = time.perf_counter() - start
            if errors:
                raise RuntimeError(f"{len(errors)} clients failed: {errors[0]}")
            queued = len(control.call("pending", {})["deliveries"])
            total = clients * sends_per_client
            if queued != total:
                raise RuntimeError(f"{total} sends answered but {queued} deliveries queued")
            return total / elapsed
        finally:
            subprocess.run([binary, "-f", path, "down", "--timeout", "2s"], env=env,
                           stdout=subprocess.DEVNULL)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default="build", help="meson build directory (default: build)")
    parser.add_argument("--sends", type=int, default=2000, help="sends per configuration")
    parser.add_argument("--runs", type=int, default=5, help="runs per configuration (median)")
    parser.add_argument("--dir", default=os.getcwd(), help="where the state directories go")
    args = parser.parse_args()
    binary = os.path.join(args.build, "switchboard")
    if not os.access(binary, os.X_OK):
        sys.exit(f"{binary} is missing; build first (ninja -C {args.build})")

    print(f"accepted sends per second ({args.sends} sends, median of {args.runs} runs, min-max)")
    for durability in ("process", "power"):
        for clients in (1, 8):
            rates = [run(binary, durability, clients, args.sends // clients, args.dir)
                     for _ in range(args.runs)]
            print(f"  durability {durability:<7} {clients} client{'s' if clients > 1 else ' '}: "
                  f"{statistics.median(rates):7.0f}/s  ({min(rates):.0f}-{max(rates):.0f})")


if __name__ == "__main__":
    main()
