"""Policy settings (docs/rules.md#setup-settings): everyone sees them, admins change them.

Service and command line, SQLite and PostgreSQL: value, default and meaning of every
setting; checked values; a clear German refusal with nothing written; old → new audited.
"""

from __future__ import annotations

import dataclasses
import json

import pytest
from sqlalchemy import func, select

from screens.cli import main
from deskapp.services import policy_admin, settings_store
from deskapp.services.errors import InvalidInput, PermissionDenied
from deskapp.settings import Policy
from models.engine import read_session, write_session
from models.tables import AuditLog, PolicySetting

from tests.support.deskdata import NOW


def _state(engine):
    with read_session(engine) as s:
        return (
            sorted(tuple(r) for r in s.execute(select(PolicySetting.key, PolicySetting.value)).all()),
            s.execute(select(func.count()).select_from(AuditLog)).scalar_one(),
        )


def _set(engine, actor, key, value):
    with write_session(engine) as s:
        return policy_admin.set_setting(s, actor, key=key, value=value, now=NOW)


def test_every_setting_is_shown_with_value_default_and_meaning(engine):
    with read_session(engine) as s:
        rows = policy_admin.list_settings(s)
    assert [r.key for r in rows] == [f.name for f in dataclasses.fields(Policy)]
    assert all(r.description != r.key and r.value == r.default and not r.overridden for r in rows)
    by_key = {r.key: r for r in rows}
    assert (by_key["default_credit_limit"].value, by_key["default_credit_limit"].kind) == ("500.00", "Betrag")
    assert by_key["allow_negative_budget"].value == "nein"


def test_an_admin_changes_a_setting_audited_old_to_new(engine, people):
    change = _set(engine, people["isabel"], "package_validity_months", "36")
    assert change.changed and change.old == "24" and change.setting.value == "36" and change.setting.overridden
    change = _set(engine, people["isabel"], "default_credit_limit", "1.000,50")  # as a German types it
    assert change.setting.value == "1000.50"
    with read_session(engine) as s:
        policy = settings_store.load_policy(s)
        audit = s.execute(
            select(AuditLog.agent_login, AuditLog.entity_id, AuditLog.old, AuditLog.new)
            .where(AuditLog.action == "policy.set").order_by(AuditLog.id)
        ).all()
    assert policy.package_validity_months == 36 and str(policy.default_credit_limit) == "1000.50"
    assert [tuple(a) for a in audit] == [
        ("isabel", "package_validity_months", "24", "36"),
        ("isabel", "default_credit_limit", "500.00", "1000.50"),
    ]
    before = _state(engine)
    assert not _set(engine, people["isabel"], "package_validity_months", " 36 ").changed
    assert _state(engine) == before


def test_a_non_admin_is_refused(engine, people):
    before = _state(engine)
    with pytest.raises(PermissionDenied, match="Nur Admins ändern Richtlinien-Einstellungen"):
        _set(engine, people["lena"], "inbox_page_size", "50")
    assert _state(engine) == before


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("default_credit_limit", "-5", "default_credit_limit darf nicht negativ sein"),
        ("default_credit_limit", "12.345", "höchstens zwei Nachkommastellen"),
        ("package_validity_months", "0", "package_validity_months muss mindestens 1 sein"),
        ("inbox_page_size", "zehn", "'zehn' ist keine ganze Zahl; inbox_page_size braucht eine ganze Zahl."),
        ("inbox_poll_seconds", "nan", "ist keine Zahl"),
        ("inbox_poll_seconds", "0", "mindestens mehr als 0"),
        ("allow_negative_budget", "vielleicht", "ist kein Ja/Nein"),
        ("reminder_stages_months", "6 drei 1", "ganze Zahlen größer als 0"),
        ("working_day_start_hour", "19", "Der Arbeitstag muss vor seinem Ende beginnen"),
        ("working_day_end_hour", "25", "höchstens 24"),
        ("extension_min_months", "3", "kürzeste Verlängerung"),
        ("budget_critical_minutes", "900", "kritische Budgetschwelle"),
        ("registry_url", "ftp://x", r"keine http\(s\)-Adresse"),
        # docs/rules.md#mail-delivery: a mail must not count as cut off while its answer is still awaited
        ("mail_data_timeout_seconds", "1800", r"Nach 30 min ohne Ergebnis gilt eine Mail als unklar"),
        ("mail_sending_stale_minutes", "10", r"länger sein als das Warten auf die Antwort des SMTP-Servers \(600 s\)"),
        ("mail_data_timeout_seconds", "0", "mindestens mehr als 0"),
        ("mail_uncertain_resends", "-1", "darf nicht negativ sein"),
        ("registry_simulate_unreachable_until", "morgen", "kein Zeitpunkt"),
        ("no_such_setting", "1", "Die Einstellung 'no_such_setting' gibt es nicht."),
        ("registry_simulate_fail_items", "x" * 300, "höchstens 255"),
    ],
)
def test_bad_values_are_refused_in_german_and_nothing_written(engine, people, key, value, message):
    before = _state(engine)
    with pytest.raises(InvalidInput, match=message):
        _set(engine, people["isabel"], key, value)
    assert _state(engine) == before


