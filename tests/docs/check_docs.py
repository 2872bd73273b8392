#!/usr/bin/env python3
"""Checks that the manuals and the shell completions keep up with the code.

    check_docs.py man-keys --loader LOAD_CPP --header WORKSPACE_HPP --page PAGE
        Every word the workspace loader accepts (the keys and the values in
        the constexpr std::string_view tables of src/workspace/load.cpp, and
        the profile names of src/workspace/workspace.hpp) is documented in
        bold in switchboard.yaml(5).

    check_docs.py man-commands --binary SWITCHBOARD --page PAGE
        The COMMANDS section of switchboard(1) documents exactly the commands
        `switchboard --help` lists, and the page names every option of the
        program and of each command.

    check_docs.py completions --binary SWITCHBOARD FILE...
        Every command and every long option of the program and of each
        command appears in each completion file.

    check_docs.py man-protocol --requests REQUESTS_CPP --protocol PROTOCOL_HPP
                               --control CONTROL_HPP --page PAGE
        switchboard-protocol(7) documents the protocol version, every method
        of the request table of src/server/requests.cpp (and no other), every
        error code of src/protocol/protocol.hpp, and the request line and
        output queue limits.

    check_docs.py man-events --source-dir SRC --events-header EVENTS_HPP --page PAGE
        switchboard-events(7) documents every event type the C++ files under
        SRC emit (publish("..."), events_("..."), emit("...")), and no other,
        and how many events the server keeps.

    check_docs.py skip REASON
        Exits with 77, meson's status for a skipped test.

The key tables, the --help output and the code's tables and calls are the
sources of truth, so adding a key, a command, a method, an error code or an
event without its documentation fails these tests.
"""

import argparse
import os
import re
import subprocess
import sys

SKIPPED = 77


def fail(problems, what):
    for problem in problems:
        print(f"FAIL: {problem}", file=sys.stderr)
    print(f"{len(problems)} problem(s) with {what}", file=sys.stderr)
    sys.exit(1)


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def string_view_tables(source):
    """name -> list of strings, for every `constexpr std::string_view NAME[] = {...};`."""
    tables = {}
    pattern = re.compile(
        r"constexpr\s+std::string_view\s+(\w+)\s*\[\s*\]\s*=\s*\{(.*?)\}\s*;", re.S
    )
    for match in pattern.finditer(source):
        tables[match.group(1)] = re.findall(r'"((?:[^"\\]|\\.)*)"', match.group(2))
    return tables


def scdoc_text(path):
    # scdoc escapes * and _ with a backslash; compare the words as they read.
    return read(path).replace("\\_", "_").replace("\\*", "*")


def documented_in_bold(text, word):
    """`*word*`, or a dotted key ending in it, as in `*delivery.throttle.min*`."""
    return re.search(r"\*(?:[A-Za-z0-9_.-]+\.)?" + re.escape(word) + r"\*", text) is not None


def check_man_keys(args):
    loader = string_view_tables(read(args.loader))
    header = string_view_tables(read(args.header))
    key_tables = {name: words for name, words in loader.items() if name.endswith("_keys")}
    if not key_tables:
        fail([f"no `constexpr std::string_view ..._keys[]` tables found in {args.loader}; "
              "update tests/docs/check_docs.py if the loader's key tables moved"], args.loader)
    if "profile_names" not in header:
        fail([f"no profile_names table found in {args.header}"], args.header)

    words = []
    for name, values in sorted(loader.items()):
        words += [(value, f"{args.loader}: {name}") for value in values]
    words += [(value, f"{args.header}: profile_names") for value in header["profile_names"]]

    text = scdoc_text(args.page)
    problems = [
        f'"{word}" ({origin}) is not documented in bold (*{word}*) in {args.page}'
        for word, origin in words
        if not documented_in_bold(text, word)
    ]
    if problems:
        fail(problems, args.page)
    print(f"{len(words)} words from {len(loader) + 1} tables are documented in {args.page}")


