"""The fault test of the command line (issue 13, findings 5–9), kept as tests.

Every command's arguments are driven with hostile values through the real entry point:
whatever comes in, the answer is an exit code from the documented set and German lines,
never a traceback, never a raw control character on the terminal.
"""

from __future__ import annotations

import os
import pwd
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from screens.cli import main
from screens.cli.boundary import EXIT_CODES
from seed.demo import build_demo
from tests.support.deskdata import NOW

DESKAPP = Path(sys.executable).parent / "deskapp"
LOGIN = pwd.getpwuid(os.getuid()).pw_name

# Hostile values: undecodable bytes (as Python's argv carries them), huge and negative
# numbers, far dates, control characters, Unicode digits, markup, empty strings.
HOSTILE = [
    os.fsdecode(b"\xff\xfe"), "K-" + os.fsdecode(b"\xc3("), "99999999999999999999999", "9" * 400, "-1", "0",
    "9999-12-31", "0001-01-01", "31.12.99999", "\x1b[31mrot\x07", "a\x9b2J", "\u202eevil", "١٢", "²",
    "", " ", "[red]x[/]", "[/oops]", "%s%n", "NaN", "1e9999", "12,555", "K-10001", "1",
]
hostile = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)) | st.sampled_from("\x1b\x07\x00\r\n\x7f"),
            max_size=12),
)

# Each command with one slot for the hostile value (commands that start the full-screen
# desk or wipe a database are driven by the explicit tests below instead).
TEMPLATES = [
    ["order", "--customer", "{v}", "--item", "Domain", "--amount", "1"],
    ["order", "--customer", "K-10001", "--item", "{v}", "--amount", "1"],
    ["order", "--customer", "K-10001", "--item", "x.de", "--amount", "{v}"],
    ["orders", "settle", "--order", "{v}"],
    ["orders", "settle", "--until", "{v}"],
    ["orders", "settle", "--until", "10.03.26", "--customer", "{v}"],
    ["reminders", "run", "--today", "{v}", "--dry-run"],
    ["reminders", "run", "--today", "{v}"],
    ["extension", "request", "--agent", "tom", "--customer", "{v}", "--months", "1"],
    ["extension", "request", "--agent", "tom", "--customer", "K-10001", "--months", "{v}"],
    ["extension", "request", "--agent", "tom", "--customer", "K-10001", "--months", "1", "--until", "{v}"],
    ["extension", "request", "--agent", "tom", "--customer", "K-10001", "--months", "1", "--task", "{v}"],
    ["extension", "decide", "--agent", "isabel", "--request", "{v}", "approve"],
    ["extension", "decide", "--agent", "isabel", "--request", "1", "{v}"],
    ["extension", "decide", "--agent", "{v}", "--request", "1", "reject", "--reason", "{v}"],
    ["agents", "add", "{v}", "--name", "{v}", "--roles", "support"],
    ["agents", "roles", "{v}", "support"],
    ["agents", "deactivate", "{v}"],
    ["settings", "show", "{v}"],
    ["settings", "set", "inbox_page_size", "{v}"],
    ["settings", "set", "{v}", "1"],
    ["package", "book", "--customer", "K-10001", "--hours", "{v}", "--price", "10", "--purchased", "10.03.26",
     "--ref", "r1"],
    ["package", "book", "--customer", "K-10001", "--hours", "1", "--price", "{v}", "--purchased", "{v}",
     "--ref", "{v}", "--label", "{v}"],
    ["ticket", "new", "--agent", "tom", "--queue", "{v}", "--priority", "normal", "--subject", "s", "--text", "t"],
    ["ticket", "new", "--agent", "tom", "--queue", "support", "--priority", "{v}", "--subject", "{v}",
     "--text", "{v}", "--customer", "{v}"],
    ["customers", "export", "--format", "{v}"],
    ["ticket", "show", "{v}"],
    ["ticket", "show", "1", "--json"],
    ["ticket", "attachment", "1", "{v}", "--out", "/nonexistent-dir/{v}"],
    ["mail", "send"],
    ["db", "upgrade"],
    ["--db", "{v}", "orders", "settle", "--until", "10.03.26"],
]


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("faults") / "demo.sqlite3"
    from deskapp.database import open_database

    engine = open_database(str(path))
    build_demo(engine, now=NOW)
    engine.dispose()
    return path


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    monkeypatch.setattr("screens.cli._now", lambda: NOW)
    monkeypatch.setenv("DESK_SETTINGS_FILE", str(tmp_path / "keine-einstellungen.toml"))
    monkeypatch.setenv("DESK_LOG_FILE", str(tmp_path / "deskapp.log"))
    for name in ("DESK_SMTP_HOST", "DESK_AGENT", "DESK_REGISTRY_URL"):
        monkeypatch.delenv(name, raising=False)


def _argv(template: list[str], value: str, db: Path) -> list[str]:
    argv = [part.replace("{v}", value) for part in template]
    if "--db" not in template:
        argv += ["--db", str(db)]
    return argv


