"""The hour budget at the desk, by keyboard through Pilot (SQLite): book a package (``b``
on the card), log time (``t`` in the inbox, on the card, on a task), the tasks (``T``),
the workaround flag, the budget sparkline and the budget radar (``R``)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from textual.widgets import DataTable, Input, OptionList

from deskapp.services import budget
from deskapp.settings import Policy
from models.engine import read_session, write_session
from models.enums import TaskStatus
from models.tables import HourPackage, Task, Ticket, TimeEntry
from screens.dialogs.book_package import BookPackageDialog
from screens.dialogs.log_time import LogTimeDialog
from screens.dialogs.task import TaskDialog
from screens.budget_widgets import sparkline
from screens.card import CardScreen
from screens.inbox import InboxScreen
from screens.radar import RadarScreen
from screens.tasks import TasksScreen
from tests.support.deskdata import (
    CONNY_ID,
    MORING_ID,
    NOW,
    Desk,
    build_budget_desk,
)
from tests.support.schema import migrated_sqlite_engine
from tests.support.ui import cells, make_app, notes, open_card, settle
from tests.support.ui import shown_words as shown

SIZE = (120, 40)


@pytest.fixture
def desk(tmp_path):
    engine = migrated_sqlite_engine(tmp_path / "desk.sqlite3")
    data = build_budget_desk(engine)
    yield Desk(engine, data["people"])
    engine.dispose()


async def type_into(pilot, selector: str, text: str) -> None:
    field = pilot.app.screen.query_one(selector, Input)
    field.focus()
    field.value = ""
    await pilot.press(*text) if text else None
    await pilot.pause()


def time_logged(engine, customer_id=MORING_ID) -> int:
    with read_session(engine) as s:
        return int(s.execute(select(func.coalesce(func.sum(TimeEntry.minutes), 0))
                             .where(TimeEntry.customer_id == customer_id)).scalar_one())


# --------------------------------------------------------------------------- book a package


async def test_book_a_package_from_the_card(desk):
    engine, _ = desk
    async with make_app(desk.engine, desk.people["tom"]).run_test(size=SIZE) as pilot:
        card = await open_card(pilot)
        assert len(card.card.packages) == 2
        await pilot.press("b")
        await settle(pilot)
        dialog = pilot.app.screen
        assert isinstance(dialog, BookPackageDialog)
        assert dialog.query_one("#purchased", Input).value == "10.03.26"
        assert "Gültig bis: 10.03.28" in shown(dialog, "#validity")

        # wrong values: each message under its field, nothing booked
        await type_into(pilot, "#hours", "1:75")
        await type_into(pilot, "#price", "1900,00")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "00 bis 59" in shown(dialog, "#hours-error")
        await type_into(pilot, "#hours", "40")
        await type_into(pilot, "#purchased", "11.03.26")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "nicht in der Zukunft" in shown(dialog, "#purchased-error")
        assert not dialog.query_one("#hours-error").display
        with read_session(engine) as s:
            assert s.execute(select(func.count()).select_from(HourPackage)).scalar_one() == 4

        # the validity end follows the purchase day as it is typed
        await type_into(pilot, "#purchased", "08.03.26")
        assert "Gültig bis: 08.03.28" in shown(dialog, "#validity")
        await type_into(pilot, "#label", "Paket Relaunch")
        await pilot.press("ctrl+s")
        await settle(pilot)

        assert pilot.app.screen is card
        assert any("Paket Relaunch gebucht: 40:00 Std für 1.900,00 €, gültig bis 08.03.28" in n
                   for n in notes(pilot.app))
        history = cells(card.query_one("#card-packages", DataTable))
        assert history[0][:3] == ["Paket Relaunch", "08.03.26", "40:00"]
        assert history[0][6] == "08.03.28"
        assert "85:00 Std" in shown(card, "#card-budget")  # 45:00 + 40:00 valid


async def test_technicians_may_not_book_packages(desk):
    async with make_app(desk.engine, desk.people["kai"]).run_test(size=SIZE) as pilot:
        card = await open_card(pilot)
        await pilot.press("b")
        await settle(pilot)
        assert pilot.app.screen is card  # greyed out: nothing opens
        assert card.check_action("book_package", ()) is None


# --------------------------------------------------------------------------- log time


async def _inbox_on_ivo_ticket(pilot) -> tuple[InboxScreen, int, int]:
    await settle(pilot)
    inbox = pilot.app.screen
    assert isinstance(inbox, InboxScreen)
    with read_session(pilot.app.engine) as s:
        ticket_id, number = s.execute(
            select(Ticket.id, Ticket.number).where(Ticket.customer_id == MORING_ID, Ticket.queue == "support")
            .order_by(Ticket.id)
        ).first()
    inbox.show_ticket(ticket_id)
    await settle(pilot)
    assert inbox._current_row().id == ticket_id
    return inbox, ticket_id, number


async def test_log_time_in_the_inbox_refuses_more_than_is_left(desk):
    engine, _ = desk
    before = time_logged(engine)
    async with make_app(desk.engine, desk.people["tom"]).run_test(size=SIZE) as pilot:
        inbox, ticket_id, number = await _inbox_on_ivo_ticket(pilot)
        await pilot.press("t")
        await settle(pilot)
        dialog = pilot.app.screen
        assert isinstance(dialog, LogTimeDialog)
        assert f"#{number} (Ivo Moring)" in shown(dialog, ".title")
        assert "Gültiges Restbudget" in shown(dialog, "#figures") and "45:00 Std" in shown(dialog, "#figures")

        # while typing: what remains, and the refusal to come
        await type_into(pilot, "#minutes", "1:75")
        assert "00 bis 59" in shown(dialog, "#verdict")
        await type_into(pilot, "#minutes", "50:00")
        assert "-05:00 Std" in shown(dialog, "#figures")
        assert "verfügbar sind 45:00 Std" in shown(dialog, "#verdict")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert pilot.app.screen is dialog
        refusal = shown(dialog, "#minutes-error")
        assert "Nicht genug Budget" in refusal and "45:00 Std" in refusal
        assert time_logged(engine) == before

        await type_into(pilot, "#minutes", "37:00")
        assert "Achtung" in shown(dialog, "#verdict") and "08:00 Std" in shown(dialog, "#verdict")
        await type_into(pilot, "#note", "Migration")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert pilot.app.screen is inbox
        said = notes(pilot.app)
        assert any("37:00 Std für Ivo Moring erfasst" in n and "08:00 Std" in n for n in said)
        assert any(n.startswith("Achtung: gültiges Restbudget nur noch 08:00 Std") for n in said)
    assert time_logged(engine) == before + 37 * 60
    with read_session(engine) as s:
        ticket_ids = set(s.execute(select(TimeEntry.ticket_id).where(TimeEntry.note == "Migration")).scalars())
    assert ticket_ids == {ticket_id}


async def test_critical_warning_after_logging(desk):
    async with make_app(desk.engine, desk.people["tom"]).run_test(size=SIZE) as pilot:
        await _inbox_on_ivo_ticket(pilot)
        await pilot.press("t")
        await settle(pilot)
        await type_into(pilot, "#minutes", "2640")  # 44:00 of 45:00
        await pilot.press("ctrl+s")
        await settle(pilot)
        critical = [n for n in pilot.app.shown_notices if n.message.startswith("Kritisch")]
        assert critical and critical[0].severity == "error" and "01:00 Std" in critical[0].message


# --------------------------------------------------------------------------- tasks


async def _tasks_screen(pilot) -> TasksScreen:
    await open_card(pilot)
    await pilot.press("T")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, TasksScreen)
    return screen


async def _fill_task(pilot, title: str, estimate: str, deadline: str) -> TaskDialog:
    dialog = pilot.app.screen
    assert isinstance(dialog, TaskDialog)
    await type_into(pilot, "#title", title)
    await type_into(pilot, "#estimate", estimate)
    await type_into(pilot, "#deadline", deadline)
    return dialog


async def test_tasks_create_edit_close_delete(desk):
    engine, people = desk
    async with make_app(desk.engine, desk.people["tom"]).run_test(size=SIZE) as pilot:
        screen = await _tasks_screen(pilot)
        assert "Keine Aufgaben" in shown(screen, "#tasks-empty")

        # create, with the deadline 5 days before Ivo's budget expiry: the workaround
        await pilot.press("n")
        await settle(pilot)
        dialog = await _fill_task(pilot, "Relaunch Shop", "4:00", "25.03.26")
        assert "Deadline liegt auf dem Budgetablauf – braucht eine genehmigte Verlängerung (30.03.26)" in shown(
            dialog, "#workaround")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert pilot.app.screen is screen
        rows = cells(screen.query_one("#tasks", DataTable))
        assert rows[0][1:7] == ["Relaunch Shop", "04:00", "00:00", "25.03.26", "offen",
                                "⚑ Budgetverfall 30.03.26"]
        assert "wirkt wie eine Budgetverlängerung, erst Genehmigung einholen" in shown(screen, "#tasks-note")
        assert "Blockiert 04:00 Std" in shown(screen, "#tasks-summary")

        # edit: the block follows the estimate, the flag goes with the deadline
        await pilot.press("enter")
        await settle(pilot)
        dialog = pilot.app.screen
        assert isinstance(dialog, TaskDialog) and dialog.query_one("#estimate", Input).value == "04:00"
        await type_into(pilot, "#estimate", "2:30")
        await type_into(pilot, "#deadline", "30.04.26")
        assert not dialog.query_one("#workaround").display
        await pilot.press("ctrl+s")
        await settle(pilot)
        rows = cells(screen.query_one("#tasks", DataTable))
        assert rows[0][1:7] == ["Relaunch Shop", "02:30", "00:00", "30.04.26", "offen", ""]
        assert not screen.query_one("#tasks-note").display
        assert "Blockiert 02:30 Std" in shown(screen, "#tasks-summary")

        # someone else edits meanwhile: the stale edit is refused, nothing overwritten
        [task] = screen.tasks
        with write_session(engine) as s:
            budget.update_task(s, people["lena"], task_id=task.id, version=task.version, title="Relaunch (Lena)",
                               estimate_minutes=150, deadline=task.deadline, now=NOW, policy=Policy())
        await pilot.press("enter")
        await settle(pilot)
        await type_into(pilot, "#title", "Relaunch (Tom)")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "wurde inzwischen geändert" in shown(pilot.app.screen, "#form-error")
        await pilot.press("escape")
        await settle(pilot)
        assert screen.tasks[0].title == "Relaunch (Lena)"  # reloaded as it is now

        # close
        await pilot.press("C")
        await settle(pilot)
        assert cells(screen.query_one("#tasks", DataTable))[0][6 - 1] == "erledigt"
        assert "Blockiert 00:00 Std" in shown(screen, "#tasks-summary")

        # a second task, deleted after confirming
        await pilot.press("n")
        await settle(pilot)
        await _fill_task(pilot, "Newsletter", "1:00", "30.03.26")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert [r[1] for r in cells(screen.query_one("#tasks", DataTable))] == ["Newsletter", "Relaunch (Lena)"]
        assert "Blockiert 01:00 Std" in shown(screen, "#tasks-summary")
        await pilot.press("d")
        await settle(pilot)
        confirm = pilot.app.screen.query_one(OptionList)
        confirm.highlighted = 0
        await pilot.press("enter")
        await settle(pilot)
        assert [r[1] for r in cells(screen.query_one("#tasks", DataTable))] == ["Relaunch (Lena)"]
        assert "Blockiert 00:00 Std" in shown(screen, "#tasks-summary")

        # back on the card: the open tasks are gone, the card was read again
        await pilot.press("escape")
        await settle(pilot)
        card = pilot.app.screen
        assert isinstance(card, CardScreen)
        assert card.card.tasks == ()
    with read_session(engine) as s:
        statuses = dict(s.execute(select(Task.title, Task.status)).all())
    assert statuses == {"Relaunch (Lena)": TaskStatus.DONE, "Newsletter": TaskStatus.DELETED}


async def test_workaround_flag_appears_on_the_card(desk):
    async with make_app(desk.engine, desk.people["tom"]).run_test(size=SIZE) as pilot:
        await _tasks_screen(pilot)
        await pilot.press("n")
        await settle(pilot)
        await _fill_task(pilot, "Relaunch Shop", "3:00", "30.03.26")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert any("braucht eine genehmigte Verlängerung" in n for n in notes(pilot.app))
        await pilot.press("escape")
        await settle(pilot)
        card = pilot.app.screen
        assert "Deadline auf Budgetverfall" in shown(card, "#card-alerts")
        [row] = cells(card.query_one("#card-tasks", DataTable))
        assert "Deadline auf Budgetverfall (30.03.26)" in row[4]


async def test_log_time_on_a_task_uses_its_block(desk):
    engine, _ = desk
    async with make_app(desk.engine, desk.people["tom"]).run_test(size=SIZE) as pilot:
        screen = await _tasks_screen(pilot)
        await pilot.press("n")
        await settle(pilot)
        await _fill_task(pilot, "Umzug", "5:00", "30.04.26")
        await pilot.press("ctrl+s")
        await settle(pilot)
        await pilot.press("t")
        await settle(pilot)
        dialog = pilot.app.screen
        assert isinstance(dialog, LogTimeDialog)
        figures = shown(dialog, "#figures")
        assert "40:00 Std" in figures and "45:00 Std" in figures  # valid, and with the task's own block
        await type_into(pilot, "#minutes", "1:30")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert pilot.app.screen is screen
        assert cells(screen.query_one("#tasks", DataTable))[0][3] == "01:30"  # logged on the task
        assert "Blockiert 03:30 Std" in shown(screen, "#tasks-summary")
        task_id = screen.tasks[0].id
    with read_session(engine) as s:
        logged = s.execute(select(TimeEntry.task_id, TimeEntry.minutes).where(TimeEntry.task_id.is_not(None))).all()
    assert [tuple(r) for r in logged] == [(task_id, 90)]


# --------------------------------------------------------------------------- the card's budget


async def test_card_shows_the_budget_over_time(desk):
    async with make_app(desk.engine, desk.people["tom"]).run_test(size=SIZE) as pilot:
        card = await open_card(pilot)
        box = shown(card, "#card-budget")
        assert "Verlauf 12 Mon." in box
        trend = [p.minutes for p in card.card.budget_trend]
        assert len(trend) == 13 and trend[-1] == 2700
        assert trend[0] == 600  # 10.03.25: only the 10:00 package, nothing logged yet
        # one bar a month: low until the 40:00 package of June, then near the top (49:00)
        bars = sparkline(trend)
        assert bars in box and bars.startswith("▃▃▃█") and max(trend) == 49 * 60
        # next expiry with the days left
        assert "30.03.26" in box and "noch 20 Tage" in box


# --------------------------------------------------------------------------- radar


async def test_radar_lists_by_expiry_and_opens_a_card(desk):
    async with make_app(desk.engine, desk.people["tom"]).run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("R")
        await settle(pilot)
        radar = pilot.app.screen
        assert isinstance(radar, RadarScreen)
        table = radar.query_one("#radar", DataTable)
        rows = cells(table)
        assert [r[2] for r in rows] == ["Ivo Moring"]
        assert rows[0][:2] == ["30.03.26", "20 Tage"] and rows[0][4] == "05:00"
        # "Danach": what else is lost later in the horizon, not the next expiry again.
        assert rows[0][5] == "–"
        assert "1 Kunden" in shown(radar, "#radar-title")

        await pilot.press("2")
        await settle(pilot)
        assert [r[2] for r in cells(table)] == ["Ivo Moring", "Conny Schuster"]
        await pilot.press("3")
        await settle(pilot)
        assert [r[2] for r in cells(table)] == ["Ivo Moring", "Conny Schuster", "Bäckerei Frisch GmbH"]
        assert "180 Tage" in shown(radar, "#radar-tabs")

        await pilot.press("down", "enter")
        await settle(pilot)
        card = pilot.app.screen
        assert isinstance(card, CardScreen) and card.customer_id == CONNY_ID
        await pilot.press("escape")
        await settle(pilot)
        assert pilot.app.screen is radar
        assert radar.horizon == 180 and len(cells(table)) == 3
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(pilot.app.screen, InboxScreen)


async def test_radar_pages_on_as_the_cursor_reaches_the_end(desk):
    async with make_app(desk.engine, desk.people["tom"], inbox_page_size=2).run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("R", "3")
        await settle(pilot)
        table = pilot.app.screen.query_one("#radar", DataTable)
        assert [r[2] for r in cells(table)] == ["Ivo Moring", "Conny Schuster"]
        assert "3 Kunden" in shown(pilot.app.screen, "#radar-title")
        await pilot.press("down")
        await settle(pilot)
        assert [r[2] for r in cells(table)] == ["Ivo Moring", "Conny Schuster", "Bäckerei Frisch GmbH"]
        await pilot.press("down", "down")
        await settle(pilot)
        assert table.row_count == 3 and table.cursor_row == 2


async def test_radar_is_in_the_palette(desk):
    async with make_app(desk.engine, desk.people["tom"]).run_test(size=SIZE) as pilot:
        await settle(pilot)
        commands = [c.title for c in pilot.app.get_system_commands(pilot.app.screen)]
        assert "Budget-Radar" in commands and "Zeit erfassen" in commands


def test_sparkline_scales_from_zero_to_the_highest_point():
    assert sparkline([0, 50, 100]) == "▁▅█"
    assert sparkline([0, 0, 0]) == "▁▁▁"
    assert sparkline([]) == ""
    assert sparkline([-30, 10]) == "▁█"  # an overdrawn month is the lowest bar
