#!/usr/bin/env python3
"""Delivery benchmark: send -> delivery_verified latency with one instantly
echoing fake agent, and verified deliveries per second across many workers.

Usage: bench/delivery.py [--build DIR] [--workers N] [--messages M]

It starts a private workspace (temporary runtime and state directories),
talks to the server over the control protocol (switchboard-protocol(7)),
reads the outcome of every delivery from its events, and stops the
workspace. Latencies come from the events' timestamps (queued -> verified,
millisecond resolution) and from the client's clock (request sent ->
verified event read).
"""

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime


class Client:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.buffer = b""
        self.next_id = 1
        self.call("hello", {"protocol": 1})

    def send(self, method, params):
        request_id = self.next_id
        self.next_id += 1
        line = json.dumps({"id": request_id, "method": method, "params": params}) + "\n"
        self.sock.sendall(line.encode())
        return request_id

    def read(self):
        while b"\n" not in self.buffer:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise RuntimeError("server closed the connection")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)

    def call(self, method, params):
        request_id = self.send(method, params)
        while True:
            message = self.read()
            if message.get("id") == request_id:
                if "error" in message:
                    raise RuntimeError(message["error"]["message"])
                return message["result"]


def ts(event):
    return datetime.strptime(event["ts"], "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def run(binary, agent, workers, messages_per_worker, concurrent):
    with tempfile.TemporaryDirectory(prefix="sb-bench-") as tmp:
        runtime = os.path.join(tmp, "run")
        os.makedirs(runtime, mode=0o700)
        env = dict(os.environ, XDG_RUNTIME_DIR=runtime, XDG_STATE_HOME=os.path.join(tmp, "state"))
        env.pop("SWITCHBOARD_SOCKET", None)
        lines = [
            "name: bench",
            "defaults:",
            "  delivery: {idle: 0ms, enter_delay: 0ms, body_delay: 0ms, throttle: {min: 1ms, max: 5s}}",
            "workers:",
        ]
        for w in range(workers):
            lines.append(f"  w{w}: {{command: [{agent}, --bracketed-paste], profile: claude}}")
        path = os.path.join(tmp, "switchboard.yaml")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        subprocess.run([binary, "-f", path, "up"], env=env, check=True, stdout=subprocess.DEVNULL)
        try:
            socket_path = os.path.join(runtime, "switchboard", "bench.sock")
            control = Client(socket_path)
            # Every worker ready before timing starts.
            deadline = time.time() + 30
            while time.time() < deadline:
                ws = control.call("ls", {})["workers"]
                if all(w["state"] == "running" for w in ws):
                    break
                time.sleep(0.05)
            time.sleep(0.5)
            events = Client(socket_path)
            since = events.call("events", {"follow": True})["last_seq"]
            sent_at = {}
            queued_at = {}
            verified = {}
            total = workers * messages_per_worker
            start = time.time()

            def drain_until(count):
                while len(verified) < count:
                    message = events.read()
                    event = message.get("event")
                    if not event:
                        continue
                    if event["type"] == "delivery_queued":
                        queued_at[event["id"]] = ts(event)
                    elif event["type"] == "delivery_verified":
                        verified[event["id"]] = (event, time.time())

            sender = Client(socket_path)
            for i in range(messages_per_worker):
                for w in range(workers):
                    before = time.time()
                    result = sender.call("send", {"to": f"w{w}", "body": f"message {i} for w{w}"})
                    for d in result["deliveries"]:
                        sent_at[d["id"]] = before
                    if not concurrent:
                        drain_until(len(sent_at))
            drain_until(total)
            elapsed = time.time() - start
            echo = sum(1 for e, _ in verified.values() if e["verification"] == "echo")
            server_ms = [(ts(e) - queued_at[i]) * 1000 for i, (e, _) in verified.items()]
            client_ms = [(t - sent_at[i]) * 1000 for i, (_, t) in verified.items()]
            return {
                "deliveries": total,
                "echo": echo,
                "elapsed_s": elapsed,
                "per_second": total / elapsed,
                "server_median_ms": statistics.median(server_ms),
                "server_p99_ms": percentile(server_ms, 99),
                "client_median_ms": statistics.median(client_ms),
                "client_p99_ms": percentile(client_ms, 99),
            }
        finally:
            subprocess.run([binary, "-f", path, "down", "--timeout", "2s"], env=env,
                           stdout=subprocess.DEVNULL)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default="build", help="meson build directory (default: build)")
    parser.add_argument("--workers", type=int, default=50)
    parser.add_argument("--messages", type=int, default=20, help="messages per worker in the throughput run")
    parser.add_argument("--latency-messages", type=int, default=100)
    args = parser.parse_args()
    binary = os.path.join(args.build, "switchboard")
    agent = os.path.abspath(os.path.join(args.build, "tests", "fake_agent", "fake_agent"))
    for program in (binary, agent):
        if not os.access(program, os.X_OK):
            sys.exit(f"{program} is missing; build first (ninja -C {args.build})")

    latency = run(binary, agent, 1, args.latency_messages, concurrent=False)
    print(f"latency, 1 worker, one message at a time ({latency['deliveries']} messages, "
          f"{latency['echo']} verified by echo):")
    print(f"  queued -> verified (server clock): median {latency['server_median_ms']:.1f} ms, "
          f"p99 {latency['server_p99_ms']:.1f} ms")
    print(f"  send -> verified event (client clock): median {latency['client_median_ms']:.1f} ms, "
          f"p99 {latency['client_p99_ms']:.1f} ms")
    throughput = run(binary, agent, args.workers, args.messages, concurrent=True)
    print(f"throughput, {args.workers} workers x {args.messages} messages "
          f"({throughput['echo']} of {throughput['deliveries']} verified by echo):")
    print(f"  {throughput['per_second']:.0f} verified deliveries/s "
          f"({throughput['elapsed_s']:.2f} s in all; per delivery median "
          f"{throughput['client_median_ms']:.0f} ms, p99 {throughput['client_p99_ms']:.0f} ms)")


if __name__ == "__main__":
    main()
