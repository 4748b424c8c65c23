"""The command line: help everywhere, one-line errors, exit codes, nothing written on refusal."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from screens.cli import main
from models.engine import make_engine, write_session
from models.migrate import upgrade
from tests.support.deskdata import NOW, build_small_desk
from tests.support.schema import migrated_sqlite_engine


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    "argv",
    [["--help"], ["demo", "--help"], ["seed", "--help"], ["db", "--help"], ["db", "upgrade", "--help"]],
)
def test_every_command_has_help(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 0
    assert "Aufruf: deskapp" in capsys.readouterr().out


def test_unknown_command_is_one_line_exit_2(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["frobnicate"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("deskapp: Fehler:") and err.count("\n") == 1


def test_corrupt_database_file_is_refused_untouched(tmp_path, capsys):
    db = tmp_path / "kaputt.sqlite3"
    db.write_bytes(b"this is not a database" * 50)
    before = digest(db)
    code, _, err = run(["--db", str(db)], capsys)
    assert code == 3
    assert "keine SQLite-Datenbank" in err
    assert digest(db) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kaputt.sqlite3"]


def test_database_that_cannot_be_created_is_refused(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    code, _, err = run(["--db", str(blocker / "desk.sqlite3")], capsys)
    assert code == 3
    assert "gibt es nicht" in err and "deskapp init --db" in err  # the desk creates no database
    assert blocker.read_text() == "x"


def test_read_only_database_is_refused_untouched(tmp_path, capsys, monkeypatch):
    db = tmp_path / "desk.sqlite3"
    upgrade(make_engine(db))
    db.chmod(0o444)
    if os.geteuid() == 0:  # root may write any file: let the permission check see what a user sees
        real_access = os.access
        monkeypatch.setattr(
            "deskapp.database.os.access",
            lambda p, mode: False if (Path(p) == db and mode == os.W_OK) else real_access(p, mode),
        )
    before = digest(db)
    code, _, err = run(["--db", str(db)], capsys)
    assert code == 3 and "schreibgeschützt" in err
    assert digest(db) == before


def test_newer_schema_is_refused_and_nothing_written(tmp_path, capsys):
    db = tmp_path / "desk.sqlite3"
    engine = migrated_sqlite_engine(db)
    with write_session(engine) as s:
        s.execute(text("UPDATE alembic_version SET version_num = '9999_from_the_future'"))
    engine.dispose()
    before = digest(db)
    for argv in (["--db", str(db)], ["db", "upgrade", "--db", str(db)], ["seed", "demo", "--db", str(db)]):
        code, _, err = run(argv, capsys)
        assert code == 3, argv
        assert "neueres Schema" in err and "9999_from_the_future" in err
    assert digest(db) == before


def test_unknown_agent_on_demo_database_lists_known_agents(tmp_path, capsys):
    db = tmp_path / "demo.sqlite3"
    engine = migrated_sqlite_engine(db)
    build_small_desk(engine, NOW, support_tickets=1)
    engine.dispose()
    code, _, err = run(["--db", str(db), "--agent", "mallory"], capsys)
    assert code == 4
    assert "Unbekannter Agent 'mallory'" in err
    for login in ("tom", "lena", "sara", "kai", "isabel", "rebekka"):
        assert login in err
    assert "system" not in err.split("Bekannte Agenten:")[1]


def test_agent_switch_refused_outside_demo_database(tmp_path, capsys, monkeypatch):
    db = tmp_path / "team.sqlite3"
    engine = migrated_sqlite_engine(db)
    from seed.people import create_roster

    with write_session(engine) as s:
        create_roster(s)
    engine.dispose()
    monkeypatch.setenv("DESK_AGENT", "tom")
    code, _, err = run(["--db", str(db)], capsys)
    assert code == 4
    assert "nur auf einer Demo-Datenbank" in err


def test_unmapped_login_refused_on_team_database(tmp_path, capsys, monkeypatch):
    db = tmp_path / "team.sqlite3"
    engine = migrated_sqlite_engine(db)
    from seed.people import create_roster

    with write_session(engine) as s:
        create_roster(s)
    engine.dispose()
    monkeypatch.delenv("DESK_AGENT", raising=False)
    monkeypatch.setattr("screens.cli._os_login", lambda: "mallory")
    code, _, err = run(["--db", str(db)], capsys)
    assert code == 4 and "Unbekannter Agent 'mallory'" in err


def test_db_upgrade_reports_and_is_idempotent(tmp_path, capsys):
    db = tmp_path / "desk.sqlite3"
    code, out, _ = run(["db", "upgrade", "--db", str(db)], capsys)
    assert code == 0 and "Schema aktualisiert" in out
    code, out, _ = run(["db", "upgrade", "--db", str(db)], capsys)
    assert code == 0 and "Schema ist aktuell" in out


def test_seed_refuses_non_empty_database_without_force(tmp_path, capsys):
    db = tmp_path / "desk.sqlite3"
    engine = migrated_sqlite_engine(db)
    build_small_desk(engine, NOW, support_tickets=3)
    engine.dispose()
    before = digest(db)
    code, _, err = run(["seed", "demo", "--db", str(db)], capsys)
    assert code == 1 and "nicht leer" in err and "--force" in err
    assert digest(db) == before


def test_console_script_prints_no_traceback(tmp_path):
    db = tmp_path / "kaputt.sqlite3"
    db.write_text("garbage")
    script = Path(sys.executable).with_name("deskapp")
    result = subprocess.run([str(script), "--db", str(db)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 3
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0


def test_argparse_refusals_speak_german(capsys):
    """A missing or unknown argument is one German line, exit 2 (walk: agents read it)."""
    with pytest.raises(SystemExit) as exit_:
        main(["extension", "request", "--db", "x.sqlite3"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "diese Angaben fehlen: --customer, --months" in err
    assert "the following" not in err
    with pytest.raises(SystemExit):
        main(["seed", "bogus", "--db", "x.sqlite3"])
    assert "ungültige Wahl: 'bogus'" in capsys.readouterr().err
