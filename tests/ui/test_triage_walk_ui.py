"""Issue 15 walked again as a new agent: the findings that had no test of their own.

The card's ticket lands on exactly that ticket in the inbox; the credit box is whole at
80 and 100 columns; counts read ``6.008`` in the sidebar and the title; the glossary's
words (docs/glossary.md) are the ones the desk shows. Pilot on SQLite.
"""

from __future__ import annotations

import ast
import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from textual.widgets import Label

from deskapp.rules import filterlang
from models.enums import OrderStatus
from models.tables import Order
from screens.dialogs.filter import FilterDialog
from screens.inbox import InboxScreen
from screens.inbox.screen import _source_prompt
from tests.support import carddata
from tests.support.carddata import IVO
from tests.support.deskdata import NOW
from tests.support.ui import make_app, open_card, settle, shown

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def ivo_desk(tmp_path):
    """Ivo Moring (tests/support/carddata.py) with a second held order, and his tickets."""
    def second_held(s, people):
        s.add(Order(customer_id=IVO, item="ivo-moring.online", amount=Decimal("80.00"), status=OrderStatus.HELD,
                    process_number="VG-2026-000008", placed_by_id=people["tom"].id,
                    created_at=NOW - dt.timedelta(days=2)))

    desk = carddata.ivo_desk(tmp_path / "desk.sqlite3", NOW, second_held)
    yield desk
    desk.engine.dispose()


async def test_enter_on_a_cards_ticket_shows_exactly_that_ticket_in_its_queue(desk):
    """From the Technik queue, Moring's card, his ticket in Vertragsbearbeitung: the inbox
    stands on that ticket (not a text search, not another ticket), and F acts on it."""
    engine, data = desk
    app = make_app(engine, data["people"]["isabel"])  # an admin works every queue
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await pilot.press("3")
        await settle(pilot)
        card = await open_card(pilot, data["customers"][0].id)
        wanted = next(t for t in card.card.open_tickets if t.queue == "contract")
        index = card.card.open_tickets.index(wanted)
        card.query_one("#card-tickets").focus()
        await settle(pilot)
        await pilot.press(*["down"] * index, "enter")
        await settle(pilot)
        inbox = app.screen
        assert isinstance(inbox, InboxScreen)
        assert [r.number for r in inbox.page.rows] == [wanted.number]
        assert inbox._current_row().number == wanted.number
        assert inbox.source == "queue:contract"


@pytest.mark.parametrize("size", [(80, 24), (100, 30)])
async def test_the_credit_box_is_whole_in_narrow_terminals(ivo_desk, size):
    app = make_app(ivo_desk.engine, ivo_desk.people["sara"])
    async with app.run_test(size=size) as pilot:
        card = await open_card(pilot, IVO)
        text = shown(card, "#card-credit")
        for words in ("Kreditlimit", "500,00 €", "Angehalten", "2 Bestellungen"):
            assert words in text, (words, text)
        assert "…" not in text


async def test_counts_read_with_the_thousands_separator_in_sidebar_and_title(desk):
    engine, data = desk
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        inbox = app.screen
        assert _source_prompt("Support", 6008).plain.split()[-1] == "6.008"
        inbox.total = 6008
        inbox._update_title()
        await pilot.pause()
        assert "von 6.008" in str(inbox.query_one("#list-title").render())


async def test_the_filter_speaks_of_kennzeichen_and_the_star_is_gemerkt(desk):
    engine, data = desk
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await pilot.press("f")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, FilterDialog)
        labels = [str(label.render()) for label in dialog.query(Label)]
        assert "Kennzeichen" in labels and "Markierung" not in labels
    assert filterlang.parse("kennzeichen:gemerkt").flag.values == ("flagged",)
    assert filterlang.parse("markierung:markiert").flag.values == ("flagged",)  # saved views still read
    assert "kennzeichen" in filterlang.FIELD_NAMES and "markierung" not in filterlang.FIELD_NAMES


# Words docs/glossary.md says not to use, as they would appear in a German UI string.
NOT_TO_USE = ("Markiert", "Markierung", "Freigabe ", "Freigabe)", "Freigabe:", "nicht angenommen")


def _ui_strings():
    for base in ("screens", "deskapp"):
        for path in sorted((ROOT / base).rglob("*.py")):
            tree = ast.parse(path.read_text())
            docstrings = {
                id(node.body[0].value) for node in ast.walk(tree)
                if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                and node.body and isinstance(node.body[0], ast.Expr)
                and isinstance(node.body[0].value, ast.Constant)
            }
            for node in ast.walk(tree):
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                    yield path.relative_to(ROOT), node.value


def test_the_desk_says_no_word_the_glossary_rules_out():
    found = [(str(path), text) for path, text in _ui_strings() for word in NOT_TO_USE if word in text + " "]
    # The one exception: a conflict message the ticket tests pin ("Markierungen geändert").
    found = [f for f in found if "Markierungen geändert" not in f[1]]
    assert found == []