# --------------------------------------------------------------------------- the command line


@pytest.fixture
def cli(monkeypatch, tmp_path):
    monkeypatch.setenv("DESK_SETTINGS_FILE", str(tmp_path / "settings.toml"))
    monkeypatch.setattr("screens.cli._now", lambda: NOW)
    monkeypatch.delenv("DESK_AGENT", raising=False)


def run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_show_and_set(db_url, engine, people, capsys, cli, monkeypatch):
    if engine.dialect.name == "postgresql":
        pytest.skip("on PostgreSQL the database role is the agent: see test_init_cli.py")
    monkeypatch.setattr("screens.cli._os_login", lambda: "isabel")
    code, out, err = run(["settings", "show", "--db", db_url, "--json"], capsys)
    assert (code, err) == (0, "")
    assert len(json.loads(out)["settings"]) == len(dataclasses.fields(Policy))
    code, out, _ = run(["settings", "set", "package_validity_months", "36", "--db", db_url, "--json"], capsys)
    assert code == 0
    shown = json.loads(out)
    assert (shown["old"], shown["value"], shown["default"], shown["changed"]) == ("24", "36", "24", True)
    code, out, _ = run(["settings", "show", "package_validity_months", "--db", db_url], capsys)
    assert code == 0 and "36*" in out and "Gültigkeit eines Stundenpakets" in out
    code, out, _ = run(["settings", "set", "package_validity_months", "36", "--db", db_url], capsys)
    assert (code, out) == (0, "package_validity_months ist bereits 36; nichts geändert.\n")


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["set", "no_such_setting", "1"], 2, "Die Einstellung 'no_such_setting' gibt es nicht."),
        (["set", "inbox_page_size", "zehn"], 2, "'zehn' ist keine ganze Zahl"),
        (["set", "default_credit_limit", "-1"], 2, "darf nicht negativ sein"),
        (["set", "package_validity_months", "0"], 2, "mindestens 1"),
        (["show", "no_such_setting"], 2, "gibt es nicht"),
    ],
)
def test_cli_bad_input_exit_2_nothing_written(db_url, engine, people, capsys, cli, monkeypatch, argv, code, message):
    monkeypatch.setattr("screens.cli._os_login", lambda: "isabel")
    before = _state(engine)
    got, out, err = run(["settings", *argv, "--db", db_url], capsys)
    assert (got, out) == (code, "")
    assert err.startswith("deskapp: Fehler: ") and message in err and err.count("\n") == 1
    assert _state(engine) == before


def test_cli_non_admin_exit_4(tmp_path, capsys, cli, monkeypatch):
    from models.engine import make_engine
    from models.migrate import upgrade
    from seed.people import create_roster

    db = tmp_path / "desk.sqlite3"
    engine = make_engine(db)
    upgrade(engine)
    with write_session(engine) as s:
        create_roster(s)
    monkeypatch.setattr("screens.cli._os_login", lambda: "lena")
    before = _state(engine)
    code, out, err = run(["settings", "set", "inbox_page_size", "50", "--db", str(db)], capsys)
    assert code == 4 and "Nur Admins ändern Richtlinien-Einstellungen (lena ist kein Admin)." in err
    assert _state(engine) == before
    engine.dispose()
