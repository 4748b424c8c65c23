"""Profile the desk's start: ``python -m bench.profile [--db PATH]``.

Two views of the path screens/cli/__init__.py → screens/app.py → screens/inbox/, written to
``bench/.cache/profile/``:

* ``importtime.txt`` — ``python -X importtime`` of the lean start's modules and of the
  ORM path, the 30 costliest imports (cumulative ms) first;
* ``startup.txt`` — pyinstrument (a dev tool, not a dependency: skipped when missing) over
  the real desk in a pseudo-terminal, from process start until the first ticket row is
  on the screen and ``q`` has ended it. Thread workers are not in this profile; only
  the main thread (imports, database open, Textual, the UI thread).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

from .common import CACHE, ROOT, child_env, desk_argv, log
from .terminal import PtyProcess

OUT = CACHE / "profile"
# The lean start's main thread, and the ORM path the first worker loads after the first frame.
PATHS = {
    "lean start (main thread before the first frame)": "import screens.cli, deskapp.quickstart, screens.app, screens.inbox",
    "ORM path (full start / the warm-up worker)": "import deskapp.database, deskapp.services.tickets, models.tables",
}


def importtime() -> str:
    parts = []
    for title, modules in PATHS.items():
        proc = subprocess.run([sys.executable, "-X", "importtime", "-c", modules], cwd=ROOT, env=child_env(),
                              capture_output=True, text=True, check=False)
        rows = []
        for line in proc.stderr.splitlines():
            if not line.startswith("import time:") or "cumulative" in line:
                continue
            self_us, cumulative, name = line[len("import time:"):].split("|")
            rows.append((int(cumulative), int(self_us), name.rstrip()))
        rows.sort(reverse=True)
        top = sum(c for c, _, n in rows if not n.startswith("  "))  # top-level imports only
        lines = [f"## {title}: {modules}", f"all imports: {top / 1000:.0f} ms", "",
                 f"{'cumulative ms':>14} {'self ms':>8}  module"]
        lines += [f"{c / 1000:14.1f} {s / 1000:8.1f}  {n}" for c, s, n in rows[:30]]
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


def pyinstrument(db: str, first_number: int) -> str | None:
    try:
        import pyinstrument  # noqa: F401
    except ImportError:
        return None
    report = OUT / "startup.txt"
    desk = desk_argv("--db", db, "--agent", "tom")
    if desk[0] == sys.executable:  # no console script: python -m screens.cli
        desk = desk[2:]
        desk[0:0] = ["-m", "screens.cli"]
    argv = [sys.executable, "-m", "pyinstrument", "-r", "text", "-o", str(report), *desk]
    with PtyProcess(argv, env=child_env(), cwd=str(ROOT)) as term:
        term.wait_for(f"#{first_number}", timeout=120)
        time.sleep(0.5)
        term.send("q")
        term.wait_exit(60)
    return report.read_text() if report.exists() else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile")
    parser.add_argument("--db", help="database to start on (default: the cached large seed)")
    args = parser.parse_args(argv)
    from . import datasets

    db = args.db or datasets.sqlite_db("large")
    expect = datasets.expect("sqlite:///" + db)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "importtime.txt").write_text(importtime())
    log(f"wrote {OUT / 'importtime.txt'}")
    if pyinstrument(db, expect.first_number) is None:
        log("pyinstrument is not installed: no startup profile")
    else:
        log(f"wrote {OUT / 'startup.txt'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