def _assert_clean(code, out: str, err: str) -> None:
    assert code in EXIT_CODES, (code, err)
    assert code != 7, err  # unexpected: a bug the boundary caught
    for stream in (out, err):
        assert "Traceback" not in stream
        # A lone CR would overwrite the line on a terminal; CRLF ends a CSV export's lines.
        assert not any(ch in stream.replace("\r\n", "\n") for ch in "\x1b\x07\x00\x9b\r"), repr(stream)
    if code:
        assert err.startswith("deskapp: Fehler:") or err.startswith("deskapp: "), err


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(template=st.sampled_from(TEMPLATES), value=hostile)
# Found by this test: a --db name longer than the file system allows made Path.exists() raise.
@example(template=["--db", "{v}", "orders", "settle", "--until", "10.03.26"], value="9" * 400)
def test_hostile_arguments_end_in_a_documented_exit_code(template, value, demo_db, capsys):
    argv = _argv(template, value, demo_db)
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse: usage errors (2), --help (0)
        code = exc.code
    out, err = capsys.readouterr()
    _assert_clean(code, out, err)


@pytest.mark.parametrize("argv, code, says", [
    (["order", "--customer", "K-10001", "--item", os.fsdecode(b"\xff\xfe"), "--amount", "1"], 2, "kein UTF-8"),
    (["orders", "settle", "--order", "99999999999999999999999"], 2, "braucht eine Nummer"),
    (["orders", "settle", "--order", "١٢"], 2, "braucht eine Nummer"),
    (["ticket", "show", "99999999999999999999999"], 2, "ist keine Nummer"),
    (["ticket", "show", "١٢"], 2, "ist keine Nummer"),
    (["orders", "settle", "--until", "9999-12-31"], 2, "das Jahr muss zwischen"),
    (["reminders", "run", "--today", "9999-12-31", "--dry-run"], 2, "das Jahr muss zwischen"),
    (["order", "--customer", "K-10001", "--item", "x.de", "--amount", "١٢"], 2, "Betrag"),
])
def test_reported_tracebacks_are_now_field_messages(argv, code, says, demo_db, capsys):
    try:
        got = main(argv + ["--db", str(demo_db)])
    except SystemExit as exc:  # refused by argparse (a type check): one German line, exit 2
        got = exc.code
    assert got == code
    out, err = capsys.readouterr()
    assert says in err and err.count("\n") == 1
    _assert_clean(code, out, err)


def test_console_script_with_undecodable_bytes_and_dev_null(tmp_path, demo_db):
    """Through the real console script: argv with bytes that are not UTF-8, /dev/null as a database."""
    env = {**os.environ, "DESK_SETTINGS_FILE": str(tmp_path / "s.toml"), "DESK_LOG_FILE": str(tmp_path / "l")}
    cases = [
        ([b"order", b"--db", os.fsencode(demo_db), b"--customer", b"\xff", b"--item", b"x", b"--amount", b"1"], 2),
        ([b"db", b"upgrade", b"--db", b"/dev/null"], 3),
    ]
    for args, expected in cases:
        done = subprocess.run([os.fsencode(DESKAPP), *args], capture_output=True, env=env, timeout=120)
        assert done.returncode == expected, done.stderr
        assert b"Traceback" not in done.stderr and done.stderr.startswith(b"deskapp: Fehler:")


