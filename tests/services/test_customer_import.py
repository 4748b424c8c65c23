"""``deskapp customers import/export`` (SQLite and PostgreSQL) and the file codec.

Upsert by customer number, UUIDs kept or made, the default credit limit for new
customers, limit changes audited with the reason "Import", all-or-nothing (an import
failing in its last row writes nothing), ``--skip-invalid``, ``--dry-run``, every bad
file a German line with exit code 2 and nothing written, and a lossless round trip
(also as a hypothesis property).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import string
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from screens.cli import main
from deskapp.rules import customer_file as cf
from deskapp.services import agents, contacts, customer_import, customers, orders
from models.engine import make_engine, read_session, write_session
from models.migrate import upgrade
from models.tables import AuditLog, CreditLimitChange, Customer, CustomerEmail

from tests.support.deskdata import NOW

HEADER = "Kundennummer;Name;E-Mail;Telefon;Kreditlimit;Kunde seit"
KRUME_ID = uuid.UUID("0b0b0b0b-0000-4000-8000-000000000001")


@pytest.fixture(autouse=True)
def _fixed_clock(monkeypatch):
    monkeypatch.setattr("screens.cli._now", lambda: NOW)


@pytest.fixture
def desk(engine, people):
    """The roster on a demo-marked database (so ``--agent`` picks who is at the keyboard)."""
    with write_session(engine) as s:
        agents.mark_demo_database(s)
    return people


def csv_file(tmp_path, *rows: str, header: str = HEADER, encoding: str = "utf-8-sig", name="kunden.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(("\r\n".join([header, *rows]) + "\r\n").encode(encoding))
    return path


def run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def imp(db_url, path, capsys, *extra, agent="sara"):
    return run(["customers", "import", str(path), "--db", db_url, "--agent", agent, *extra], capsys)


def counts(engine) -> dict:
    with read_session(engine) as s:
        return {
            t.__name__: s.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (Customer, CustomerEmail, AuditLog, CreditLimitChange)
        }


def by_number(engine, number):
    with read_session(engine) as s:
        c = s.execute(select(Customer.__table__).where(Customer.number == number)).one_or_none()
        emails = contacts.addresses_of(s, c.id) if c else ()
    return c, emails


# --------------------------------------------------------------------------- importing


def test_import_creates_customers_with_default_limit_and_contact_addresses(db_url, engine, desk, tmp_path, capsys):
    path = csv_file(
        tmp_path,
        f"K-20001;Bäckerei Krume GmbH;info@krume.de, Chef@Krume.DE;+49 30 123;;01.03.2024",
        "K-20002;Müller & Söhne;buero@mueller.example;;1.500,00;",
        header=HEADER + ";ID",
    )
    # the first row keeps its given UUID, the second gets one made
    text = path.read_text(encoding="utf-8-sig").splitlines()
    text[1] += f";{KRUME_ID}"
    text[2] += ";"
    path.write_text("\r\n".join(text) + "\r\n", encoding="utf-8-sig")

    code, out, err = imp(db_url, path, capsys)
    assert (code, err) == (0, "")
    assert "2 neu, 0 geändert, 0 unverändert" in out

    krume, emails = by_number(engine, "K-20001")
    assert krume.id == KRUME_ID
    assert krume.credit_limit == Decimal("500.00")  # Policy.default_credit_limit
    assert emails == ("info@krume.de", "Chef@Krume.DE") and krume.email == "info@krume.de"
    assert krume.phone == "+49 30 123"
    assert customer_import.berlin_day(krume.created_at) == dt.date(2024, 3, 1)
    mueller, _ = by_number(engine, "K-20002")
    assert mueller.credit_limit == Decimal("1500.00") and mueller.created_at == NOW
    with read_session(engine) as s:  # matched case-insensitively, as incoming mail will be
        assert [h.number for h in contacts.customers_by_address(s, "chef@krume.de")] == ["K-20001"]
        actions = s.execute(select(AuditLog.action, AuditLog.agent_login)).all()
    assert sorted(actions) == [("customer.create", "sara")] * 2 + [("customer.import", "sara")]


def test_upsert_by_number_updates_and_audits_a_limit_change_with_reason_import(db_url, engine, desk, tmp_path, capsys):
    with write_session(engine) as s:
        kept = customers.create_customer(s, desk["sara"], name="Krume", number="K-20001", email="info@krume.de",
                                         credit_limit=Decimal("500.00"), now=NOW)
        customers.create_customer(s, desk["sara"], name="Same", number="K-20002", email="same@x.de",
                                  credit_limit=Decimal("500.00"), now=NOW - dt.timedelta(days=3))
    before = counts(engine)
    same_day = (NOW - dt.timedelta(days=3)).strftime("%d.%m.%Y")
    path = csv_file(tmp_path, "K-20001;Krume KG;info@krume.de, neu@krume.de;;2.000,00;",
                    f"K-20002;Same;same@x.de;;500,00;{same_day}", "K-20003;Neu;neu@neu.de;;;")
    code, out, _ = imp(db_url, path, capsys, "--json")
    report = json.loads(out)
    assert code == 0 and report["applied"] is True
    assert (report["created"], report["updated"], report["unchanged"]) == (["K-20003"], ["K-20001"], ["K-20002"])
    assert report["limit_changes"] == 1

    krume, emails = by_number(engine, "K-20001")
    assert krume.id == kept.id and krume.name == "Krume KG" and krume.version == 2
    assert krume.credit_limit == Decimal("2000.00")
    assert emails == ("info@krume.de", "neu@krume.de")
    with read_session(engine) as s:
        history = orders.credit_limit_history(s, kept.id)
        limit_audit = s.execute(select(AuditLog.new).where(AuditLog.action == "customer.credit_limit")).one()
    assert [(h.old_limit, h.new_limit, h.reason, h.agent_login) for h in history] == [
        (Decimal("500.00"), Decimal("2000.00"), "Import", "sara")
    ]
    assert json.loads(limit_audit.new) == {"credit_limit": "2000.00", "reason": "Import"}
    after = counts(engine)
    assert after["Customer"] == before["Customer"] + 1
    assert after["CreditLimitChange"] == before["CreditLimitChange"] + 1

    # The same file again: nothing to do, nothing written.
    before = counts(engine)
    code, out, _ = imp(db_url, path, capsys)
    assert code == 0 and "0 neu, 0 geändert, 3 unverändert" in out
    assert counts(engine) == before


def test_an_import_failing_in_its_last_row_writes_nothing(db_url, engine, desk, tmp_path, capsys):
    rows = [f"K-{30000 + i};Kunde {i};k{i}@example.de;;;" for i in range(200)]
    rows.append("K-39999;Letzter;letzter.example.de;;;")  # no @
    path = csv_file(tmp_path, *rows)
    before = counts(engine)
    code, out, err = imp(db_url, path, capsys)
    assert code == 2 and out == ""
    assert "Import abgelehnt: 1 von 201 Zeilen ungültig – nichts geschrieben." in err
    assert "Zeile 202, E-Mail: „letzter.example.de“ ist keine E-Mail-Adresse (es fehlt das @)" in err
    assert counts(engine) == before


def test_every_invalid_row_is_listed_with_line_column_and_reason(db_url, engine, desk, tmp_path, capsys):
    path = csv_file(
        tmp_path,
        "K-1;Gut;gut@x.de;;;",
        "K-2;Zahl;z@x.de;;fünfhundert;",
        ";Ohne Nummer;o@x.de;;;",
        "K-4;Datum;d@x.de;;;31.02.2024",
        "K-1;Doppelt;d2@x.de;;;",
        "K-6;Zukunft;f@x.de;;;01.01.2099",
        "K-7;Minus;m@x.de;;-5,00;",
        "K-8;Steuer\x07zeichen;s@x.de;;;",
    )
    before = counts(engine)
    code, out, err = imp(db_url, path, capsys, "--json")
    assert code == 2
    report = json.loads(out)
    assert report["applied"] is False and report["error"].startswith("Import abgelehnt")
    found = {(p["line"], p["column"]) for p in report["invalid"]}
    assert found == {(2, "Kundennummer"), (3, "Kreditlimit"), (4, "Kundennummer"), (5, "Kunde seit"),
                     (6, "Kundennummer"), (7, "Kunde seit"), (8, "Kreditlimit"), (9, "Name")}
    reasons = {p["line"]: p["reason"] for p in report["invalid"]}
    assert reasons[3] == "„fünfhundert“ ist kein Betrag (z. B. 1.500,00)"
    assert reasons[2] == "Kundennummer K-1 steht mehrfach in der Datei (Zeilen 2, 6)"
    assert reasons[9] == "enthält ein Steuerzeichen (U+0007)"
    assert "Zukunft" in reasons[7]
    assert counts(engine) == before


def test_skip_invalid_applies_the_valid_rows_and_lists_the_rest(db_url, engine, desk, tmp_path, capsys):
    path = csv_file(tmp_path, "K-1;Gut;gut@x.de;;;", "K-2;Schlecht;kein-at;;;", "K-3;Auch gut;a@x.de;;;")
    code, out, err = imp(db_url, path, capsys, "--skip-invalid")
    assert code == 0
    assert "2 neu, 0 geändert, 0 unverändert, 1 ungültig" in out
    assert "Zeile 3, E-Mail: „kein-at“ ist keine E-Mail-Adresse" in err
    assert by_number(engine, "K-1")[0] is not None and by_number(engine, "K-2")[0] is None


def test_dry_run_reports_and_writes_nothing(db_url, engine, desk, tmp_path, capsys):
    with write_session(engine) as s:
        customers.create_customer(s, desk["sara"], name="Alt", number="K-1", email="a@x.de",
                                  credit_limit=Decimal("500.00"), now=NOW)
    before = counts(engine)
    path = csv_file(tmp_path, "K-1;Neu benannt;a@x.de;;;", "K-2;Neu;n@x.de;;;", "K-3;Kaputt;x;;;")
    code, out, err = imp(db_url, path, capsys, "--dry-run")
    assert code == 2  # the real run would be refused
    assert "Probelauf kunden.csv: 1 neu, 1 geändert, 0 unverändert, 1 ungültig – nichts geschrieben." in out
    assert "Ohne --skip-invalid würde der Import abgelehnt" in err
    code, out, _ = imp(db_url, path, capsys, "--dry-run", "--skip-invalid", "--json")
    assert code == 0 and json.loads(out)["created"] == ["K-2"] and json.loads(out)["dry_run"] is True
    assert counts(engine) == before


def test_a_given_id_must_belong_to_the_customer_number(db_url, engine, desk, tmp_path, capsys):
    with write_session(engine) as s:
        one = customers.create_customer(s, desk["sara"], name="Eins", number="K-1", email="a@x.de",
                                        credit_limit=Decimal("500.00"), now=NOW)
    path = csv_file(tmp_path, f"K-1;Eins;a@x.de;;;;{uuid.uuid4()}", f"K-2;Zwei;b@x.de;;;;{one.id}",
                    header=HEADER + ";ID")
    code, out, err = imp(db_url, path, capsys)
    assert code == 2
    assert "Zeile 2, ID: gehört zu Kunde K-1; die ID eines Kunden ändert sich nie" in err
    assert "Zeile 3, ID: ist schon die ID von Kunde K-1" in err


def test_only_contract_processing_and_admins_import(db_url, engine, desk, tmp_path, capsys):
    path = csv_file(tmp_path, "K-1;Eins;a@x.de;;;")
    code, _, err = imp(db_url, path, capsys, agent="tom")
    assert code == 4 and "tom darf keine Kunden importieren" in err
    code, _, _ = imp(db_url, path, capsys, agent="isabel")
    assert code == 0


def test_windows_1252_and_json_files_are_read(db_url, engine, desk, tmp_path, capsys):
    path = csv_file(tmp_path, "K-1;Größe & Söhne;grosse@x.de;;1500;", encoding="cp1252")
    assert imp(db_url, path, capsys)[0] == 0
    assert by_number(engine, "K-1")[0].name == "Größe & Söhne"
    jpath = tmp_path / "kunden.json"
    jpath.write_text(json.dumps([
        {"number": "K-2", "name": "Jason", "emails": ["j@x.de", "k@x.de"], "credit_limit": "750.50",
         "customer_since": "2023-05-01"},
        {"number": "K-3", "name": "Zahl", "emails": "z@x.de", "credit_limit": 12.5},
    ], indent=2), encoding="utf-8")
    code, out, err = imp(db_url, jpath, capsys)
    assert (code, err) == (0, ""), err
    two, emails = by_number(engine, "K-2")
    assert two.credit_limit == Decimal("750.50") and emails == ("j@x.de", "k@x.de")
    assert by_number(engine, "K-3")[0].credit_limit == Decimal("12.50")


def test_json_row_problems_name_the_line_the_object_starts_on(db_url, engine, desk, tmp_path, capsys):
    jpath = tmp_path / "kunden.json"
    jpath.write_text('[\n  {"number": "K-1", "name": "A", "emails": ["a@x.de"]},\n'
                     '  {"number": "K-2", "name": "B", "emails": ["b"], "farbe": "rot"}\n]\n')
    code, _, err = imp(db_url, jpath, capsys)
    assert code == 2
    assert "Zeile 3, emails: „b“ ist keine E-Mail-Adresse (es fehlt das @)" in err
    assert "Zeile 3, farbe: unbekanntes Feld" in err


BAD_FILES = {
    "wrong_separator": (b"Kundennummer,Name,E-Mail\nK-1,A,a@x.de\n", "mit „,“ getrennt"),
    "tab_separated": (b"Kundennummer\tName\tE-Mail\nK-1\tA\ta@x.de\n", "mit „Tabulator“ getrennt"),
    "missing_columns": (b"Kundennummer;Name\nK-1;A\n", "Es fehlen Spalten: E-Mail"),
    "no_header": (b"K-1;A;a@x.de\n", "keine Kopfzeile"),
    "one_huge_line": (b"Kundennummer;Name;E-Mail;" + b"x" * (10 * 1024 * 1024), "länger als 10.000 Zeichen"),
    "binary": (bytes(range(256)) * 40, "keine Textdatei"),
    "xlsx": (b"PK\x03\x04\x14\x00\x00\x00" + b"\x00" * 100, "als CSV speichern"),
    "utf16": ("Kundennummer;Name;E-Mail\n".encode("utf-16"), "UTF-16"),
    "empty": (b"", "leer"),
    "broken_quote": (b'Kundennummer;Name;E-Mail\nK-1;"A;a@x.de\n', "fehlerhaft"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_files_are_one_german_line_exit_2_nothing_written(case, db_url, engine, desk, tmp_path, capsys):
    data, expected = BAD_FILES[case]
    path = tmp_path / "kunden.csv"
    path.write_bytes(data)
    before = counts(engine)
    code, out, err = imp(db_url, path, capsys)
    assert code == 2, err
    assert err.startswith("deskapp: Fehler: ") and err.count("\n") == 1, err
    assert expected in err
    assert "Traceback" not in err and out == ""
    assert counts(engine) == before


@pytest.mark.parametrize("content, expected", [
    (b"{\"number\": 1}", "muss eine Liste von Kunden sein"),
    (b"[{\"number\": \"K-1\",}]", "kein gültiges JSON"),
    (b"[1, 2]", "ist kein JSON-Objekt"),
])
def test_bad_json_files(content, expected, db_url, engine, desk, tmp_path, capsys):
    path = tmp_path / "kunden.json"
    path.write_bytes(content)
    before = counts(engine)
    code, _, err = imp(db_url, path, capsys)
    assert code == 2 and expected in err
    assert counts(engine) == before


def test_missing_file_is_refused(db_url, desk, tmp_path, capsys):
    code, _, err = imp(db_url, tmp_path / "gibt-es-nicht.csv", capsys)
    assert code == 2 and "gibt es nicht" in err


# --------------------------------------------------------------------------- export, round trip


def test_export_then_import_into_a_new_desk_is_lossless(db_url, engine, desk, tmp_path, capsys):
    path = csv_file(
        tmp_path,
        'K-1;"Semikolon; und ""Anführung""";a@x.de, B@X.de;+49 1;1.234,56;29.02.2024',
        "K-2;Ümlaut Straße GmbH;u@x.de;;;",
    )
    assert imp(db_url, path, capsys)[0] == 0
    for fmt in ("csv", "json"):
        out = tmp_path / f"export.{fmt}"
        code, _, _ = run(["customers", "export", str(out), "--db", db_url], capsys)
        assert code == 0
        first = out.read_bytes()
        # Into a fresh SQLite desk, and out again: byte for byte the same.
        other = make_engine(tmp_path / f"other-{fmt}.sqlite3")
        upgrade(other)
        with write_session(other) as s:
            from seed.people import create_roster

            sara = create_roster(s)["sara"]
        with write_session(other) as s:
            customer_import.import_customers(s, sara, data=first, fmt=fmt, now=NOW,
                                             policy=customer_import.Policy())
        with read_session(other) as s:
            assert customer_import.export_customers(s, fmt=fmt) == first
        other.dispose()
    code, out, _ = run(["customers", "export", "--db", db_url, "--format", "json"], capsys)
    exported = json.loads(out)
    assert exported[0]["name"] == 'Semikolon; und "Anführung"'
    assert exported[0]["emails"] == ["a@x.de", "B@X.de"] and exported[0]["credit_limit"] == "1234.56"
    assert exported[0]["customer_since"] == "2024-02-29"


