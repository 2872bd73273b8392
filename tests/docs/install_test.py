#!/usr/bin/env python3
"""Installs the build into a temporary DESTDIR and checks the file list.

    install_test.py MESON BUILD_DIR

The expected places come from the build's own options (prefix, bindir,
mandir, datadir) and, for the shell completions and the systemd user unit,
from the pkg-config files of bash-completion, fish and systemd, asked here
independently of meson.build; zsh has no pkg-config file and gets
share/zsh/site-functions. Every expected file must be installed and nothing
else may be.
"""

import json
import os
import subprocess
import sys
import tempfile


def pkg_config_dir(package, variable, define, default):
    """A pkg-config directory rebased onto our prefix, or `default` without the file."""
    result = subprocess.run(
        ["pkg-config", f"--define-variable={define[0]}={define[1]}", f"--variable={variable}",
         package],
        capture_output=True, text=True, check=False,
    )
    if result.returncode != 0 or not result.stdout.strip():
        return default
    return result.stdout.strip()


def main():
    meson, build_dir = sys.argv[1], sys.argv[2]
    options = {
        option["name"]: option["value"]
        for option in json.loads(
            subprocess.run([meson, "introspect", "--buildoptions", build_dir],
                           capture_output=True, text=True, check=True).stdout)
    }
    prefix = options["prefix"]

    def under_prefix(path):
        return path if os.path.isabs(path) else os.path.join(prefix, path)

    bindir = under_prefix(options["bindir"])
    mandir = under_prefix(options["mandir"])
    datadir = under_prefix(options["datadir"])
    bash_dir = pkg_config_dir("bash-completion", "completionsdir", ("datadir", datadir),
                              os.path.join(datadir, "bash-completion", "completions"))
    fish_dir = pkg_config_dir("fish", "completionsdir", ("datadir", datadir),
                              os.path.join(datadir, "fish", "vendor_completions.d"))
    unit_dir = pkg_config_dir("systemd", "systemduserunitdir", ("prefix", prefix),
                              os.path.join(prefix, "lib", "systemd", "user"))
    examples = os.path.join(datadir, "doc", "switchboard", "examples")

    expected = {
        os.path.join(bindir, "switchboard"),
        os.path.join(mandir, "man1", "switchboard.1"),
        os.path.join(mandir, "man5", "switchboard.yaml.5"),
        os.path.join(mandir, "man7", "switchboard-protocol.7"),
        os.path.join(mandir, "man7", "switchboard-events.7"),
        os.path.join(bash_dir, "switchboard"),
        os.path.join(fish_dir, "switchboard.fish"),
        os.path.join(datadir, "zsh", "site-functions", "_switchboard"),
        os.path.join(unit_dir, "switchboard@.service"),
        os.path.join(examples, "demo.yaml"),
        os.path.join(examples, "agents.yaml"),
        os.path.join(examples, "reviewers.yaml"),
    }

    problems = []
    with tempfile.TemporaryDirectory(prefix="switchboard-install-") as destdir:
        env = dict(os.environ, DESTDIR=destdir)
        result = subprocess.run([meson, "install", "-C", build_dir, "--no-rebuild", "--quiet"],
                                capture_output=True, text=True, env=env, check=False)
        if result.returncode != 0:
            sys.exit(f"meson install failed ({result.returncode}):\n{result.stdout}{result.stderr}")
        installed = set()
        for root, _dirs, files in os.walk(destdir):
            for name in files:
                installed.add("/" + os.path.relpath(os.path.join(root, name), destdir))

        for path in sorted(expected - installed):
            problems.append(f"{path} was not installed")
        for path in sorted(installed - expected):
            problems.append(f"{path} was installed but is not expected")

        binary = destdir + os.path.join(bindir, "switchboard")
        if os.path.exists(binary):
            if not os.access(binary, os.X_OK):
                problems.append(f"{binary} is not executable")
            version = subprocess.run([binary, "--version"], capture_output=True, text=True,
                                     check=False)
            if version.returncode != 0 or not version.stdout.startswith("switchboard "):
                problems.append(f"the installed binary's --version says {version.stdout!r}")

        unit = destdir + os.path.join(unit_dir, "switchboard@.service")
        if os.path.exists(unit):
            with open(unit, encoding="utf-8") as f:
                text = f.read()
            exec_start = (f"ExecStart={os.path.join(bindir, 'switchboard')} up --foreground "
                          "-f %h/.config/switchboard/%i.yaml")
            for line in (exec_start, "Type=notify", "KillMode=mixed"):
                if line not in text.splitlines():
                    problems.append(f"{unit} has no line {line!r}")
            if "@" + "bindir@" in text:
                problems.append(f"{unit} still holds the @bindir@ placeholder")

    for problem in problems:
        print(f"FAIL: {problem}", file=sys.stderr)
    if problems:
        sys.exit(f"{len(problems)} problem(s) with the installed files")
    print(f"{len(expected)} files installed where expected:")
    for path in sorted(expected):
        print(f"  {path}")


if __name__ == "__main__":
    main()
