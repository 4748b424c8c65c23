#!/usr/bin/env python3
"""Bootstrap and run deskapp on a fresh machine that has only python3.

    python3 tasks.py demo      # the desk on a freshly seeded SQLite demo database
    python3 tasks.py test      # every test (PostgreSQL ones too when DESK_TEST_PG_URL is set),
                               # in parallel over the machine's cores (pytest-xdist)

Both create ``.venv`` beside this file on first use and reinstall only when
``pyproject.toml`` changed. Extra arguments are passed on (``test -k inbox``).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".deskapp-installed"


def _fingerprint() -> str:
    return hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()


def ensure_venv() -> None:
    if not (BIN / "python").exists():
        print("deskapp: lege die virtuelle Umgebung .venv an …", file=sys.stderr)
        venv.EnvBuilder(with_pip=True).create(VENV)
    if STAMP.exists() and STAMP.read_text() == _fingerprint():
        return
    print("deskapp: installiere Abhängigkeiten (einmalig) …", file=sys.stderr)
    pip = [str(BIN / "python"), "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "install", "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "install", "-e", f"{ROOT}[test]"], check=True)
    STAMP.write_text(_fingerprint())


def _workers(args: list[str]) -> list[str]:
    """One pytest-xdist worker per core plus one, at most four (the race tests spawn
    processes of their own), unless the caller chose (``-n 1``, ``-p no:xdist``). The extra
    worker runs while the others wait (Pilot tests idle between frames, subprocesses,
    PostgreSQL round trips): on 2 cores 3 workers took 6:38 where 2 took 7:33 and 4 took
    7:01. Tests share nothing (own tmp_path, own PostgreSQL schema, OS-chosen ports), so any
    test may run beside any other; ``worksteal`` keeps a worker from idling while another
    holds the slow race tests."""
    if any(a.startswith(("-n", "--numprocesses", "--dist")) or a == "no:xdist" for a in args):
        return []
    return ["-n", str(max(1, min((os.cpu_count() or 1) + 1, 4))), "--dist", "worksteal"]


def _env() -> dict[str, str]:
    """The environment of the desk and the tests: Python keeps its bytecode cache.

    Some machines set ``PYTHONDONTWRITEBYTECODE``; then every desk start, every process a
    test spawns and pytest's assertion rewriting compile the project's modules from source
    again. ``__pycache__`` is ignored by git, so caching costs nothing but disk."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("demo", "test", "desk"):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    ensure_venv()
    command, rest = argv[0], argv[1:]
    if command == "test":
        cmd = [str(BIN / "python"), "-m", "pytest", *_workers(rest), *rest]
    elif command == "demo":
        cmd = [str(BIN / "deskapp"), "demo", *rest]
    else:
        cmd = [str(BIN / "deskapp"), *rest]
    return subprocess.call(cmd, cwd=ROOT, env=_env())


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
