"""Issue 15, the card shows what it holds: the logs' text gets the free width, enter reads
an entry whole, n adds a Kundenakte entry, nothing an agent copies is cut
(docs/rules.md#customer-file, docs/rules.md#narrow-terminals)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from models.engine import read_session
from models.tables import AuditLog
from screens.card import CardScreen
from screens.card_reader import EntryReader
from tests.support.deskdata import MORING_ID
from tests.support.ui import make_app, open_card, settle, shown

LONG = ("Kunde rief an: das Postfach info@moring-kg.example läuft voll, weil die Weiterleitung an "
        "die alte Adresse noch aktiv ist. Vereinbart: Weiterleitung abschalten, Kontingent bleibt. "
        "Rückruf am Freitag.")


async def add_entry(pilot, text: str) -> None:
    await pilot.press("n")
    await settle(pilot)
    dialog = pilot.app.screen
    dialog.query_one("TextArea").text = text
    await pilot.press("ctrl+s")
    await settle(pilot)


async def test_n_adds_an_entry_and_enter_reads_it_whole(desk):
    engine, data = desk
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=(160, 48)) as pilot:
        card = await open_card(pilot)
        await add_entry(pilot, LONG)
        assert app.screen is card
        assert any("Kundenakte gespeichert" in n.message for n in app.shown_notices)
        table = card.query_one("#card-file")
        assert table.row_count == 1
        shown_cell = str(table.get_cell_at((0, 2)))
        assert len(shown_cell) > 40  # the text column takes the free width, not 30 characters
        table.focus()
        await pilot.press("enter")
        await settle(pilot)
        reader = app.screen
        assert isinstance(reader, EntryReader)
        assert str(reader.query_one("#entry-text").render()).replace("\n", " ").split() == LONG.split()
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is card
    with read_session(engine) as s:
        actions = s.execute(select(AuditLog.action).where(AuditLog.action == "customer_file.add")).all()
    assert len(actions) == 1


async def test_an_empty_entry_is_not_saved(desk):
    engine, data = desk
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=(120, 40)) as pilot:
        await open_card(pilot)
        await pilot.press("n")
        await settle(pilot)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "leerer Eintrag" in shown(app.screen, "#error")


@pytest.mark.parametrize("size", [(80, 24), (100, 30), (160, 48)])
async def test_the_customer_id_and_email_are_never_cut(desk, size):
    engine, data = desk
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=size) as pilot:
        card = await open_card(pilot)
        assert isinstance(card, CardScreen)
        master = shown(card, "#card-master").replace("│", "").replace("\n", "")
        assert str(MORING_ID) in master.replace(" ", "")
        assert "…" not in shown(card, "#card-master") and "…" not in shown(card, "#card-credit")
