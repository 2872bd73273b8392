#!/usr/bin/env python3
"""Turns an scdoc page into a man page that mandoc -Tlint accepts.

Usage: scdoc-man.py SCDOC INPUT OUTPUT

scdoc (1.11 on Debian 12) ends every paragraph with ".P", also right before a
heading and right before the ".RE" that closes an indented block, and starts
every section with one. mandoc warns about each ("skipping paragraph macro")
and groff ignores them or prints the same space anyway. This moves a ".P"
out of the indented block it would close, and drops the ones next to a
heading, so the lint tests in tests/docs hold the pages to mandoc's warnings
without drowning in scdoc's.
"""

import subprocess
import sys


def tidy(lines):
    # A run of ".P" and ".RE" lines becomes the ".RE"s, then one ".P": the
    # paragraph break then follows the end of the indented block, where it
    # separates the same two paragraphs.
    moved = []
    i = 0
    while i < len(lines):
        if lines[i] in (".P", ".RE"):
            run = []
            while i < len(lines) and lines[i] in (".P", ".RE"):
                run.append(lines[i])
                i += 1
            moved.extend(line for line in run if line == ".RE")
            if ".P" in run:
                moved.append(".P")
            continue
        moved.append(lines[i])
        i += 1

    # A heading already breaks the paragraph before it and starts the next.
    out = []
    for index, line in enumerate(moved):
        if line == ".P":
            following = moved[index + 1] if index + 1 < len(moved) else None
            previous = out[-1] if out else None
            if following is None or following.startswith((".SH", ".SS")):
                continue
            if previous is not None and previous.startswith((".SH", ".SS", ".TH")):
                continue
        out.append(line)
    return out


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: scdoc-man.py SCDOC INPUT OUTPUT")
    scdoc, source, target = sys.argv[1:]
    with open(source, "rb") as page:
        result = subprocess.run([scdoc], stdin=page, capture_output=True, check=False)
    if result.returncode != 0:
        sys.stderr.write(result.stderr.decode(errors="replace"))
        sys.exit(f"scdoc failed on {source}")
    lines = result.stdout.decode().split("\n")
    trailing_newline = lines and lines[-1] == ""
    if trailing_newline:
        lines.pop()
    text = "\n".join(tidy(lines))
    with open(target, "w", encoding="utf-8") as out:
        out.write(text + ("\n" if trailing_newline else ""))


if __name__ == "__main__":
    main()