# Text a billing system may hold: any printable character (also ; " , and umlauts), no
# control characters, no outer blanks (the import trims them).
_printable = st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"),
                           blacklist_characters="\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u0085\xa0")
_name = st.text(_printable, min_size=1, max_size=40).map(str.strip).filter(bool)
_local = st.text(string.ascii_letters + string.digits + "._+-", min_size=1, max_size=12)
_email = st.builds(lambda a, b: f"{a}@{b}.de", _local, st.text(string.ascii_lowercase, min_size=1, max_size=8))
_record = st.builds(
    lambda n, name, emails, phone, cents, day: cf.CustomerRecord(
        number=f"K-{n}", name=name, emails=tuple(emails), phone=phone,
        credit_limit=Decimal(cents) / 100, customer_since=day, id=uuid.uuid4(),
    ),
    st.integers(1, 10**6), _name,
    st.lists(_email, min_size=1, max_size=4, unique_by=str.lower),
    st.text(string.digits + " +/-", max_size=20).map(str.strip),
    st.integers(0, 999_999_999), st.dates(dt.date(1990, 1, 1), dt.date(2026, 3, 9)),
)
_records = st.lists(_record, max_size=8, unique_by=lambda r: r.number)


@settings(max_examples=150, deadline=None)
@given(records=_records, fmt=st.sampled_from(["csv", "json"]))
def test_property_the_file_format_reads_back_what_it_wrote(records, fmt):
    parsed = cf.parse(cf.format_file(records, fmt), fmt)
    assert parsed.problems == ()
    assert [dataclass_without_line(r) for r in parsed.records] == [dataclass_without_line(r) for r in records]


