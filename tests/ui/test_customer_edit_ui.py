"""``E`` on the card: a customer's master data, keyboard only (SQLite)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from deskapp.services import customers
from models.engine import read_session, write_session
from models.tables import AuditLog
from screens.card import CardScreen
from screens.dialogs.customer import CustomerDialog
from tests.support.deskdata import MORING_ID, NOW
from tests.support.ui import make_app, open_card, replace_inbox, settle, shown

SIZE = (120, 40)


@pytest.fixture(autouse=True)
def stub_inbox(monkeypatch):
    replace_inbox(monkeypatch)


def master(engine):
    with read_session(engine) as s:
        return customers.master_data(s, MORING_ID)


def updates(engine) -> int:
    with read_session(engine) as s:
        return s.execute(
            select(func.count()).select_from(AuditLog).where(AuditLog.action == "customer.update")
        ).scalar()


async def open_dialog(pilot) -> CustomerDialog:
    await open_card(pilot)
    await pilot.press("E")
    await settle(pilot)
    dialog = pilot.app.screen
    assert isinstance(dialog, CustomerDialog), dialog
    return dialog


def set_field(dialog, field: str, value: str) -> None:
    dialog.query_one(f"#{field}").value = value


async def test_contract_processing_edits_the_master_data_and_the_card_shows_it(desk):
    engine, data = desk
    app = make_app(engine, data["people"]["sara"])
    async with app.run_test(size=SIZE) as pilot:
        dialog = await open_dialog(pilot)
        assert dialog.query_one("#name").value == "Ivo Moring"
        assert dialog.query_one("#emails").value == "kunde0@example.de"
        assert dialog.query_one("#since").value == "03.02.25"
        set_field(dialog, "name", "Ivo Moring GmbH")
        set_field(dialog, "emails", "buero@moring.de, kunde0@example.de")
        set_field(dialog, "phone", "030 1234")
        await pilot.press("ctrl+s")
        await settle(pilot)
        card = app.screen
        assert isinstance(card, CardScreen)
        box = shown(card, "#card-master")
        assert "Ivo Moring GmbH" in box and "buero@moring.de" in box and "030 1234" in box
    now = master(engine)
    assert now.emails == ("buero@moring.de", "kunde0@example.de") and now.phone == "030 1234"
    assert updates(engine) == 1


@pytest.mark.parametrize(("field", "value", "error", "message"), [
    ("emails", "ivo.moring.de", "emails", "es fehlt das @"),
    ("emails", "", "emails", "mindestens eine E-Mail-Adresse"),
    ("name", "", "name", "braucht einen Namen"),
    ("name", "Ivo\x07Moring", "name", "Steuerzeichen"),
    ("since", "31.02.25", "since", "TT.MM.JJ"),
    ("since", "01.01.30", "since", "Zukunft"),
])
async def test_bad_input_is_said_in_german_and_nothing_is_written(desk, field, value, error, message):
    engine, data = desk
    before = master(engine)
    app = make_app(engine, data["people"]["isabel"])
    async with app.run_test(size=SIZE) as pilot:
        dialog = await open_dialog(pilot)
        set_field(dialog, field, value)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is dialog
        assert message in shown(dialog, f"#{error}-error")
    assert master(engine) == before
    assert updates(engine) == 0


async def test_a_customer_changed_meanwhile_is_a_conflict_and_the_form_shows_it_as_it_is(desk):
    engine, data = desk
    people = data["people"]
    app = make_app(engine, people["sara"])
    async with app.run_test(size=SIZE) as pilot:
        dialog = await open_dialog(pilot)
        seen = master(engine)
        with write_session(engine) as s:  # isabel, at another desk, first
            customers.update_master_data(
                s, people["isabel"], customer_id=MORING_ID, seen_version=seen.version, name="Ivo Moring KG",
                emails=list(seen.emails), phone=seen.phone, customer_since=seen.customer_since, now=NOW,
            )
        set_field(dialog, "name", "Ivo Moring GmbH")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is dialog
        assert "inzwischen von isabel geändert" in shown(dialog, "#form-error")
        assert dialog.query_one("#name").value == "Ivo Moring KG"
    assert master(engine).name == "Ivo Moring KG"
    assert updates(engine) == 1


async def test_support_sees_the_key_greyed_and_cannot_open_the_dialog(desk):
    engine, data = desk
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=SIZE) as pilot:
        card = await open_card(pilot)
        assert card.check_action("edit_customer", ()) is None
        await pilot.press("E")
        await settle(pilot)
        assert app.screen is card


async def test_the_palette_offers_it_on_the_card(desk):
    engine, data = desk
    app = make_app(engine, data["people"]["sara"])
    async with app.run_test(size=SIZE) as pilot:
        card = await open_card(pilot)
        assert "Stammdaten bearbeiten" in [c.title for c in app.get_system_commands(card)]
