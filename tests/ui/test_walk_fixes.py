"""What a walk through the hour-budget and extension screens in a real terminal found, by
keyboard through Pilot: the card's footer at 120 columns, narrow terminals (100 columns),
labels that were cut, a message said twice, a focus that went to the wrong field, and the
command line's German refusals. UI tests on SQLite (the budget desk) and, where they use
the ``engine`` fixture, on PostgreSQL too; the CLI tests on both.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select
from textual.widgets import DataTable, Input, Select, Static
from textual.widgets._footer import FooterKey

from screens.cli import main
from deskapp.services import budget
from deskapp.settings import Policy
from models.engine import read_session, write_session
from models.tables import TimeEntry
from screens.absences import AbsencesScreen
from screens.card import CardScreen
from screens.dialogs.absence import AbsenceDialog
from screens.dialogs.log_time import LogTimeDialog
from screens.dialogs.task import TaskDialog
from screens.outbox import OutboxScreen, column_widths
from screens.radar import RadarScreen
from screens.tasks import TasksScreen
from tests.support.deskdata import (
    CONNY_ID,
    MORING_ID,
    NOW,
    TODAY,
    Desk,
    add_budgets,
    build_budget_desk,
    build_small_desk,
)
from tests.support.schema import migrated_sqlite_engine
from tests.support.ui import (
    cells,
    chosen,
    make_app,
    notes,
    open_card,
    open_form,
    settle,
)
from tests.support.ui import (
    shown_words as shown,
)


@pytest.fixture
def desk(tmp_path):
    """The budget desk (SQLite)."""
    engine = migrated_sqlite_engine(tmp_path / "desk.sqlite3")
    yield Desk(engine, build_budget_desk(engine)["people"])
    engine.dispose()

NARROW = (100, 30)
WIDE = (120, 40)


def footer(app) -> tuple[dict[str, FooterKey], FooterKey]:
    keys = {k.action: k for k in app.screen.query(FooterKey) if "-command-palette" not in k.classes}
    (palette,) = [k for k in app.screen.query(FooterKey) if "-command-palette" in k.classes]
    return keys, palette


def fits(table: DataTable, width: int) -> bool:
    """The table's columns (with their cell padding) fit into ``width`` columns."""
    return sum(c.get_render_width(table) for c in table.columns.values()) <= width


# --------------------------------------------------------------------------- the card


@pytest.mark.parametrize("login", ["tom", "sara"])
async def test_every_shown_card_key_fits_the_footer_at_120_columns(desk, login):
    async with make_app(desk.engine, desk.people[login]).run_test(size=WIDE) as pilot:
        await open_card(pilot)
        keys, palette = footer(pilot.app)
        wanted = ["back", "book_package", "log_time", "tasks", "extension", "order", "credit_limit", "settle"]
        assert list(keys)[: len(wanted)] == wanted  # the hour-budget keys first
        for action in wanted:
            assert keys[action].region.right <= palette.region.x, f"{action} is cut off by the palette key"
        assert keys["extension"].description == "Verlängern"
        assert keys["extension"].tooltip == "Budgetverlängerung beantragen"
        # The hidden ones stay reachable: `?` lists them, the palette offers them.
        assert {"refresh", "settle_until", "copy_id"}.isdisjoint(keys)


async def test_the_budget_box_stays_readable_at_100_columns(desk):
    async with make_app(desk.engine, desk.people["tom"]).run_test(size=NARROW) as pilot:
        card = await open_card(pilot)
        budget_box = shown(card, "#card-budget")
        for text in ("Gültig (Rest)", "45:00 Std", "Verfallen (Rest)", "Nächster Verfall", "30.03.26"):
            assert text in budget_box, budget_box
        master = shown(card, "#card-master")
        assert "Kunde seit" in master and "Telefon" in master  # labels whole; values give way with …
        # The budget keys still fit the footer.
        keys, palette = footer(pilot.app)
        for action in ("book_package", "log_time", "tasks", "extension"):
            assert keys[action].region.right <= palette.region.x


async def test_package_labels_are_shown_whole(desk):
    async with make_app(desk.engine, desk.people["tom"]).run_test(size=WIDE) as pilot:
        card = await open_card(pilot)
        table = card.query_one("#card-packages", DataTable)
        labels = [row[0] for row in cells(table)]
        assert labels == ["Stundenpaket 40:00 Std", "Stundenpaket 10:00 Std"]  # not "Stundenpaket 4"
        assert [row[7] for row in cells(table)] == ["gültig", "noch 20 Tage"]
        assert fits(table, card.query_one("#card-packages-section").content_region.width)


