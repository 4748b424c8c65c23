"""Pilot helpers: the desk app for a test, waiting for its workers, reading the screen."""

from __future__ import annotations

import dataclasses
import sys
import types

from textual import events
from textual.geometry import Region
from textual.screen import Screen
from textual.widgets import DataTable, Static
from textual.worker import WorkerCancelled

from screens.app import DeskApp
from deskapp.settings import Policy
from screens.card import CardScreen
from screens.dialogs.extension import ExtensionForm
from tests.support.deskdata import MORING_ID, NOW

KEY_NAMES = {" ": "space", "\t": "tab", ":": "colon", ",": "comma", ".": "full_stop", "/": "slash", "#": "number_sign"}
TEST_PAGE_SIZE = 20  # small pages, so paging shows with the small desk


def make_app(engine, agent, *, poll: bool = False, policy: Policy | None = None, **settings) -> DeskApp:
    """The desk as ``agent`` sees it: the clock stands at NOW, the inbox does not poll unless
    asked, pages hold 20 rows; ``settings`` override single Policy fields."""
    policy = dataclasses.replace(policy or Policy(), **{"inbox_page_size": TEST_PAGE_SIZE, **settings})
    return record_notices(DeskApp(engine=engine, agent=agent, policy=policy, clock=lambda: NOW, poll=poll))


@dataclasses.dataclass(frozen=True)
class Notice:
    message: str
    severity: str


def record_notices(app):
    """Keep every notice the app shows in ``app.shown_notices``: a toast expires after a few
    seconds, and on a loaded machine a test may look later than that."""
    app.shown_notices = []
    show = app.notify

    def notify(message, *args, **kwargs):
        app.shown_notices.append(Notice(str(message), kwargs.get("severity", "information")))
        return show(message, *args, **kwargs)

    app.notify = notify
    return app


async def settle(pilot, quiet_rounds: int = 3, max_rounds: int = 40) -> None:
    """Let the app answer: drain every worker, also those that workers' messages start.

    A round is one ``pilot.pause()`` (Textual's wait until the process is idle, which
    also delivers the messages that finished workers posted). The app has settled when
    ``quiet_rounds`` rounds in a row found no worker alive; a round that finds workers
    waits for them and starts the count again. ``wait_for_complete`` only waits for the
    workers alive at the call, and raises ``WorkerCancelled`` when one of them was
    cancelled (an exclusive worker replaced by a newer one) — an ordinary outcome here.
    """
    app = pilot.app
    quiet = 0
    for _ in range(max_rounds):
        await pilot.pause()
        if not app.workers:
            quiet += 1
            if quiet >= quiet_rounds:
                return
            continue
        quiet = 0
        while app.workers:
            try:
                await app.workers.wait_for_complete()
            except WorkerCancelled:
                pass


def shown(screen, selector: str) -> str:
    """What a widget shows on screen, border and all, one line per line; "" when hidden."""
    widget = screen.query_one(selector, Static)
    if not widget.display or not widget.outer_size.height:
        return ""
    lines = widget.render_lines(Region(0, 0, widget.outer_size.width, widget.outer_size.height))
    return "\n".join(line.text.rstrip() for line in lines).strip()


def shown_words(screen, selector: str) -> str:
    """What a widget shows, wrapped lines joined: one space between words."""
    widget = screen.query_one(selector, Static)
    lines = widget.render_lines(Region(0, 0, widget.outer_size.width, widget.outer_size.height))
    return " ".join(" ".join(line.text for line in lines).split())


def cells(table: DataTable) -> list[list[str]]:
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


def notes(app) -> list[str]:
    """The notifications the app has shown, oldest first (also those that expired)."""
    return [n.message for n in app.shown_notices]


async def open_card(pilot, customer_id=MORING_ID) -> CardScreen:
    """Open a customer's card from wherever the app stands, and wait until it shows."""
    await settle(pilot)
    pilot.app.open_customer(customer_id)
    await settle(pilot)
    card = pilot.app.screen
    assert isinstance(card, CardScreen), card
    return card


async def open_form(pilot) -> ExtensionForm:
    """The extension form, opened with ``e`` from the card."""
    await pilot.press("e")
    await settle(pilot)
    form = pilot.app.screen
    assert isinstance(form, ExtensionForm), form
    return form


def chosen(screen, selector: str) -> str:
    """The label a Select shows."""
    return str(screen.query_one(f"{selector} #label", Static).render())


class StubInbox(Screen):
    """Stands in for the inbox below the screen under test: no tickets behind it."""


def replace_inbox(monkeypatch) -> None:
    """The app opens StubInbox where it would open the inbox."""
    module = types.ModuleType("screens.inbox")
    module.InboxScreen = StubInbox
    monkeypatch.setitem(sys.modules, "screens.inbox", module)


async def open_ticket(pilot, queue_key: str, number: int):
    """The inbox on the queue of ``queue_key``, the ticket searched by its number."""
    from screens.inbox import InboxScreen

    await settle(pilot)
    await pilot.press(queue_key)
    await settle(pilot)
    await pilot.press("slash", *f"#{number}", "enter")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, InboxScreen)
    assert screen._current_row().number == number
    return screen


def detail(screen) -> str:
    """The inbox's detail pane as text."""
    return screen.query_one("#detail").text  # its whole text (Tab into the pane scrolls it)


def burst(app, *keys: str) -> None:
    """Post the keys at once, as a terminal delivers them when the agent types fast."""
    for key in keys:
        if key in ("tab", "enter", "down", "up", "escape"):
            app.post_message(events.Key(key, "\t" if key == "tab" else None))
        else:
            app.post_message(events.Key(KEY_NAMES.get(key, key), key))
