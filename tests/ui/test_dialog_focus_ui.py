"""Fast typing into a dialog: keys that arrive right behind the key that opens it are not
lost and land where they were aimed (issue 15: "fast typing in a dialog lost a Tab once").

The keys are posted as one burst — the way a terminal hands over a fast typist's keys or a
paste — so none of them waits for the dialog to be mounted. Before the fix each dialog
focused its first field in ``on_mount`` with ``widget.focus()``, which Textual defers
behind the keys already queued: a ``Tab`` typed at once moved on from the field Textual's
auto-focus had picked, and then the deferred focus pulled the cursor back to the first
field. Every dialog now names its first field in ``AUTO_FOCUS``, applied when its widgets
are composed, before any key reaches it.
"""

from __future__ import annotations

import asyncio
import inspect

import pytest
from textual.widgets import OptionList, Select, TextArea

from screens.forms import DialogScreen
from tests.support.deskdata import MORING_ID, Desk, add_budgets, build_budget_desk
from tests.support.schema import migrated_sqlite_engine
from tests.support.ui import burst, make_app, open_card, settle



@pytest.fixture
def desk(tmp_path):
    """The budget desk (SQLite) with Ivo Moring's open task and ticket."""
    engine = migrated_sqlite_engine(tmp_path / "desk.sqlite3")
    people = build_budget_desk(engine)["people"]
    add_budgets(engine, people)
    yield Desk(engine, people)
    engine.dispose()


async def open_and_type(pilot, opener: str, keys: list[str], how: str) -> DialogScreen:
    """Open a dialog with ``opener`` and type ``keys`` right behind it.

    "ahead": all keys at once, the opening key first — the keys behind it reach the app
    before the dialog is open (a paste, or a terminal handing over a fast typist's keys in
    one read). "burst": the keys are posted the moment the dialog is on the screen stack,
    before it has composed its widgets. "press": Pilot presses the keys one by one (each
    once the app is idle), with no pause after the opening key.
    """
    app = pilot.app
    below = app.screen
    if how == "press":
        await pilot.press(opener, *keys)
    elif how == "ahead":
        burst(app, opener, *keys)
    else:
        burst(app, opener)
        for _ in range(10_000):  # a bounded wait for the opening key to push the dialog
            if app.screen is not below:
                break
            await asyncio.sleep(0)
        burst(app, *keys)
    await settle(pilot)
    dialog = app.screen
    assert isinstance(dialog, DialogScreen), dialog
    return dialog


def value(screen, field: str) -> str:
    widget = screen.query_one(f"#{field}")
    if isinstance(widget, TextArea):
        return widget.text
    if isinstance(widget, Select):
        return "" if widget.value is Select.NULL else str(widget.value)
    return widget.value


# (login, where: "inbox" / "card" / "tasks" / an app key (+ a key there), the opening key,
#  the keys typed at once, the field that has the focus at the end, {field: what it holds})
CASES = [
    ("tom", "inbox", "t", ["1", "tab", "x"], "note", {"minutes": "1", "note": "x"}),
    ("tom", "inbox", "n", ["a", "b", "c"], "note", {"note": "abc"}),
    ("tom", "inbox", "f", ["tab"], "priority", {"status": "active"}),
    ("tom", "inbox", "N", ["k", "tab", "tab", "x"], "subject", {"customer": "k", "subject": "x"}),
    ("sara", "card", "b", ["4", "tab", "x"], "purchased", {"hours": "4", "purchased": "x"}),
    ("sara", "card", "L", ["5", "tab", "x"], "reason", {"limit": "5", "reason": "x"}),
    ("sara", "card", "o", ["a", "tab", "1"], "amount", {"item": "a", "amount": "1"}),
    ("sara", "card", "t", ["1", "tab", "x"], "note", {"minutes": "1", "note": "x"}),
    ("sara", "card", "D", ["x"], "until", {"until": "x"}),
    ("sara", "card", "E", ["X", "tab"], "emails", {"name": "X"}),
    ("tom", "card", "e", ["2", "tab"], None, {"months": "2"}),
    ("sara", "tasks", "n", ["a", "tab", "1"], "estimate", {"title": "a", "estimate": "1"}),
    ("isabel", "ctrl+g", "n", ["a", "tab", "b"], "name", {"login": "a", "name": "b"}),
    ("isabel", "ctrl+g", "r", ["tab"], "roles", {}),
    ("isabel", "ctrl+o", "n", ["tab", "x"], "starts", {"starts": "x"}),
    ("isabel", "ctrl+e", "e", ["7"], "value", {"value": "7"}),
]