async def test_t_on_the_cards_ticket_list_logs_on_that_ticket(desk):
    engine, people = desk
    async with make_app(desk.engine, desk.people["tom"]).run_test(size=WIDE) as pilot:
        card = await open_card(pilot)
        tickets_table = card.query_one("#card-tickets", DataTable)
        assert tickets_table.has_focus
        await pilot.press("j")
        ticket = card.card.open_tickets[1]
        await pilot.press("t")
        await settle(pilot)
        dialog = pilot.app.screen
        assert isinstance(dialog, LogTimeDialog)
        assert (dialog.ticket_id, dialog.ticket_number) == (ticket.id, ticket.number)
        assert f"Zeit erfassen: #{ticket.number} (Ivo Moring)" in shown(dialog, ".title")
        await pilot.press(*"0:30", "ctrl+s")
        await settle(pilot)
        assert pilot.app.screen is card
    with read_session(engine) as s:
        entry = s.execute(select(TimeEntry).order_by(TimeEntry.id.desc())).scalars().first()
        assert (entry.ticket_id, entry.minutes) == (ticket.id, 30)


# --------------------------------------------------------------------------- the dialogs


async def test_a_fields_message_goes_once_the_field_is_edited(desk):
    async with make_app(desk.engine, desk.people["tom"]).run_test(size=WIDE) as pilot:
        await open_card(pilot)
        await pilot.press("T")
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        dialog = pilot.app.screen
        assert isinstance(dialog, TaskDialog)
        await pilot.press(*"Relaunch", "tab", *"1:75", "ctrl+s")
        await pilot.pause()
        error = dialog.query_one("#estimate-error", Static)
        assert error.display and "nicht 75" in shown(dialog, "#estimate-error")
        await pilot.press("backspace", "backspace", *"45")
        await pilot.pause()
        assert not error.display  # the stale message does not stand under the corrected value
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(pilot.app.screen, TasksScreen)


async def test_more_time_than_is_left_is_said_once(desk):
    async with make_app(desk.engine, desk.people["tom"]).run_test(size=WIDE) as pilot:
        await open_card(pilot)
        pilot.app.screen.query_one("#card-packages", DataTable).focus()  # time on the customer
        await pilot.press("t")
        await settle(pilot)
        dialog = pilot.app.screen
        assert isinstance(dialog, LogTimeDialog)
        await pilot.press(*"100:00")
        await pilot.pause()
        assert "Nicht genug Budget" in shown(dialog, "#verdict")  # live, while typing
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert pilot.app.screen is dialog
        assert "Nicht genug Budget: verfügbar sind 45:00 Std" in shown(dialog, "#minutes-error")
        assert shown(dialog, "#verdict") == ""  # not a second time below the figures
        await pilot.press("backspace")
        await pilot.pause()
        assert not dialog.query_one("#minutes-error").display


async def test_a_long_dialog_title_wraps_instead_of_being_cut(desk):
    engine, people = desk
    with write_session(engine) as s:
        task = budget.create_task(s, people["tom"], customer_id=MORING_ID, title="Relaunch der Startseite mit Shop",
                                  estimate_minutes=60, deadline=None, now=NOW, policy=Policy())
    async with make_app(desk.engine, desk.people["tom"]).run_test(size=WIDE) as pilot:
        await open_card(pilot)
        await pilot.press("T")
        await settle(pilot)
        assert pilot.app.screen.tasks[0].id == task.id
        await pilot.press("t")
        await settle(pilot)
        dialog = pilot.app.screen
        title = dialog.query_one(".title")
        assert title.region.right <= dialog.query_one(".dialog").content_region.right  # not clipped at the frame
        assert " ".join(shown(dialog, ".title").split()) == (
            f"Zeit erfassen: Aufgabe {task.id} „Relaunch der Startseite mit Shop“ (Ivo Moring)"
        )


# --------------------------------------------------------------------------- lists at 100 columns


async def test_tasks_list_fits_and_says_enter_edits(desk):
    engine, people = desk
    with write_session(engine) as s:
        budget.create_task(s, people["tom"], customer_id=MORING_ID, title="Relaunch Shop", estimate_minutes=240,
                           deadline=dt.date(2026, 3, 25), now=NOW, policy=Policy())
    async with make_app(desk.engine, desk.people["tom"]).run_test(size=NARROW) as pilot:
        await open_card(pilot)
        await pilot.press("T")
        await settle(pilot)
        screen = pilot.app.screen
        table = screen.query_one("#tasks", DataTable)
        assert cells(table)[0][-1] == "⚑ Budgetverfall 30.03.26"
        assert fits(table, NARROW[0])
        summary = " ".join(shown(screen, "#tasks-summary").split())
        assert "Gültig 41:00 Std" in summary and "Nächster Verfall 30.03.26 (noch 20 Tage)" in summary
        keys, _ = footer(pilot.app)
        assert keys["select_cursor"].description == "Bearbeiten"
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(pilot.app.screen, TaskDialog)


async def test_radar_fits_100_columns_and_says_enter_opens_the_card(desk):
    async with make_app(desk.engine, desk.people["tom"]).run_test(size=NARROW) as pilot:
        await settle(pilot)
        await pilot.press("R")
        await settle(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, RadarScreen)
        table = screen.query_one("#radar", DataTable)
        assert [str(c.label) for c in table.columns.values()] == [
            "Verfall am", "Noch", "Kunde", "Nr.", "Verfällt", "Danach", "Gültig", "Blockiert", "Verfallen",
        ]
        assert fits(table, NARROW[0])
        keys, _ = footer(pilot.app)
        assert keys["select_cursor"].description == "Kundenkarte"
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(pilot.app.screen, CardScreen)