def run_help(binary, *command):
    result = subprocess.run(
        [binary, *command, "--help"], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        sys.exit(f"`{binary} {' '.join(command)} --help` exited with {result.returncode}:\n"
                 f"{result.stderr}")
    return result.stdout


def help_sections(text):
    """Section title (lowercased, without the colon) -> its indented lines."""
    sections = {}
    current = None
    for line in text.splitlines():
        heading = re.match(r"^([A-Za-z][A-Za-z ]*):\s*$", line)
        if heading:
            current = heading.group(1).lower()
            sections[current] = []
        elif current is not None and line.startswith(" ") and line.strip():
            sections[current].append(line)
        elif not line.strip():
            current = None
    return sections


def help_commands(text):
    """The commands of every group `--help` lists them under (all but the options)."""
    lines = []
    for title, section_lines in help_sections(text).items():
        if title not in ("options", "positionals", "usage"):
            lines += section_lines
    return [line.split()[0] for line in lines if not line.startswith("   ")]


def help_options(text):
    """Every option name in the Options section: ['-h', '--help', '-f', '--file', ...]."""
    names = []
    for line in help_sections(text).get("options", []):
        first = line.split()[0]
        names += [name for name in first.split(",") if name.startswith("-")]
    return names


def program_interface(binary):
    """(commands, global options, {command: its own options})."""
    top = run_help(binary)
    commands = help_commands(top)
    if not commands:
        sys.exit(f"no commands found in the output of `{binary} --help`:\n{top}")
    per_command = {command: help_options(run_help(binary, command)) for command in commands}
    return commands, help_options(top), per_command


def section(text, title):
    match = re.search(r"^# " + re.escape(title) + r"\n(.*?)(?=^# |\Z)", text, re.S | re.M)
    return match.group(1) if match else ""


def check_man_commands(args):
    commands, global_options, per_command = program_interface(args.binary)
    text = scdoc_text(args.page)
    problems = []

    commands_section = section(text, "COMMANDS")
    if not commands_section:
        problems.append(f"{args.page} has no COMMANDS section")
    documented = re.findall(r"^\*([A-Za-z0-9-]+)\*", commands_section, re.M)
    for command in commands:
        if command not in documented:
            problems.append(f'command "{command}" (from --help) has no entry *{command}* '
                            f"at the start of a line in the COMMANDS section of {args.page}")
    for command in documented:
        if command not in commands:
            problems.append(f'{args.page} documents a command "{command}" that '
                            "`switchboard --help` does not list")

    options = [(option, "switchboard") for option in global_options]
    for command, names in per_command.items():
        options += [(option, f"switchboard {command}") for option in names]
    for option, owner in options:
        if f"*{option}*" not in text:
            problems.append(f"option {option} of `{owner}` is not documented in bold "
                            f"(*{option}*) in {args.page}")
    if problems:
        fail(problems, args.page)
    print(f"{len(commands)} commands and {len(options)} options are documented in {args.page}")


def check_completions(args):
    commands, global_options, per_command = program_interface(args.binary)
    words = [(command, "command") for command in commands]
    words += [(option, "option of switchboard") for option in global_options
              if option.startswith("--")]
    for command, names in per_command.items():
        words += [(option, f"option of switchboard {command}") for option in names
                  if option.startswith("--")]
    problems = []
    for path in args.files:
        text = read(path)
        for word, what in words:
            bare = word.lstrip("-")
            # fish writes `-l json` where the other shells write `--json`.
            pattern = r"(?<![\w-])(?:" + re.escape(word) + r"|-l\s+" + re.escape(bare) + r")(?![\w-])"
            if word == bare:
                pattern = r"(?<![\w-])" + re.escape(word) + r"(?![\w-])"
            if not re.search(pattern, text):
                problems.append(f"{path} does not complete {word} ({what})")
    if problems:
        fail(problems, "the completions")
    print(f"{len(words)} commands and options are completed by each of {len(args.files)} files")


def constant(source, pattern, what, path):
    """The value of a constant such as `max_line_bytes = 1024 * 1024;` or a
    default argument such as `capacity = 10000)`."""
    match = re.search(pattern + r"\s*=\s*([0-9 *']+?)\s*[;),]", source)
    if not match:
        sys.exit(f"no {what} found in {path}; update tests/docs/check_docs.py if it moved")
    value = 1
    for factor in match.group(1).split("*"):
        value *= int(factor.replace("'", ""))
    return value


def check_man_protocol(args):
    requests = read(args.requests)
    protocol = read(args.protocol)
    control = read(args.control)
    methods = re.findall(r'\{\s*"(\w+)",\s*&Requests::', requests)
    if not methods:
        fail([f"no methods found in the request table of {args.requests}; "
              "update tests/docs/check_docs.py if it moved"], args.requests)
    errors_block = re.search(r"namespace errors \{(.*?)\}", protocol, re.S)
    codes = re.findall(r'=\s*"(\w+)"\s*;', errors_block.group(1)) if errors_block else []
    if not codes:
        fail([f"no error codes found in namespace errors of {args.protocol}"], args.protocol)
    version = constant(protocol, r"constexpr int version", "protocol version", args.protocol)
    line_limit = constant(protocol, r"max_line_bytes", "max_line_bytes", args.protocol)
    queue_limit = constant(control, r"max_queued_bytes", "max_queued_bytes", args.control)

    text = scdoc_text(args.page)
    problems = []
    headings = re.findall(r"^## (.+)$", section(text, "METHODS"), re.M)
    documented = [name.strip() for heading in headings for name in heading.split(",")]
    for method in methods:
        if method not in documented:
            problems.append(f'method "{method}" ({args.requests}) has no "## {method}" '
                            f"heading in the METHODS section of {args.page}")
    for name in documented:
        if name not in methods:
            problems.append(f'{args.page} documents a method "{name}" that '
                            f"{args.requests} does not handle")
    errors_section = section(text, "ERRORS")
    for code in codes:
        if not re.search(r"^\*" + re.escape(code) + r"\*$", errors_section, re.M):
            problems.append(f'error code "{code}" ({args.protocol}) has no entry *{code}* '
                            f"in the ERRORS section of {args.page}")
    if f"protocol version *{version}*" not in text:
        problems.append(f"{args.page} does not say it describes protocol version *{version}* "
                        f"(the version of {args.protocol})")
    for value, what in ((line_limit, "max_line_bytes"), (queue_limit, "max_queued_bytes")):
        if str(value) not in text:
            problems.append(f"{args.page} does not give {what}, {value} bytes")
    if problems:
        fail(problems, args.page)
    print(f"{len(methods)} methods and {len(codes)} error codes are documented in {args.page}")


def check_man_events(args):
    types = {}
    sources = sorted(os.path.join(directory, name)
                     for directory, _, names in os.walk(args.source_dir)
                     for name in names if name.endswith(".cpp"))
    for path in sources:
        for event_type in re.findall(r'\b(?:publish|events_|emit)\(\s*"([a-z]+(?:_[a-z]+)+)"',
                                     read(path)):
            types.setdefault(event_type, path)
    if not types:
        fail(["no events found in the sources; update tests/docs/check_docs.py if the way "
              "events are emitted changed"], "the sources")
    capacity = constant(read(args.events_header), r"std::size_t capacity",
                        "the event bus's capacity", args.events_header)

    text = scdoc_text(args.page)
    documented = re.findall(r"^\*([a-z]+(?:_[a-z]+)+)\* \{", text, re.M)
    problems = []
    for event_type, path in sorted(types.items()):
        if event_type not in documented:
            problems.append(f'event "{event_type}" ({path}) has no entry *{event_type}* '
                            f"{{fields}} at the start of a line in {args.page}")
    for event_type in documented:
        if event_type not in types:
            problems.append(f'{args.page} documents an event "{event_type}" that no source emits')
    if str(capacity) not in text:
        problems.append(f"{args.page} does not say how many events are kept ({capacity})")
    if problems:
        fail(problems, args.page)
    print(f"{len(types)} event types are documented in {args.page}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="check", required=True)

    keys = sub.add_parser("man-keys")
    keys.add_argument("--loader", required=True)
    keys.add_argument("--header", required=True)
    keys.add_argument("--page", required=True)
    keys.set_defaults(run=check_man_keys)

    man = sub.add_parser("man-commands")
    man.add_argument("--binary", required=True)
    man.add_argument("--page", required=True)
    man.set_defaults(run=check_man_commands)

    completions = sub.add_parser("completions")
    completions.add_argument("--binary", required=True)
    completions.add_argument("files", nargs="+")
    completions.set_defaults(run=check_completions)

    protocol = sub.add_parser("man-protocol")
    protocol.add_argument("--requests", required=True)
    protocol.add_argument("--protocol", required=True)
    protocol.add_argument("--control", required=True)
    protocol.add_argument("--page", required=True)
    protocol.set_defaults(run=check_man_protocol)

    events = sub.add_parser("man-events")
    events.add_argument("--source-dir", required=True)
    events.add_argument("--events-header", required=True)
    events.add_argument("--page", required=True)
    events.set_defaults(run=check_man_events)

    skip = sub.add_parser("skip")
    skip.add_argument("reason")
    skip.set_defaults(run=lambda a: (print(f"skipped: {a.reason}"), sys.exit(SKIPPED)))

    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
