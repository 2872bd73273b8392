#!/usr/bin/env python3
"""Delivers messages to the real agent CLIs that are on PATH.

For each of claude (Claude Code), codex (Codex CLI) and gemini (Gemini CLI)
found on PATH, runs it as a worker with its built-in profile in a private
home directory prepared with its first-run settings (switchboard.yaml(5),
AGENT CLIS) and fake API keys, its API pointed at a local server that
refuses every request at once. Sends a single-line, a three-line and a
30-line message with `switchboard send --wait` and checks that each one was
verified by its echo (exit 0) and that the program submitted it: the
request it made to the local server carries the header and the whole body,
and switchboard saw it leave the composer (delivery_state submitted).

Exits 77 (skipped) with a reason when none of the programs is on PATH.
Opt in by putting them there, e.g. after
    npm install --prefix DIR @anthropic-ai/claude-code @openai/codex @google/gemini-cli
run
    PATH=DIR/node_modules/.bin:$PATH meson test -C build --suite agents
"""

import base64
import hashlib
import http.server
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

AGENTS = {
    # worker name: (program, arguments)
    "claude": ("claude", []),
    # Without --no-daemon Codex leaves a server running after the worker.
    "codex": ("codex", ["--no-daemon"]),
    "gemini": ("gemini", []),
}

# Generous bounds for a loaded machine; the test waits for events, these only
# keep a broken run from hanging.
START_WITHIN = 120
SUBMIT_WITHIN = 60


class RefusingApi(http.server.ThreadingHTTPServer):
    """Answers every request with 400 so the CLIs give up at once, and keeps
    every request body so the test can see what each program submitted."""

    daemon_threads = True

    def __init__(self):
        self.bodies = []
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), RefusingHandler)

    def submitted(self):
        with self.lock:
            return list(self.bodies)


class RefusingHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def keep(self, body):
        try:
            # Normalised so that escapes such as \u00b7 compare as text.
            text = json.dumps(json.loads(body), ensure_ascii=False)
        except ValueError:
            text = body.decode("utf-8", "replace")
        with self.server.lock:
            self.server.bodies.append(text)

    def read_frame(self):
        """One WebSocket frame from the client: (fin, opcode, payload)."""
        head = self.rfile.read(2)
        if len(head) < 2:
            return True, 8, b""
        length = head[1] & 0x7F
        if length == 126:
            length = int.from_bytes(self.rfile.read(2), "big")
        elif length == 127:
            length = int.from_bytes(self.rfile.read(8), "big")
        mask = self.rfile.read(4) if head[1] & 0x80 else b"\0\0\0\0"
        data = self.rfile.read(length)
        return bool(head[0] & 0x80), head[0] & 0x0F, bytes(
            b ^ mask[i % 4] for i, b in enumerate(data))

    def websocket(self):
        """Codex CLI sends its request as the first message of a WebSocket:
        keep it, then close the connection."""
        accept = base64.b64encode(hashlib.sha1(
            (self.headers["Sec-WebSocket-Key"] + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")
            .encode()).digest()).decode()
        self.send_response(101)
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept)
        self.end_headers()
        self.wfile.flush()
        message = b""
        while True:
            fin, opcode, payload = self.read_frame()
            if opcode == 8:
                break
            if opcode in (0, 1, 2):
                message += payload
                if fin:
                    self.keep(message)
                    break
        self.wfile.write(bytes([0x88, 2]) + (1011).to_bytes(2, "big"))
        self.close_connection = True

    def refuse(self):
        if self.headers.get("Upgrade", "").lower() == "websocket":
            self.websocket()
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if body:
            self.keep(body)
        reply = json.dumps({"type": "error", "error": {
            "type": "invalid_request_error", "message": "refused by the test",
            "code": 400, "status": "INVALID_ARGUMENT"}}).encode()
        self.send_response(400)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    do_GET = do_POST = do_PUT = refuse

    def log_message(self, *args):
        pass


