"""``deskapp init`` and ``deskapp agents …`` on the command line, SQLite and PostgreSQL.

First start from an empty database, run twice changing nothing, the desk on a database
without agents saying what to run, the agent commands with their exit codes, and bad
input refused in German with nothing written.
"""

from __future__ import annotations

import json
import os
import pwd
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from screens.cli import main
from models.engine import make_engine, read_session
from models.migrate import upgrade
from models.tables import Agent, AuditLog

from tests.support.deskdata import NOW


def run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def settings_file(monkeypatch, tmp_path) -> Path:
    path = tmp_path / "config" / "settings.toml"
    monkeypatch.setenv("DESK_SETTINGS_FILE", str(path))
    monkeypatch.setattr("screens.cli._now", lambda: NOW)
    monkeypatch.delenv("DESK_AGENT", raising=False)
    return path


@pytest.fixture
def keyboard(db_url, unique_login, monkeypatch) -> str:
    """The login at the keyboard: the OS login on SQLite (patched), the connected role on PostgreSQL."""
    if db_url.startswith("postgresql"):
        return make_url(db_url).username
    login = unique_login("rita")
    monkeypatch.setattr("screens.cli._os_login", lambda: login)
    return login


def _state(db_url):
    engine = make_engine(db_url)
    try:
        with read_session(engine) as s:
            return (
                s.execute(select(Agent.login, Agent.roles, Agent.active).order_by(Agent.id)).all(),
                s.execute(select(func.count()).select_from(AuditLog)).scalar_one(),
            )
    finally:
        engine.dispose()


def _as_role(db_url: str, role: str) -> str:
    return make_url(db_url).set(username=role).render_as_string(hide_password=False)


def test_the_desk_on_a_database_without_agents_says_exactly_what_to_run(db_url, engine, settings_file, keyboard, capsys):
    code, out, err = run(["--db", db_url], capsys)
    assert code == 4 and out == ""
    assert "Diese Datenbank hat noch keine Agenten." in err
    shown = str(make_url(db_url).database) if db_url.startswith("sqlite") else db_url
    assert f"  deskapp init --db {shlex.quote(shown)}\n" in err  # ready to paste into a shell


def test_init_makes_the_keyboard_login_the_first_admin_once(db_url, settings_file, keyboard, capsys):
    code, out, err = run(["init", "--db", db_url, "--name", "Rita Root", "--json"], capsys)
    assert (code, err) == (0, "")
    done = json.loads(out)
    assert done["status"] == "initialised" and done["agents"] == 1
    assert done["admin"] == {"login": keyboard, "display_name": "Rita Root", "email": "", "roles": ["admin"],
                             "active": True}
    assert done["settings_changed"] and f'url = "{db_url}"' in settings_file.read_text()
    if db_url.startswith("postgresql"):
        assert done["group_role"].startswith("desk_agent_")
    # The settings file now names the database: no --db needed.
    code, out, _ = run(["agents", "list", "--json"], capsys)
    assert code == 0 and [a["login"] for a in json.loads(out)["agents"]] == [keyboard]
    before, text_before = _state(db_url), settings_file.read_text()
    code, out, err = run(["init", "--db", db_url, "--name", "Jemand Anders"], capsys)
    assert (code, err) == (0, "") and out.startswith("Schon eingerichtet:") and "Nichts geändert." in out
    assert _state(db_url) == before and settings_file.read_text() == text_before


def test_init_keeps_the_rest_of_the_settings_file(tmp_path, settings_file, monkeypatch, capsys):
    settings_file.parent.mkdir(parents=True)
    settings_file.write_text('[smtp]\nhost = "mail.example.de"\n\n[database]\nurl = "sqlite:///alt.sqlite3"\n')
    monkeypatch.setattr("screens.cli._os_login", lambda: "rita")
    db = tmp_path / "neu.sqlite3"
    assert run(["init", "--db", str(db), "--name", "Rita"], capsys)[0] == 0
    text = settings_file.read_text()
    assert '[smtp]\nhost = "mail.example.de"' in text and f'url = "sqlite:///{db}"' in text and "alt" not in text


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--name", "   "], "Der Anzeigename darf nicht leer sein."),
        (["--name", "Rita\x07"], "Steuerzeichen"),
    ],
)
def test_init_with_bad_input_writes_no_agent(db_url, settings_file, keyboard, capsys, argv, message):
    code, out, err = run(["init", "--db", db_url, *argv], capsys)
    assert code == 2 and message in err and not settings_file.exists()