def test_control_characters_in_an_item_are_shown_as_placeholders(demo_db, capsys):
    item = "a\x1b]0;pwned\x07b\x1b[2J"
    code = main(["order", "--db", str(demo_db), "--customer", "K-10001", "--item", item, "--amount", "1"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "„a␛]0;pwned␇b␛[2J“" in out
    _assert_clean(code, out, err)


def test_an_unexpected_error_is_one_line_and_the_traceback_is_in_the_log(demo_db, capsys, monkeypatch, tmp_path):
    def broken(*_a, **_k):
        raise RuntimeError("kaputt")

    monkeypatch.setattr("deskapp.services.reminders.run_reminders", broken)
    code = main(["reminders", "run", "--db", str(demo_db), "--dry-run"])
    out, err = capsys.readouterr()
    log = tmp_path / "deskapp.log"
    assert code == 7
    assert err.startswith("deskapp: Fehler: Unerwarteter Fehler (RuntimeError)") and str(log) in err
    assert "Traceback" not in err and err.count("\n") == 1
    assert "RuntimeError: kaputt" in log.read_text()


def test_a_broken_policy_value_names_the_setting_and_its_repair(tmp_path, capsys):
    path = tmp_path / "desk.sqlite3"
    from deskapp.database import open_database

    engine = open_database(str(path))
    build_demo(engine, now=NOW)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO policy_setting (key, value) VALUES ('inbox_page_size', 'viele')"))
    engine.dispose()
    code = main(["reminders", "run", "--db", str(path), "--dry-run"])
    err = capsys.readouterr().err
    assert code == 3
    assert "inbox_page_size" in err and "»viele«" in err and "deskapp settings set inbox_page_size" in err
    # The repair works although the stored value does not parse.
    assert main(["--agent", "isabel", "settings", "set", "inbox_page_size", "50", "--db", str(path)]) == 0
    assert main(["reminders", "run", "--db", str(path), "--dry-run"]) == 0


# ------------------------------------------------------------------ identity (finding 5)


def test_identity_is_the_real_user_not_logname(tmp_path):
    """LOGNAME/USER name another agent: the command still acts as the OS login of the uid."""
    db = tmp_path / "team.sqlite3"
    env = {**os.environ, "DESK_SETTINGS_FILE": str(tmp_path / "s.toml"), "DESK_LOG_FILE": str(tmp_path / "l")}
    env.pop("DESK_AGENT", None)
    run = lambda *a, **kw: subprocess.run([str(DESKAPP), *a], capture_output=True, text=True, timeout=120, **kw)  # noqa: E731
    assert run("init", "--db", str(db), "--name", "Erste Admin", env=env).returncode == 0
    assert run("agents", "add", "isabel", "--name", "Isabel", "--roles", "support,admin", "--db", str(db),
               env=env).returncode == 0
    assert run("agents", "roles", LOGIN, "support", "--db", str(db), env=env).returncode == 0  # no admin now
    disguised = {**env, "LOGNAME": "isabel", "USER": "isabel", "USERNAME": "isabel"}
    done = run("agents", "add", "mallory", "--name", "Mallory", "--roles", "admin", "--db", str(db), env=disguised)
    assert done.returncode == 4, done.stderr  # LOGIN is no admin; isabel's name in the environment counts for nothing
    assert "Traceback" not in done.stderr
    listing = run("agents", "list", "--db", str(db), "--json", env=env)
    assert "mallory" not in listing.stdout
    ticket = run("ticket", "new", "--db", str(db), "--queue", "support", "--priority", "normal", "--subject", "s",
                 "--text", "t", "--json", env=disguised)
    assert ticket.returncode == 0, ticket.stderr
    assert f'"created_by": "{LOGIN}"' in ticket.stdout


# ------------------------------------------------------------------ destructive commands (6, 7, 9)


def test_demo_refuses_to_delete_a_database_that_is_not_a_demo(tmp_path, capsys):
    team = tmp_path / "team.sqlite3"
    assert main(["init", "--db", str(team), "--name", "Admin"]) == 0
    other = tmp_path / "notes.txt"
    other.write_text("wichtig")
    before = team.read_bytes()
    capsys.readouterr()
    for target in (team, other):
        assert main(["demo", "--db", str(target)]) == 1
        err = capsys.readouterr().err
        assert "keine Demo-Datenbank" in err and "Nichts wurde gelöscht" in err
    assert team.read_bytes() == before and other.read_text() == "wichtig"


def test_reminders_for_a_past_day_only_as_a_dry_run(demo_db, capsys):
    assert main(["reminders", "run", "--db", str(demo_db), "--today", "01.01.26"]) == 2
    assert "liegt in der Vergangenheit" in capsys.readouterr().err
    assert main(["reminders", "run", "--db", str(demo_db), "--today", "01.01.26", "--dry-run"]) == 0


@pytest.mark.parametrize("argv", [
    ["order", "--customer", "K-10001", "--item", "x.de", "--amount", "1"],
    ["orders", "settle", "--until", "10.03.26"],
    ["reminders", "run", "--dry-run"],
    ["settings", "show"],
    ["agents", "list"],
    ["extension", "decide", "--request", "1", "approve"],
    [],  # the desk itself
])
def test_a_mistyped_db_creates_nothing(argv, tmp_path, capsys):
    typo = tmp_path / "vertipt" / "desk.sqlite3"
    code = main(["--db", str(typo), *argv] if not argv else [*argv, "--db", str(typo)])
    err = capsys.readouterr().err
    assert code == 3 and "gibt es nicht" in err and "Nichts wurde angelegt" in err
    assert list(tmp_path.iterdir()) == [] or not (tmp_path / "vertipt").exists()


# ------------------------------------------------------------------ a locked database (8)


def test_a_locked_database_is_exit_3_saying_what_to_do(database, engine, capsys, monkeypatch):
    backend, url, where = database
    build_demo(engine, now=NOW)
    if backend == "sqlite":
        monkeypatch.setattr("models.engine.SQLITE_BUSY_TIMEOUT_MS", 200)
        holder = sqlite3.connect(where, timeout=1, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # the write lock, held like a long transaction would
        release = holder.rollback
        target = url
    else:
        holder = engine.connect()
        holder.execute(text('LOCK TABLE order_ IN ACCESS EXCLUSIVE MODE'))
        release = holder.rollback
        target = url + "%20-clock_timeout%3D300"  # the command gives up after 300 ms
    try:
        code = main(["orders", "settle", "--until", "10.03.26", "--db", target])
    finally:
        release()
        holder.close()
    err = capsys.readouterr().err
    assert code == 3, err
    assert "gerade gesperrt" in err and "erneut versuchen" in err and err.count("\n") == 1
    assert main(["orders", "settle", "--until", "10.03.26", "--db", target]) == 0  # released: it works
