"""The benchmark runs at all: one desk start in a real pty, the reference app, the inbox queries.

No timing is asserted (timings belong to ``python -m bench``, not to the test suite); the
test checks that every figure it asked for was measured and written to the JSON file.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_quick_benchmark_measures_startup_and_queries_on_a_demo_database(tmp_path):
    demo = tmp_path / "demo.sqlite3"
    seeded = subprocess.run(
        [sys.executable, "-m", "screens.cli", "seed", "demo", "--db", str(demo)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )
    assert seeded.returncode == 0, seeded.stderr
    out = tmp_path / "results.json"
    run = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--only", "startup,queries", "--datasets", "demo",
         "--demo-db", str(demo), "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "| figure | median |" in run.stdout

    figures = json.loads(out.read_text())["figures"]
    measured = {key for key, fig in figures.items() if fig["runs"] > 0}
    # The desk reached its first frame and showed the inbox's first ticket in a real terminal,
    # beside the reference app, and quit on q.
    for key in ("ui.demo.first_frame", "ui.demo.rows", "ui.demo.quit", "ui.ref.first_frame"):
        assert key in measured, (key, figures.get(key))
    assert figures["ui.demo.rows"]["reference"] == figures["ui.ref.first_frame"]["median"]
    # The inbox queries went through the services.
    for key in ("first_page", "deep_page", "sidebar_counts", "search_top50"):
        assert f"db.sqlite.demo.{key}" in measured
    assert all(fig["verdict"] in ("pass", "FAIL", "info") for fig in figures.values() if fig["runs"])


@pytest.mark.slow
def test_quick_benchmark_measures_the_mail_channel(tmp_path):
    out = tmp_path / "results.json"
    run = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--only", "mail", "--mail-messages", "20", "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    figures = json.loads(out.read_text())["figures"]
    # A pipe delivery and the floor, an IMAP fetch from a real pymap beside imaplib alone,
    # the long thread (20 messages here) on the command line and in the desk: each measured.
    for key in ("mail.receive", "mail.floor", "mail.fetch", "mail.fetch_raw", "mail.ticket_show",
                "mail.ticket_screen"):
        assert figures[key]["runs"] > 0, (key, figures[key])
    assert figures["mail.receive"]["reference"] == figures["mail.floor"]["median"]
    assert figures["mail.fetch"]["reference"] == figures["mail.fetch_raw"]["median"]
    assert figures["mail.fetch"]["verdict"] in ("pass", "FAIL")