def test_init_refuses_a_login_that_cannot_be_an_agent(tmp_path, settings_file, monkeypatch, capsys):
    monkeypatch.setattr("screens.cli._os_login", lambda: "Mr Smith")
    db = tmp_path / "desk.sqlite3"
    code, out, err = run(["init", "--db", str(db), "--name", "Smith"], capsys)
    assert code == 2 and "enthält Leerzeichen" in err
    assert _state(f"sqlite:///{db}")[0] == [] and not settings_file.exists()


def test_agent_commands_need_init_first(db_url, engine, settings_file, keyboard, tmp_path, capsys):
    code, _, err = run(["agents", "list", "--db", db_url], capsys)
    assert code == 4 and "deskapp init --db" in err
    missing = tmp_path / "vertippt.sqlite3"
    code, _, err = run(["agents", "list", "--db", str(missing)], capsys)
    assert code == 3 and f"Die Datenbank {missing} gibt es nicht. Einrichten mit: deskapp init --db" in err
    assert not missing.exists()


def test_agents_add_roles_deactivate_activate(db_url, settings_file, keyboard, unique_login, capsys):
    assert run(["init", "--db", db_url, "--name", "Rita Root"], capsys)[0] == 0
    lena = unique_login("lena")
    code, out, err = run(["agents", "add", lena, "--name", "Lena Koch", "--roles", "support", "--json"], capsys)
    assert (code, err) == (0, "")
    assert json.loads(out) == {"login": lena, "display_name": "Lena Koch", "email": "", "roles": ["support"],
                               "active": True, "changed": True}
    code, out, _ = run(["agents", "roles", lena, "support", "technician"], capsys)
    assert (code, out) == (0, f"Rollen von {lena}: Support, Technik.\n")
    code, out, _ = run(["agents", "deactivate", lena, "--json"], capsys)
    assert code == 0 and json.loads(out)["active"] is False
    code, out, _ = run(["agents", "deactivate", lena], capsys)
    assert (code, out) == (0, f"{lena} ist bereits deaktiviert; nichts geändert.\n")
    code, out, _ = run(["agents", "list"], capsys)
    assert code == 0 and out.splitlines()[0].split() == ["Login", "Name", "Rollen", "Status"]
    assert any(line.startswith(lena) and line.endswith("deaktiviert") for line in out.splitlines())
    code, out, _ = run(["agents", "activate", lena], capsys)
    assert (code, out) == (0, f"{lena} ist wieder aktiv.\n")
    code, _, err = run(["agents", "deactivate", keyboard], capsys)
    assert code == 5 and "letzte aktive Admin" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["add", "le na", "--name", "X", "--roles", "support"], "enthält Leerzeichen"),
        (["add", "x" * 300, "--name", "X", "--roles", "support"], "300 Zeichen lang; höchstens 63"),
        (["add", "bob", "--name", "X", "--roles", "chef"], "Unbekannte Rolle 'chef'. Mögliche Rollen:"),
        (["add", "bob", "--name", "X", "--roles", "support", "--email", "kein-at"], "keine E-Mail-Adresse"),
        (["add", "bob", "--name", "", "--roles", "support"], "Anzeigename darf nicht leer sein"),
        (["roles", "system", "admin"], "System-Agent ist eingebaut"),
        (["roles", "KEYBOARD", "chef"], "Unbekannte Rolle 'chef'"),
    ],
)
def test_bad_input_exit_2_nothing_written(db_url, settings_file, keyboard, capsys, argv, message):
    assert run(["init", "--db", db_url, "--name", "Rita Root"], capsys)[0] == 0
    before = _state(db_url)
    argv = [keyboard if a == "KEYBOARD" else a for a in argv]
    code, out, err = run(["agents", *argv], capsys)
    assert (code, out) == (2, "") and message in err and err.count("\n") == 1
    assert _state(db_url) == before