def prepare_home(home, project, api_url):
    """The first-run settings that take each program straight to its
    composer (documented in switchboard.yaml(5), AGENT CLIS)."""
    os.makedirs(project)
    os.makedirs(os.path.join(home, ".codex"))
    os.makedirs(os.path.join(home, ".gemini"))
    with open(os.path.join(home, ".claude.json"), "w") as f:
        json.dump({"hasCompletedOnboarding": True, "theme": "dark",
                   "customApiKeyResponses": {"approved": ["sk-ant-fake"], "rejected": []},
                   "projects": {project: {"hasTrustDialogAccepted": True}}}, f)
    with open(os.path.join(home, ".codex", "auth.json"), "w") as f:
        json.dump({"auth_mode": "apikey", "OPENAI_API_KEY": "sk-fake"}, f)
    with open(os.path.join(home, ".codex", "config.toml"), "w") as f:
        f.write(f'openai_base_url = "{api_url}/v1"\n\n'
                f'[projects."{project}"]\ntrust_level = "trusted"\n')
    with open(os.path.join(home, ".gemini", "settings.json"), "w") as f:
        json.dump({"security": {"auth": {"selectedType": "gemini-api-key"},
                                "folderTrust": {"enabled": False}}}, f)


def workspace_yaml(workers, home, project, api_url):
    env = {
        "HOME": home,
        "PATH": os.environ["PATH"],
        "LANG": "C.UTF-8",
        "ANTHROPIC_API_KEY": "sk-ant-fake",
        "ANTHROPIC_BASE_URL": api_url,
        "OPENAI_API_KEY": "sk-fake",
        "GEMINI_API_KEY": "fake",
        "GOOGLE_GEMINI_BASE_URL": api_url,
        "DISABLE_AUTOUPDATER": "1",
    }
    # ready_timeout: the programs can take more than the default 10 s to
    # draw their prompt on a loaded machine (switchboard.yaml(5), AGENT CLIS).
    lines = ["version: 1", "name: real-agents", "defaults:",
             "  size: {cols: 120, rows: 40}", "  restart: never",
             "  delivery: {ready_timeout: 120s}", "  env:"]
    lines += [f"    {k}: {json.dumps(v)}" for k, v in env.items()]
    lines.append("workers:")
    for name, (program, args) in workers.items():
        lines += [f"  {name}:", f"    command: {json.dumps([program] + args)}",
                  f"    profile: {name}", f"    cwd: {json.dumps(project)}"]
    return "\n".join(lines) + "\n"


class Switchboard:
    def __init__(self, binary, socket, workspace, tmp):
        self.binary = binary
        self.socket = socket
        self.workspace = workspace
        self.server = None
        # Its own state and runtime directories: the delivery store of a
        # run on a shared machine (or of another build) is not this one's.
        self.env = dict(os.environ, XDG_STATE_HOME=os.path.join(tmp, "state"),
                        XDG_RUNTIME_DIR=os.path.join(tmp, "runtime"))
        for key in ("XDG_STATE_HOME", "XDG_RUNTIME_DIR"):
            os.makedirs(self.env[key], mode=0o700, exist_ok=True)

    def run(self, *args, check=True):
        result = subprocess.run([self.binary, "-S", self.socket, *args],
                                capture_output=True, text=True, timeout=300, env=self.env)
        if check and result.returncode != 0:
            raise AssertionError(f"switchboard {' '.join(args)} exited {result.returncode}: "
                                 f"{result.stdout}{result.stderr}")
        return result

    def up(self, log):
        self.server = subprocess.Popen(
            [self.binary, "-S", self.socket, "-f", self.workspace, "up", "--foreground"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=self.env)
        deadline = time.monotonic() + START_WITHIN
        while not os.path.exists(self.socket):
            if self.server.poll() is not None:
                raise AssertionError(f"switchboard up exited {self.server.returncode}")
            if time.monotonic() > deadline:
                raise AssertionError("the server did not open its socket")
            time.sleep(0.1)

    def down(self):
        """Stops the workspace; the server's exit status (a sanitizer finding
        makes it non-zero)."""
        if self.server is None:
            return 0
        self.run("down", check=False)
        try:
            return self.server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.server.pid, signal.SIGKILL)
            self.server.wait()
            return "killed after 60 s"


def messages():
    long_lines = [f"line {i} of a long message with some words to make it wider"
                  for i in range(1, 31)]
    return [
        ("single line", "please reply with the word pineapple"),
        ("three lines", "first line of three\nsecond line of three\nthird line of three"),
        ("30 lines", "\n".join(long_lines)),
    ]


