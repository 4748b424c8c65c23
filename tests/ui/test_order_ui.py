"""Real-time orders and the credit limit at the desk: the card's order dialog, the limit,
settling, and the held-order tickets of contract processing — by keyboard, through Pilot."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from textual.widgets import DataTable

from deskapp.services import orders
from deskapp.services.registry import SimulatedRegistry
from deskapp.settings import Policy
from models.engine import read_session, write_session
from models.tables import Order
from screens.dialogs.order import OrderDialog
from tests.support.deskdata import MORING_ID, NOW, build_small_desk
from tests.support.schema import migrated_sqlite_engine
from tests.support.ui import cells, detail, make_app, notes, open_card, open_ticket, settle, shown

SIZE = (120, 40)


def hold(engine, agent, *, amount: str, item: str = "gross.de", at: dt.datetime = NOW):
    """A held order for Ivo Moring (limit 500,00 €, nothing ordered yet), placed by the shop."""
    with write_session(engine) as s:
        return orders.place_order(
            s, agent, customer_id=MORING_ID, item=item, amount=Decimal(amount), now=at,
            policy=Policy(), registry=SimulatedRegistry(),
        )


def order_status(engine, order_id: int) -> str:
    with read_session(engine) as s:
        return s.get(Order, order_id).status


def order_count(engine) -> int:
    with read_session(engine) as s:
        return s.execute(select(func.count()).select_from(Order)).scalar_one()


async def order_dialog(pilot, item: str, amount: str) -> OrderDialog:
    await pilot.press("o")
    await settle(pilot)
    dialog = pilot.app.screen
    assert isinstance(dialog, OrderDialog), dialog
    await pilot.press(*item, "enter", *amount)
    await pilot.pause()
    return dialog


def footer_keys(app) -> set[str]:
    return {b.binding.description for b in app.screen.active_bindings.values() if b.enabled}


# --------------------------------------------------------------------------- the card


async def test_order_from_the_card_within_the_limit_executes(desk):
    engine, data = desk
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=SIZE) as pilot:
        card = await open_card(pilot)
        dialog = await order_dialog(pilot, "beispiel.de", "12,50")
        figures = shown(dialog, "#figures")
        assert "500,00 €" in figures and "487,50 €" in figures  # limit, headroom after the order
        assert "sofort" in shown(dialog, "#verdict")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "Bestellung ausgeführt" in shown(dialog, "#result")
        await pilot.press("enter")
        await settle(pilot)
        assert pilot.app.screen is card
        rows = cells(card.query_one("#card-orders", DataTable))
        assert rows[0][1:4] == ["beispiel.de", "12,50 €", "ausgeführt"]
        credit = shown(card, "#card-credit")
        assert "12,50 €" in credit and "487,50 €" in credit
    with read_session(engine) as s:
        order = s.execute(select(Order)).scalar_one()
        assert order.placed_by_id == data["people"]["tom"].id  # the agent at the keyboard


async def test_order_over_the_limit_is_held_and_shows_the_process_number(desk):
    engine, data = desk
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=SIZE) as pilot:
        card = await open_card(pilot)
        dialog = await order_dialog(pilot, "teuer.de", "600")
        assert "angehalten" in shown(dialog, "#verdict") and "100,00 €" in shown(dialog, "#verdict")
        await pilot.press("ctrl+s")
        await settle(pilot)
        result = shown(dialog, "#result")
        assert "angehalten" in result and "VG-2026-000001" in result
        await pilot.press("escape")
        await settle(pilot)
        assert any("VG-2026-000001" in m for m in notes(app))
        rows = cells(card.query_one("#card-orders", DataTable))
        assert rows[0][1:5] == ["teuer.de", "600,00 €", "angehalten", "VG-2026-000001"]


async def test_order_the_registry_refuses_names_the_technical_ticket(desk):
    engine, data = desk
    app = make_app(engine, data["people"]["tom"], registry_simulate_fail_items="kaputt.de")
    async with app.run_test(size=SIZE) as pilot:
        card = await open_card(pilot)
        dialog = await order_dialog(pilot, "kaputt.de", "10")
        await pilot.press("ctrl+s")
        await settle(pilot)
        result = shown(dialog, "#result")
        assert "nicht ausgeführt" in result and "Technik" in result
        await pilot.press("enter")
        await settle(pilot)
        rows = cells(card.query_one("#card-orders", DataTable))
        assert rows[0][3] == "fehlgeschlagen"


@pytest.mark.parametrize("amount", ["-5", "0", "12,345", "zwölf", "١٢"])
async def test_invalid_amount_is_refused_in_the_dialog(desk, amount):
    engine, data = desk
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=SIZE) as pilot:
        await open_card(pilot)
        dialog = await order_dialog(pilot, "beispiel.de", amount)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert pilot.app.screen is dialog  # still open, to correct
        assert "positiver Euro-Betrag" in shown(dialog, "#amount-error")
    assert order_count(engine) == 0


async def test_limit_change_by_contract_processing_shows_in_the_history(desk):
    engine, data = desk
    app = make_app(engine, data["people"]["sara"])
    async with app.run_test(size=SIZE) as pilot:
        card = await open_card(pilot)
        assert not card.query_one("#card-limits-section").display  # never changed: no section
        await pilot.press("L")
        await settle(pilot)
        await pilot.press(*"1000", "enter")
        await pilot.press("ctrl+s")  # no reason yet: refused next to the field
        await pilot.pause()
        assert "Begründung" in shown(pilot.app.screen, "#reason-error")
        await pilot.press(*"Bonität geprüft")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert pilot.app.screen is card
        assert "1.000,00 €" in shown(card, "#card-credit")
        assert card.query_one("#card-limits-section").border_title == "Kreditlimit-Verlauf (1)"
        history = cells(card.query_one("#card-limits", DataTable))
        assert history[0][1:] == ["500,00 € → 1.000,00 €", "Bonität geprüft", "sara"]


async def test_a_support_agent_may_not_change_the_limit(desk):
    engine, data = desk
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=SIZE) as pilot:
        card = await open_card(pilot)
        assert card.check_action("credit_limit", ()) is None  # greyed out
        await pilot.press("L")
        await settle(pilot)
        assert pilot.app.screen is card


async def test_settle_the_selected_order_and_by_date(desk):
    engine, data = desk
    system, sara = data["people"]["system"], data["people"]["sara"]
    for i, day in enumerate((NOW - dt.timedelta(days=3), NOW - dt.timedelta(days=2), NOW)):
        hold(engine, system, amount="100", item=f"d{i}.de", at=day)  # each fits: executed
    app = make_app(engine, sara)
    async with app.run_test(size=SIZE) as pilot:
        card = await open_card(pilot)
        assert "300,00 €" in shown(card, "#card-credit")
        card.query_one("#card-orders", DataTable).focus()
        await pilot.press("S")  # the newest order, under the cursor
        await settle(pilot)
        await pilot.press("enter")  # "Ja, abrechnen"
        await settle(pilot)
        rows = cells(card.query_one("#card-orders", DataTable))
        assert [r[3] for r in rows] == ["abgerechnet", "ausgeführt", "ausgeführt"]
        await pilot.press("D")
        await settle(pilot)
        await pilot.press(*["backspace"] * 8, *"31.02.26", "ctrl+s")  # no such day
        await pilot.pause()
        assert "TT.MM.JJ" in shown(pilot.app.screen, "#until-error")
        await pilot.press(*["backspace"] * 8, *"07.03.26", "ctrl+s")
        await settle(pilot)
        assert pilot.app.screen is card
        rows = cells(card.query_one("#card-orders", DataTable))
        assert [r[3] for r in rows] == ["abgerechnet", "ausgeführt", "abgerechnet"]
        assert any("1 Bestellung" in m for m in notes(app))


# --------------------------------------------------------------------------- the inbox


async def test_release_a_held_order_from_the_inbox(desk):
    engine, data = desk
    held = hold(engine, data["people"]["system"], amount="600")
    app = make_app(engine, data["people"]["sara"])
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_ticket(pilot, "2", held.ticket_number)
        text = detail(screen)
        for expected in ("VG-2026-000001", "Kreditlimit 500,00 €", "Obligo 600,00 €", "über dem Limit 100,00 €",
                         "Nicht auffällig"):
            assert expected in text, text
        assert {"Freigeben", "Ablehnen", "Kunde kontaktieren"} <= footer_keys(app)
        assert "Wiederholen" not in footer_keys(app)
        await pilot.press("a")
        await settle(pilot)
        await pilot.press("enter")  # "Ja, jetzt … ausführen"
        await settle(pilot)
        assert order_status(engine, held.order_id) == "executed"
        assert any("freigegeben" in m for m in notes(app))
        # Decided: the ticket is resolved and leaves the active list; nothing left to release.
        # Reloaded: "#N" lists exactly that ticket in any status (docs/rules.md#ticket-jump), now resolved.
        assert [(r.number, r.status) for r in screen.page.rows] == [(held.ticket_number, "resolved")]
        assert "Freigeben" not in footer_keys(app)


async def test_reject_a_held_order_needs_a_reason(desk):
    engine, data = desk
    held = hold(engine, data["people"]["system"], amount="600")
    app = make_app(engine, data["people"]["sara"])
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_ticket(pilot, "2", held.ticket_number)
        await pilot.press("x")
        await settle(pilot)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "Ohne Begründung" in str(pilot.app.screen.query_one("#error").render())
        await pilot.press(*"Zahlungsrückstand", "ctrl+s")
        await settle(pilot)
        assert order_status(engine, held.order_id) == "rejected"
        assert any("abgelehnt" in m for m in notes(app))
        # Reloaded: "#N" lists exactly that ticket in any status (docs/rules.md#ticket-jump), now resolved.
        assert [(r.number, r.status) for r in screen.page.rows] == [(held.ticket_number, "resolved")]
        assert "Ablehnen" not in footer_keys(app)


async def test_contact_customer_puts_the_ticket_on_waiting(desk):
    engine, data = desk
    held = hold(engine, data["people"]["system"], amount="900")  # 400 over: conspicuous
    app = make_app(engine, data["people"]["sara"])
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_ticket(pilot, "2", held.ticket_number)
        assert "Auffällig" in detail(screen) and "mehr als 50 % des Limits" in detail(screen)
        await pilot.press("K")
        await settle(pilot)
        await pilot.press(*"Anrufen: Bestellung gewollt?", "ctrl+s")
        await settle(pilot)
        assert screen._current_row().status == "waiting"
        assert order_status(engine, held.order_id) == "held"
        assert "Anrufen: Bestellung gewollt?" in detail(screen)


async def test_a_support_agent_cannot_release(desk):
    engine, data = desk
    held = hold(engine, data["people"]["system"], amount="600")
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=SIZE) as pilot:
        await open_ticket(pilot, "2", held.ticket_number)
        await pilot.press("a")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert any("tom" in m for m in notes(app)), notes(app)
    assert order_status(engine, held.order_id) == "held"


async def test_retry_a_failed_order_from_the_technical_ticket(desk):
    engine, data = desk
    with write_session(engine) as s:
        failed = orders.place_order(
            s, data["people"]["system"], customer_id=MORING_ID, item="wackel.de", amount=Decimal(20),
            now=NOW, policy=Policy(), registry=SimulatedRegistry(unreachable=True),
        )
    app = make_app(engine, data["people"]["kai"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("3")
        await settle(pilot)
        await pilot.press("slash", *f"#{failed.ticket_number}", "enter")
        await settle(pilot)
        screen = pilot.app.screen
        assert "nicht erreichbar" in detail(screen)
        assert "Wiederholen" in footer_keys(app) and "Freigeben" not in footer_keys(app)
        await pilot.press("W")
        await settle(pilot)
        assert order_status(engine, failed.order_id) == "executed"
        assert "Wiederholen" not in footer_keys(app)


def test_held_order_ticket_snapshot(snap_compare, tmp_path):
    engine = migrated_sqlite_engine(tmp_path / "snap.sqlite3")
    data = build_small_desk(engine, NOW)
    # Held yesterday morning, 400 € over the limit: conspicuous and overdue.
    held = hold(engine, data["people"]["system"], amount="900", item="premium-domain.de",
                at=NOW - dt.timedelta(days=1))
    app = make_app(engine, data["people"]["sara"])

    async def run_before(pilot):
        await settle(pilot)
        await pilot.press("2")  # contract queue: the oldest held order leads
        await settle(pilot)
        assert pilot.app.screen._current_row().number == held.ticket_number

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


async def test_release_after_someone_else_decided_tells_and_shows_the_new_state(desk):
    engine, data = desk
    held = hold(engine, data["people"]["system"], amount="600")
    app = make_app(engine, data["people"]["sara"])
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_ticket(pilot, "2", held.ticket_number)
        # Isabel (admin), at another desk, rejects it first.
        with write_session(engine) as s:
            orders.reject_order(s, data["people"]["isabel"], order_id=held.order_id, reason="Bonität", now=NOW)
        await pilot.press("a")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        warnings = [n.message for n in app.shown_notices if n.severity == "warning"]
        assert any("isabel" in m and "abgelehnt" in m for m in warnings), notes(app)
        # Reloaded: the search "#N" lists exactly that ticket in any status (docs/rules.md#ticket-jump),
        # now resolved.
        assert [(r.number, r.status) for r in screen.page.rows] == [(held.ticket_number, "resolved")]
    assert order_status(engine, held.order_id) == "rejected"


class _WaitingRegistry:
    """A registry that has the request and has not answered yet (until ``answer`` is set)."""

    def __init__(self) -> None:
        self.asked = threading.Event()
        self.answer = threading.Event()

    def register(self, item: str, customer_number: str, order_ref: str | None = None) -> None:
        self.asked.set()
        self.answer.wait(20)

    def status(self, order_ref: str):
        raise AssertionError("not asked here")


async def test_an_order_at_the_registry_shows_as_in_execution_and_counts(desk):
    """docs/rules.md#order-protocol: while the registry works on it, the order is on the card
    as "in Ausführung" and counts in the Obligo — and the desk is not blocked meanwhile."""
    engine, data = desk
    registry = _WaitingRegistry()
    worker = threading.Thread(target=lambda: _place_with(engine, data["people"]["system"], registry))
    worker.start()
    try:
        assert registry.asked.wait(20)
        app = make_app(engine, data["people"]["tom"])
        async with app.run_test(size=SIZE) as pilot:
            card = await open_card(pilot)
            rows = cells(card.query_one("#card-orders", DataTable))
            assert rows[0][1:4] == ["warten.de", "120,00 €", "in Ausführung"]
            credit = shown(card, "#card-credit")
            assert "120,00 €" in credit and "380,00 €" in credit and "Ausführung   1 läuft" in credit
    finally:
        registry.answer.set()
        worker.join(20)


def _place_with(engine, agent, registry) -> None:
    with write_session(engine) as s:
        orders.place_order(
            s, agent, customer_id=MORING_ID, item="warten.de", amount=Decimal("120.00"), now=NOW,
            policy=Policy(), registry=registry,
        )