# These open after a database read (the filter's choices, the roster): a key typed before
# the dialog is there acts on the screen it was typed on, as it should.
OPENS_AFTER_A_READ = {("inbox", "f"), ("ctrl+o", "n")}


async def _go(pilot, where: str) -> None:
    await settle(pilot)
    if where in ("card", "tasks"):
        await open_card(pilot, MORING_ID)
        if where == "tasks":
            await pilot.press("T")
            await settle(pilot)
    elif where != "inbox":
        await pilot.press(where)
        await settle(pilot)


HOWS = ("ahead", "burst", "press")


@pytest.mark.parametrize(("login", "where", "opener", "keys", "focused", "holds"), CASES,
                         ids=[f"{c[1]}-{c[2]}" for c in CASES])
async def test_keys_typed_right_after_opening_a_dialog_land_where_aimed(
    desk, login, where, opener, keys, focused, holds
):
    """Each of the three typing speeds in turn, in one app: open, type, check, esc back."""
    app = make_app(desk.engine, desk.people[login])
    async with app.run_test(size=(160, 48)) as pilot:
        await _go(pilot, where)
        below = app.screen
        for how in HOWS:
            if how == "ahead" and (where, opener) in OPENS_AFTER_A_READ:
                continue  # the dialog opens after a read: keys typed before act where they were typed
            dialog = await open_and_type(pilot, opener, keys, how)
            if focused is not None:
                assert dialog.focused is not None and dialog.focused.id == focused, (how, dialog.focused)
            for field, text in holds.items():
                shown = value(dialog, field)
                assert shown == text or (field == "starts" and shown.endswith(text)), (how, field, shown)
            await pilot.press("escape")  # cancel: nothing is filed, the next speed starts afresh
            await settle(pilot)
            assert app.screen is below, (how, app.screen)


@pytest.mark.parametrize("how", ["burst", "press"])
async def test_a_choice_typed_at_once_is_taken(desk, how):
    """p, then at once down and enter: the priority below the ticket's is set."""
    app = make_app(desk.engine, desk.people["tom"])
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        inbox = app.screen
        before = inbox._current_row().priority
        dialog = await open_and_type(pilot, "p", [], how)
        assert isinstance(dialog.focused, OptionList)
        assert dialog.focused.highlighted is not None
        choices = [o.id for o in dialog.focused._options]
        wanted = choices[dialog.focused.highlighted + 1]
        burst(app, "down", "enter")
        await settle(pilot)
        assert app.screen is inbox
        assert str(int(inbox._current_row().priority)) == wanted != str(int(before))


def _dialog_classes():
    import importlib
    import pkgutil

    import screens.dialogs as package

    for info in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"screens.dialogs.{info.name}")
    importlib.import_module("screens.ticket.save")
    found, todo = set(), [DialogScreen]
    while todo:
        for sub in todo.pop().__subclasses__():
            todo.append(sub)
            if sub.__module__.startswith("screens."):
                found.add(sub)
    return sorted(found, key=lambda c: c.__name__)


def test_every_dialog_names_the_widget_that_starts_with_the_focus():
    """No dialog leaves its first focus to chance or to a deferred ``focus()`` in on_mount."""
    classes = [c for c in _dialog_classes() if c.__name__ not in ("FormDialog", "BudgetForm")]
    assert len(classes) >= 15, classes
    for cls in classes:
        assert cls.AUTO_FOCUS is not None, cls
        source = inspect.getsource(cls)
        assert "def on_mount" not in source or ".focus()" not in source.split("def on_mount")[1].split("\n    def ")[0], cls