def deliver(sb, api, worker, label, body):
    """Sends one message; returns a failure description or None."""
    result = sb.run("send", "--wait", "--timeout", "120s", "--json", worker, body, check=False)
    if result.returncode != 0:
        return (f"{worker}, {label}: send --wait exited {result.returncode} "
                f"(0 is verified by echo): {result.stdout.strip()} {result.stderr.strip()}")
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    if outcome.get("verification") != "echo":
        return f"{worker}, {label}: {outcome}"
    delivery_id = json.loads(result.stdout.strip().splitlines()[0])["deliveries"][0]["id"]
    header = f"[from user · {delivery_id}] "
    # JSON bodies escape newlines, so compare line by line: the header right
    # before the first line, and every other line.
    needles = [header + body.split("\n")[0]] + body.split("\n")[1:]
    deadline = time.monotonic() + SUBMIT_WITHIN
    while True:
        if any(all(n in text for n in needles) for text in api.submitted()):
            return submitted_state(sb, worker, label, delivery_id, deadline)
        if time.monotonic() > deadline:
            screen = sb.run("capture", worker, check=False).stdout
            return (f"{worker}, {label}: verified, but no request carried {header!r} and the "
                    f"whole body, so Enter did not submit it; its screen:\n{screen}")
        time.sleep(0.2)


def states_of(sb, delivery_id):
    """The delivery_state events of one delivery, as state[:reason]."""
    out = []
    for line in sb.run("events", "--json", check=False).stdout.splitlines():
        event = json.loads(line)
        if event.get("type") == "delivery_state" and event.get("id") == delivery_id:
            out.append(event["state"] + (":" + event["reason"] if "reason" in event else ""))
    return out


def submitted_state(sb, worker, label, delivery_id, deadline):
    """The program submitted the message: switchboard must have seen it leave
    the composer (its profile's composer_pattern) and not pressed Enter again
    into a composer it misread."""
    while True:
        states = states_of(sb, delivery_id)
        if "submitted" in states:
            print(f"{worker}: {label}: states {', '.join(states)}")
            return None
        if time.monotonic() > deadline or any(s.startswith("stalled") for s in states):
            screen = sb.run("capture", worker, check=False).stdout
            return (f"{worker}, {label}: the program submitted {delivery_id}, but switchboard "
                    f"reported {states or 'no state'}; its screen:\n{screen}")
        time.sleep(0.2)


def main():
    binary = os.environ.get("SWITCHBOARD_BIN")
    if not binary:
        print("SWITCHBOARD_BIN is not set")
        return 1
    workers = {name: spec for name, spec in AGENTS.items() if shutil.which(spec[0])}
    if not workers:
        print("skipped: none of claude, codex, gemini is on PATH; install them with npm "
              "(see the top of this file) to run this test")
        return 77

    api = RefusingApi()
    threading.Thread(target=api.serve_forever, daemon=True).start()
    api_url = f"http://127.0.0.1:{api.server_address[1]}"
    failures = []
    with tempfile.TemporaryDirectory(prefix="sb-agents-") as tmp:
        home = os.path.join(tmp, "home")
        project = os.path.join(tmp, "project")
        prepare_home(home, project, api_url)
        workspace = os.path.join(tmp, "switchboard.yaml")
        with open(workspace, "w") as f:
            f.write(workspace_yaml(workers, home, project, api_url))
        sb = Switchboard(binary, os.path.join(tmp, "sb.sock"), workspace, tmp)
        with open(os.path.join(tmp, "server.log"), "w") as log:
            try:
                sb.up(log)
                for worker in workers:
                    for label, body in messages():
                        failure = deliver(sb, api, worker, label, body)
                        print(f"{worker}: {label}: {failure or 'verified by echo and submitted'}")
                        if failure:
                            failures.append(failure)
                events = sb.run("events", "--json", check=False).stdout
            finally:
                status = sb.down()
        if status != 0:
            failures.append(f"switchboard up --foreground ended with {status}, not 0")
        for line in events.splitlines():
            event = json.loads(line)
            if event.get("type") in ("worker_ready", "delivery_verified", "delivery_failed",
                                     "delivery_dropped"):
                print(line)
            # Each program's prompt must match its profile's ready pattern;
            # ready by timeout would mean the pattern missed it.
            if event.get("type") == "worker_ready" and event.get("reason") != "pattern":
                failures.append(f"{event.get('worker')}: ready by {event.get('reason')}, "
                                "not by its profile's ready pattern")
    api.shutdown()
    for failure in failures:
        print("FAIL:", failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
