"""The outbox screen and "Erinnerungen jetzt senden" from the palette (Pilot, SQLite).

The inbox is replaced by a bare screen so these tests do not move with it.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select, update
from textual.widgets import DataTable, Static

from deskapp.rules.budget import add_months
from deskapp.services import budget, customers, journal
from deskapp.settings import Policy
from models.engine import write_session
from models.tables import OutgoingMail
from screens.outbox import MailScreen, OutboxScreen
from tests.support.deskdata import NOW, Desk
from tests.support.schema import migrated_sqlite_engine
from tests.support.ui import StubInbox, make_app, replace_inbox, settle

SIZE = (140, 40)
POLICY = Policy()


@pytest.fixture(autouse=True)
def stub_inbox_and_no_smtp(monkeypatch, tmp_path):
    replace_inbox(monkeypatch)
    monkeypatch.delenv("DESK_SMTP_HOST", raising=False)
    monkeypatch.setenv("DESK_SETTINGS_FILE", str(tmp_path / "none.toml"))


@pytest.fixture
def ui_engine(tmp_path):
    engine = migrated_sqlite_engine(tmp_path / "desk.sqlite3")
    from seed.people import create_roster

    with write_session(engine) as s:
        people = create_roster(s)
        ivo = customers.create_customer(
            s, people["sara"], name="Ivo Moring", email="ivo@moring.example", credit_limit=Decimal("500.00"),
            now=NOW,
        )
        until = dt.date(2026, 3, 26)
        budget.book_package(
            s, people["sara"], customer_id=ivo.id, minutes=1425, price=Decimal("1900.00"),
            purchased_on=add_months(until, -24), now=NOW, policy=POLICY, label="Stundenpaket 20",
        )
        krume = customers.create_customer(
            s, people["sara"], name="Bäckerei Krume GmbH", email="info@krume.example",
            credit_limit=Decimal("500.00"), now=NOW,
        )
        for i in range(4):
            logged = journal.log_message(
                s, customer_id=krume.id, kind="maintenance", subject=f"Wartung {i + 1}",
                body=f"Guten Tag,\n\nWartungsfenster {i + 1}.", now=NOW - dt.timedelta(days=10 - i),
                actor=people["system"],
            )
            if i == 0:
                s.execute(update(OutgoingMail).where(OutgoingMail.id == logged.mail_id)
                          .values(status="sent", attempts=1, sent_at=NOW - dt.timedelta(days=9)))
            if i == 1:
                s.execute(update(OutgoingMail).where(OutgoingMail.id == logged.mail_id)
                          .values(attempts=2, last_error="Der SMTP-Server hat die Mail abgelehnt: 550 Postfach voll"))
    yield Desk(engine, people)
    engine.dispose()


def table_rows(screen) -> list[list[str]]:
    table = screen.query_one(DataTable)
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


async def test_reminders_from_the_palette_land_in_the_outbox(ui_engine):
    app = make_app(ui_engine.engine, ui_engine.people["tom"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("O")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, OutboxScreen)
        rows = table_rows(screen)
        assert [r[3] for r in rows] == ["Wartung 4", "Wartung 3", "Wartung 2", "Wartung 1"]
        assert [r[0] for r in rows] == ["Warteschlange", "Warteschlange", "Warteschlange", "gesendet"]
        assert rows[2][4] == "2" and "550 Postfach voll" in rows[2][5]
        title = str(screen.query_one("#outbox-title", Static).render())
        assert "3 in der Warteschlange" in title and "1 gesendet" in title
        assert "Endstation" in str(screen.query_one("#outbox-smtp", Static).render())
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, StubInbox)

        # The palette: "Erinnerungen jetzt senden" runs the job and says what it sent.
        await pilot.press("ctrl+p")
        await settle(pilot)
        await pilot.press(*"Erinnerungen jetzt")
        await pilot.pause(0.3)
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        notes = [n.message for n in app.shown_notices]
        assert any(m.startswith("1 Erinnerung erstellt (6 Monate: 0, 3 Monate: 0, 1 Monat: 1)") for m in notes), notes

        await pilot.press("O")
        await settle(pilot)
        rows = table_rows(app.screen)
        assert rows[0][2] == "ivo@moring.example"
        assert rows[0][3] == "Erinnerung: Ihr Stundenbudget läuft am 26.03.26 ab"
        # enter shows the mail as the customer gets it.
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, MailScreen)
        body = str(app.screen.query_one("#mail-body", Static).render())
        assert "Guten Tag Ivo Moring" in body and "23:45 Std" in body and "26.03.26" in body
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, OutboxScreen)


async def test_the_outbox_pages_and_filters(ui_engine):
    app = make_app(ui_engine.engine, ui_engine.people["tom"], inbox_page_size=2)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.action_outbox()
        await settle(pilot)
        screen = app.screen
        assert [r[3] for r in table_rows(screen)] == ["Wartung 4", "Wartung 3"]
        # Down past the last row fetches the next page.
        await pilot.press("down", "down")
        await settle(pilot)
        assert [r[3] for r in table_rows(screen)] == ["Wartung 4", "Wartung 3", "Wartung 2", "Wartung 1"]
        # f: only the queue, the unclear ones, the failed ones, then only what was sent.
        await pilot.press("f")
        await settle(pilot)
        assert [r[0] for r in table_rows(screen)] == ["Warteschlange", "Warteschlange"]
        for label in ("unklar", "fehlgeschlagen"):
            await pilot.press("f")
            await settle(pilot)
            assert table_rows(screen) == []
            assert str(screen.query_one("#outbox-empty", Static).render()) == f"Keine Mails mit Status „{label}“."
        await pilot.press("f")
        await settle(pilot)
        assert [r[3] for r in table_rows(screen)] == ["Wartung 1"]
        assert "Filter: gesendet" in str(screen.query_one("#outbox-title", Static).render())


async def test_every_delivery_state_reads_in_german_with_the_servers_answer(ui_engine):
    # docs/rules.md#mail-delivery: failed, uncertain, and a sent mail that may have arrived twice.
    with write_session(ui_engine.engine) as s:
        ids = list(s.execute(select(OutgoingMail.id).order_by(OutgoingMail.id)).scalars())
        changes = {
            ids[1]: dict(status="failed", smtp_reply="550 5.1.1 Postfach unbekannt",
                         last_error="Empfänger info@krume.example abgelehnt: 550 5.1.1 Postfach unbekannt"),
            ids[2]: dict(status="uncertain", uncertain_count=1, sent_at=NOW,
                         last_error="Keine Antwort des SMTP-Servers nach der Übertragung"),
            ids[3]: dict(status="sent", uncertain_count=1, attempts=2, sent_at=NOW,
                         smtp_reply="250 Message accepted for delivery"),
        }
        for mail_id, values in changes.items():
            s.execute(update(OutgoingMail).where(OutgoingMail.id == mail_id).values(**values))
    app = make_app(ui_engine.engine, ui_engine.people["tom"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("O")
        await settle(pilot)
        screen = app.screen
        assert [r[0] for r in table_rows(screen)] == ["gesendet (2×?)", "unklar", "fehlgeschlagen", "gesendet"]
        title = str(screen.query_one("#outbox-title", Static).render())
        assert "1 unklar" in title and "1 fehlgeschlagen" in title
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, MailScreen)
        head = str(app.screen.query_one("#mail-head", Static).render())
        assert "vielleicht doppelt angekommen" in head
        assert "Antwort des Servers: 250 Message accepted for delivery" in head
        assert "Message-ID: <desk." in head
