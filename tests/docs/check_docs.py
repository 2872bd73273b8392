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

    check_docs.py skip REASON
        Exits with 77, meson's status for a skipped test.

The key tables and the --help output are the sources of truth, so adding a key
or a command without its documentation fails these tests.
"""

import argparse
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
    sections = help_sections(text)
    lines = sections.get("subcommands", []) + sections.get("commands", [])
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

    skip = sub.add_parser("skip")
    skip.add_argument("reason")
    skip.set_defaults(run=lambda a: (print(f"skipped: {a.reason}"), sys.exit(SKIPPED)))

    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