def dataclass_without_line(record: cf.CustomerRecord) -> cf.CustomerRecord:
    import dataclasses

    return dataclasses.replace(record, line=0)


@pytest.fixture(scope="module")
def template_db(tmp_path_factory):
    """One migrated SQLite desk with the roster, copied for every example (fast)."""
    path = tmp_path_factory.mktemp("tpl") / "template.sqlite3"
    eng = make_engine(path)
    upgrade(eng)
    from seed.people import create_roster

    with write_session(eng) as s:
        create_roster(s)
    with eng.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    eng.dispose()
    return path


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=_records, fmt=st.sampled_from(["csv", "json"]))
def test_property_import_then_export_gives_the_file_back(records, fmt, template_db, tmp_path):
    db = tmp_path / f"{uuid.uuid4().hex}.sqlite3"
    shutil.copy(template_db, db)
    eng = make_engine(db)
    try:
        data = cf.format_file(sorted(records, key=lambda r: r.number), fmt)
        with write_session(eng) as s:
            sara = agents.by_login(s, "sara")
            customer_import.import_customers(s, sara, data=data, fmt=fmt, now=NOW, policy=customer_import.Policy())
        with read_session(eng) as s:
            assert customer_import.export_customers(s, fmt=fmt) == data
        with write_session(eng) as s:  # and importing the export again changes nothing
            report = customer_import.import_customers(s, sara, data=data, fmt=fmt, now=NOW,
                                                      policy=customer_import.Policy())
        assert report.created == () and report.updated == () and len(report.unchanged) == len(records)
    finally:
        eng.dispose()