@pytest.mark.parametrize("width", [100, 120, 140])
def test_outbox_columns_fit_the_terminal(width):
    widths = column_widths(width)
    assert sum(widths) + 2 * len(widths) + 2 <= width
    status, created, to, subject, attempts, error = widths
    assert subject >= 20 and error >= len("Letzter Fehler") and created == len("23.11.26 03:34")


async def test_outbox_title_leaves_out_what_is_not_happening(desk):
    async with make_app(desk.engine, desk.people["tom"]).run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("O")
        await settle(pilot)
        assert isinstance(pilot.app.screen, OutboxScreen)
        title = str(pilot.app.screen.query_one("#outbox-title", Static).render())
        assert "wird gesendet" not in title and "in der Warteschlange" in title


# --------------------------------------------------------------------------- absences and the form (SQLite + PG)


async def test_absence_dialog_labels_and_a_one_day_absence(engine):
    people = build_small_desk(engine, NOW)["people"]
    app = make_app(engine, people["isabel"])
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+o")
        await settle(pilot)
        assert isinstance(app.screen, AbsencesScreen)
        await pilot.press("n")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, AbsenceDialog)
        labels = [str(label.render()) for label in dialog.query(".row Label")]
        assert labels[:3] == ["Wer", "Erster Tag", "Letzter Tag"]
        dialog.query_one("#login", Select).value = "isabel"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert any(m == "Abwesenheit eingetragen: Isabel am 10.03.26 (Urlaub)." for m in notes(app)), \
            notes(app)


async def test_after_ctrl_s_the_focus_is_on_the_field_that_needs_typing(engine):
    data = build_small_desk(engine, NOW)
    add_budgets(engine, data["people"])
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=NARROW) as pilot:
        await open_card(pilot, CONNY_ID)
        form = await open_form(pilot)
        dialog = form.query_one(".dialog")
        assert dialog.region.right <= NARROW[0]  # the form fits a 100-column terminal
        form.query_one("#rebooking", Select).value = "new"
        await pilot.pause()
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen.focused is form.query_one("#hours", Input)  # not the select above it
        await pilot.press(*"20", "tab", *"1900")
        await pilot.pause()
        assert form.query_one("#hours", Input).value == "20" and form.query_one("#price", Input).value == "1900"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, CardScreen)


# --------------------------------------------------------------------------- the command line (SQLite + PG)


@pytest.fixture
def cli_clock(monkeypatch):
    monkeypatch.setattr("screens.cli._now", lambda: NOW)
    monkeypatch.setattr("screens.cli._os_login", lambda: "nobody")
    monkeypatch.delenv("DESK_AGENT", raising=False)


@pytest.mark.parametrize("argv", [
    ["reminders", "run"], ["mail", "send"],
    ["extension", "request", "--customer", "K-10001", "--months", "1"],
    ["extension", "decide", "--request", "1", "approve"],
])
def test_a_missing_database_file_is_refused_not_created(tmp_path, capsys, argv, cli_clock, monkeypatch):
    monkeypatch.setenv("DESK_SETTINGS_FILE", str(tmp_path / "keine-einstellungen.toml"))
    for name in ("DESK_SMTP_HOST", "DESK_SMTP_PORT", "DESK_MAIL_FROM"):
        monkeypatch.delenv(name, raising=False)
    missing = tmp_path / "vertippt" / "desk.sqlite3"
    code = main([*argv[:2], "--db", str(missing), *argv[2:]])
    out, err = capsys.readouterr()
    assert code == 3 and out == ""
    assert err == f"deskapp: Fehler: Die Datenbank {missing} gibt es nicht. Einrichten mit: deskapp init --db " \
                  f"{missing} – oder ist der Pfad vertippt? Nichts wurde angelegt.\n"
    assert not missing.parent.exists()


async def test_a_recent_package_reads_date_first_on_one_line(engine):
    data = build_small_desk(engine, NOW)
    add_budgets(engine, data["people"])
    with write_session(engine) as s:
        new = budget.book_package(s, data["people"]["tom"], customer_id=CONNY_ID, minutes=1200,
                                  price=Decimal("1900.00"), purchased_on=TODAY, now=NOW, policy=Policy(),
                                  label="Nachbuchung nach Telefonat mit der Buchhaltung")
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=WIDE) as pilot:
        await open_card(pilot, CONNY_ID)
        form = await open_form(pilot)
        form.query_one("#rebooking", Select).value = new.id
        await pilot.pause()
        assert chosen(form, "#rebooking").startswith("gekauft 10.03.26 · 20:00 Std · Nachbuchung")
        label = form.query_one("#rebooking #label")
        assert label.outer_size.height == 1  # cut with …, the select does not grow a second line