def test_a_non_admin_is_refused_exit_4(db_url, settings_file, keyboard, unique_login, monkeypatch, capsys):
    assert run(["init", "--db", db_url, "--name", "Rita Root"], capsys)[0] == 0
    lena = unique_login("lena")
    assert run(["agents", "add", lena, "--name", "Lena Koch", "--roles", "support"], capsys)[0] == 0
    before = _state(db_url)
    if db_url.startswith("postgresql"):
        url = _as_role(db_url, lena)  # on PostgreSQL the connection's role is who is at the keyboard
    else:
        url = db_url
        monkeypatch.setattr("screens.cli._os_login", lambda: lena)
    code, out, _ = run(["agents", "list", "--db", url, "--json"], capsys)
    assert code == 0 and {a["login"] for a in json.loads(out)["agents"]} == {keyboard, lena}
    code, _, err = run(["agents", "add", unique_login("eve"), "--name", "Eve", "--roles", "admin", "--db", url], capsys)
    assert code == 4 and f"Nur Admins verwalten Agenten ({lena} ist kein Admin)." in err
    assert _state(db_url) == before


def test_a_deactivated_agent_cannot_start_the_desk(db_url, settings_file, keyboard, unique_login, monkeypatch, capsys):
    assert run(["init", "--db", db_url, "--name", "Rita Root"], capsys)[0] == 0
    lena = unique_login("lena")
    assert run(["agents", "add", lena, "--name", "Lena Koch", "--roles", "support"], capsys)[0] == 0
    assert run(["agents", "deactivate", lena], capsys)[0] == 0
    if db_url.startswith("postgresql"):
        url = _as_role(db_url, lena)
        engine = make_engine(url)
        with pytest.raises(Exception, match="not permitted to log in"):  # the server refuses NOLOGIN
            engine.connect()
        engine.dispose()
        return
    monkeypatch.setattr("screens.cli._os_login", lambda: lena)
    code, out, err = run(["--db", db_url], capsys)
    assert code == 4 and f"Der Agent '{lena}' ist deaktiviert" in err


def test_init_in_a_process_takes_the_real_login_not_user_or_logname(tmp_path):
    """USER/LOGNAME are what getpass.getuser() reads first: they must not decide (SQLite)."""
    script = Path(sys.executable).with_name("deskapp")
    settings = tmp_path / "settings.toml"
    env = {**os.environ, "USER": "mallory", "LOGNAME": "mallory", "DESK_SETTINGS_FILE": str(settings)}
    env.pop("DESK_AGENT", None)
    db = tmp_path / "desk.sqlite3"
    done = subprocess.run([str(script), "init", "--db", str(db), "--name", "Erste Admin"],
                          capture_output=True, text=True, timeout=60, env=env, stdin=subprocess.DEVNULL)
    real = pwd.getpwuid(os.getuid()).pw_name
    assert done.returncode == 0, done.stderr
    assert f"Erster Admin: {real} (Erste Admin)." in done.stdout
    listed = subprocess.run([str(script), "agents", "list", "--json"], capture_output=True, text=True,
                            timeout=60, env=env)
    assert listed.returncode == 0, listed.stderr
    assert [a["login"] for a in json.loads(listed.stdout)["agents"]] == [real]
    again = subprocess.run([str(script), "init"], capture_output=True, text=True, timeout=60, env=env,
                           stdin=subprocess.DEVNULL)
    assert again.returncode == 0 and again.stdout.startswith("Schon eingerichtet:")


def test_db_upgrade_grants_the_group_its_privileges(db_url, settings_file, keyboard, unique_login, capsys):
    if not db_url.startswith("postgresql"):
        pytest.skip("PostgreSQL group role")
    assert run(["init", "--db", db_url, "--name", "Rita Root", "--json"], capsys)[0] == 0
    assert run(["db", "upgrade", "--db", db_url], capsys)[0] == 0  # idempotent, grants again
    engine = make_engine(db_url)
    upgrade(engine)
    engine.dispose()
