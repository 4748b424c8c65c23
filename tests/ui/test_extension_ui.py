"""Budget extension requests at the desk, by keyboard through Pilot: the form (from the card
and from a ticket), deciding in the admin channel, the requester's view of the outcome, and
the absences screen the routing reads. Runs on SQLite and, with DESK_TEST_PG_URL, on
PostgreSQL (the ``engine`` fixture)."""

from __future__ import annotations

import datetime as dt

import pytest
from textual.widgets import DataTable, Input, Select, Static

from deskapp.services import agents, extensions, tickets
from deskapp.settings import Policy
from models.engine import read_session, write_session
from screens.absences import AbsencesScreen
from screens.card import CardScreen
from screens.dialogs.absence import AbsenceDialog
from screens.dialogs.choice import ChoiceDialog
from screens.dialogs.extension import ExtensionForm
from screens.dialogs.note import NoteDialog
from screens.inbox import InboxScreen
from tests.support.deskdata import CONNY_ID, MORING_ID, NOW, add_budgets, build_small_desk
from tests.support.ui import chosen, detail, make_app, notes, open_card, open_form, open_ticket, settle, shown

SIZE = (120, 40)
D = dt.date


# --------------------------------------------------------------------------- data


@pytest.fixture
def desk(engine):
    data = build_small_desk(engine, NOW)
    data.update(add_budgets(engine, data["people"]))
    return engine, data


def file_request(engine, agent, *, months: int = 1) -> extensions.ExtensionResult:
    """Ivo's request, filed at another desk."""
    with write_session(engine) as s:
        return extensions.request_extension(s, agent, customer_id=MORING_ID, valid_until=None, months=months,
                                            now=NOW, policy=Policy())


def request_status(engine, request_id: int) -> extensions.ExtensionView:
    with read_session(engine) as s:
        return extensions.extension_view(s, None, request_id, now=NOW)


# --------------------------------------------------------------------------- helpers


def flat(text: str) -> str:
    """Wrapped lines joined again."""
    return " ".join(text.split())


def preview(form: ExtensionForm) -> str:
    return str(form.query_one("#preview", Static).render())


def footer_keys(app) -> set[str]:
    return {b.binding.description for b in app.screen.active_bindings.values() if b.enabled}


async def set_months(pilot, form: ExtensionForm, months: str) -> None:
    form.query_one("#months", Input).focus()
    await pilot.press("ctrl+a", "ctrl+k", *months)
    await pilot.pause()


# --------------------------------------------------------------------------- the form


async def test_form_from_the_card_is_prefilled_and_updates_live(desk):
    engine, data = desk
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=SIZE) as pilot:
        await open_card(pilot)
        form = await open_form(pilot)
        assert "Ivo Moring (K-" in str(form.query_one("#ext-title").render())
        assert "gültig bis 20.03.26 · 28:00 Std" in chosen(form, "#target")
        assert preview(form).splitlines() == [
            "@Isabel Anfrage Budgetverlängerung",
            "Kunde: Ivo Moring: 7bb56b00-4e1e-4e61-ad7d-88a75b3c22e6",
            "Budget gültig bis: 20.03.26",
            "Restbudget: 28:00 Std",
            "Aufgabe: –",
            "Vorschlag: Verlängerung bis 20.04.26",
        ]
        assert "20.04.26" in shown(form, "#proposal")
        assert "Verlängerung um 1–2 Monate möglich" in shown(form, "#policy")
        assert flat(shown(form, "#routing")) == "Admin-Channel: an Isabel (Genehmigung)"
        assert not form.query_one("#rebooking-box").display  # 28 h: no rebooking

        await set_months(pilot, form, "2")
        assert "20.05.26" in shown(form, "#proposal")
        assert preview(form).endswith("Vorschlag: Verlängerung bis 20.05.26")
        assert shown(form, "#months-error") == ""

        await set_months(pilot, form, "3")
        assert "Mehr als 2 Monate" in shown(form, "#months-error")
        assert "Vorschlag" not in preview(form)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is form  # nothing filed
        assert "nichts" in shown(form, "#form-error")
        with read_session(engine) as s:
            assert extensions.my_requests(s, data["people"]["tom"]) == []

        await set_months(pilot, form, "1")
        assert shown(form, "#months-error") == ""
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, CardScreen)
        assert any(m.startswith("Antrag #1 an Isabel gestellt") for m in notes(app)), notes(app)
    with read_session(engine) as s:
        (row,) = extensions.my_requests(s, data["people"]["tom"])
    assert row.status == "waiting" and row.proposal == D(2026, 4, 20)


async def test_escape_cancels_the_form_and_files_nothing(desk):
    engine, data = desk
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=SIZE) as pilot:
        await open_card(pilot)
        await open_form(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, CardScreen)
    with read_session(engine) as s:
        assert extensions.my_requests(s, data["people"]["tom"]) == []


async def test_service_refusals_show_in_the_form(desk):
    engine, data = desk
    file_request(engine, data["people"]["lena"])  # Ivo's budget already has a waiting request
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=SIZE) as pilot:
        await open_card(pilot)
        form = await open_form(pilot)
        # Said up front, next to the budget, before the agent fills anything in.
        assert "wartet schon Verlängerungsantrag 1" in flat(shown(form, "#target-error"))
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is form  # nothing filed
    with read_session(engine) as s:
        assert extensions.my_requests(s, data["people"]["tom"]) == []

    app = make_app(engine, data["people"]["kai"])  # Technik: may not request
    async with app.run_test(size=SIZE) as pilot:
        await open_card(pilot)
        form = await open_form(pilot)
        assert "kai darf keine Budgetverlängerung beantragen" in flat(shown(form, "#ext-loading"))
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is form
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, CardScreen)


async def test_form_from_a_ticket_preselects_its_task(desk):
    engine, data = desk
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=SIZE) as pilot:
        await open_ticket(pilot, "1", data["ticket_number"])
        form = await open_form(pilot)
        assert form.query_one("#task", Select).value == data["task_id"]
        assert f"Aufgabe: Nr. {data['task_id']} Relaunch Shop" in preview(form)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, InboxScreen)
    with read_session(engine) as s:
        (row,) = extensions.my_requests(s, data["people"]["tom"])
        view = extensions.extension_view(s, None, row.request_id, now=NOW)
    assert view.task_id == data["task_id"]


async def test_ticket_without_customer_offers_no_form(desk):
    engine, data = desk
    with write_session(engine) as s:
        row = tickets.open_ticket(s, data["people"]["tom"], queue="support", subject="Ohne Kunde", now=NOW)
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=SIZE) as pilot:
        await open_ticket(pilot, "1", row.number)
        await pilot.press("e")
        await settle(pilot)
        assert isinstance(app.screen, InboxScreen)


async def test_under_20_hours_the_form_files_only_after_a_rebooking(desk):
    engine, data = desk
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=SIZE) as pilot:
        await open_card(pilot, CONNY_ID)
        form = await open_form(pilot)
        assert "10:00 Std" in form.draft.targets[0].label
        assert "Kunde muss zuerst nachbuchen" in shown(form, "#policy")
        assert form.query_one("#rebooking-box").display
        # Expired on 01.02.26: the extension counts from today (10.03.26).
        assert preview(form).endswith("Vorschlag: Verlängerung bis 10.04.26 (wenn Kunde nachgebucht hat)")

        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is form
        assert "nachbuchen" in shown(form, "#rebooking-error")
        assert app.screen.focused is form.query_one("#rebooking", Select)

        form.query_one("#rebooking", Select).value = "new"  # "Neues Paket jetzt erfassen"
        await pilot.pause()
        assert form.query_one("#new-package").display
        await pilot.press("ctrl+s")  # the package's hours and price are still missing
        await settle(pilot)
        assert app.screen is form
        assert "Stunden" in shown(form, "#hours-error") and "Preis" in shown(form, "#price-error")
        assert shown(form, "#purchased-error") == ""  # today, pre-filled

        form.query_one("#hours", Input).focus()
        await pilot.press(*"20:00", "tab", *"1900,00")
        await pilot.pause()
        assert shown(form, "#hours-error") == "" and shown(form, "#price-error") == ""
        assert shown(form, "#rebooking-error") == ""
        assert "(wenn Kunde nachgebucht hat)" in preview(form)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, CardScreen), app.screen
        assert any(m.startswith("Antrag #1 an Isabel gestellt") for m in notes(app)), notes(app)
        packages = app.screen.query_one("#card-packages", DataTable)
        assert packages.row_count == 2  # the rebooking, booked with the request
    with read_session(engine) as s:
        (row,) = extensions.my_requests(s, data["people"]["tom"])
        view = extensions.extension_view(s, None, row.request_id, now=NOW)
    assert view.rebooking_needed and "(wenn Kunde nachgebucht hat)" in view.message


# --------------------------------------------------------------------------- the admin channel


async def test_approver_approves_in_the_inbox_and_the_card_shows_the_new_validity(desk):
    engine, data = desk
    filed = file_request(engine, data["people"]["tom"])
    app = make_app(engine, data["people"]["isabel"])
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_ticket(pilot, "4", filed.ticket_number)
        text = detail(screen)
        assert f"Verlängerungsantrag #{filed.request_id}" in text and "wartet auf Genehmigung" in text
        assert "20.03.26 → Verlängerung bis 20.04.26" in text
        assert "a genehmigen" in text
        assert {"Genehmigen", "Antrag ablehnen"} <= footer_keys(app)
        assert "Freigeben" not in footer_keys(app)  # the held-order meaning of a is not offered

        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, ChoiceDialog)
        await pilot.press("enter")  # "Ja, genehmigen"
        await settle(pilot)
        done = f"Antrag #{filed.request_id} genehmigt"
        assert any(done in m and "20.04.26" in m for m in notes(app)), notes(app)
        with read_session(engine) as s:
            assert tickets.get_row(s, filed.ticket_id).status == "resolved"

        card = await open_card(pilot)  # the ticket is resolved: it has left the list
        packages = [[str(c) for c in card.query_one("#card-packages", DataTable).get_row_at(i)]
                    for i in range(card.query_one("#card-packages", DataTable).row_count)]
        assert [row[6] for row in packages] == ["20.04.26"]
    assert request_status(engine, filed.request_id).status == "approved"


async def test_reject_needs_a_reason_and_the_requester_sees_it(desk):
    engine, data = desk
    filed = file_request(engine, data["people"]["tom"])
    app = make_app(engine, data["people"]["isabel"])
    async with app.run_test(size=SIZE) as pilot:
        await open_ticket(pilot, "4", filed.ticket_number)
        await pilot.press("x")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, NoteDialog)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is dialog
        assert "Ohne Begründung" in str(dialog.query_one("#error", Static).render())
        await pilot.press(*"Erst Aufgabe abschliessen", "ctrl+s")
        await settle(pilot)
        assert any("abgelehnt" in m for m in notes(app)), notes(app)
    view = request_status(engine, filed.request_id)
    assert view.status == "rejected" and view.reason == "Erst Aufgabe abschliessen"

    # Tom, the requester: "Meine Anträge" (key 8) shows the outcome and the reason.
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("8")
        await settle(pilot)
        screen = app.screen
        table = screen.query_one(DataTable)
        rows = [str(table.get_row_at(i)[7]) for i in range(table.row_count)]
        assert len(rows) == 1 and rows[0].startswith("abgelehnt · ")
        text = detail(screen)
        assert "abgelehnt von isabel" in text
        assert "Begründung der Ablehnung: Erst Aufgabe abschliessen" in text
        assert "Genehmigen" not in footer_keys(app)
        # The sidebar counts what the label says: the decided request is one of "Meine Anträge".
        prompts = [str(o.prompt) for o in screen.query_one("#sources").options]
        assert any(p.startswith("Meine Anträge") and p.split()[-1] == "1" for p in prompts), prompts


async def test_requester_sees_waiting_then_approved(desk):
    engine, data = desk
    filed = file_request(engine, data["people"]["tom"])
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("8")
        await settle(pilot)
        table = app.screen.query_one(DataTable)
        assert str(table.get_row_at(0)[7]).startswith("wartet · ")
        assert "Beantragt von Ihnen" in detail(app.screen)
        with write_session(engine) as s:
            extensions.decide(s, data["people"]["isabel"], request_id=filed.request_id, approve=True,
                              now=NOW, policy=Policy())
        await pilot.press("r")
        await settle(pilot)
        assert str(table.get_row_at(0)[7]).startswith("genehmigt · ")


@pytest.mark.parametrize("requester, login, why", [
    ("tom", "lena", "lena darf Verlängerungsanträge nicht entscheiden"),  # no role
    ("tom", "rebekka", "nur an einem Tag, an dem die Genehmigung"),  # deputy, approver present
    ("isabel", "isabel", "Niemand entscheidet über den eigenen Antrag"),  # own request
])
async def test_who_may_not_decide_gets_the_reason_when_pressing_a(desk, requester, login, why):
    engine, data = desk
    filed = file_request(engine, data["people"][requester])
    app = make_app(engine, data["people"][login])
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_ticket(pilot, "4", filed.ticket_number)
        assert why in detail(screen)
        assert "Genehmigen" not in footer_keys(app)  # greyed out
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, InboxScreen)  # no dialog
        assert any(why in m for m in notes(app)), notes(app)
        await pilot.press("x")
        await settle(pilot)
        assert isinstance(app.screen, InboxScreen)
    assert request_status(engine, filed.request_id).status == "waiting"


async def test_decided_meanwhile_the_service_refuses_and_says_who(desk):
    engine, data = desk
    people = data["people"]
    filed = file_request(engine, people["tom"])
    app = make_app(engine, people["isabel"])
    async with app.run_test(size=SIZE) as pilot:
        await open_ticket(pilot, "4", filed.ticket_number)
        # Meanwhile, at another desk: Isabel is recorded absent and Rebekka, her deputy, rejects.
        with write_session(engine) as s:
            agents.record_absence(s, people["isabel"], agent_id=people["isabel"].id, first_day=D(2026, 3, 10),
                                  last_day=D(2026, 3, 10), reason="sick", now=NOW)
        with write_session(engine) as s:
            extensions.decide(s, people["rebekka"], request_id=filed.request_id, approve=False,
                              reason="Kunde hat gekündigt", now=NOW, policy=Policy())
        await pilot.press("a")  # Isabel's screen still shows it waiting
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        warnings = [n.message for n in app.shown_notices if n.severity == "warning"]
        assert any("rebekka" in m and "abgelehnt" in m for m in warnings), notes(app)
        # Reloaded: decided. The search "#N" lists exactly that ticket in any status
        # (docs/rules.md#ticket-jump): it is shown resolved.
        assert [(r.number, r.status) for r in app.screen.page.rows] == [(filed.ticket_number, "resolved")]
    assert request_status(engine, filed.request_id).status == "rejected"


async def test_both_approvers_absent_the_ticket_says_it_waits(desk):
    engine, data = desk
    people = data["people"]
    with write_session(engine) as s:
        for login in ("isabel", "rebekka"):
            agents.record_absence(s, people["isabel"], agent_id=people[login].id, first_day=D(2026, 3, 9),
                                  last_day=D(2026, 3, 13), reason="vacation", now=NOW)
    app = make_app(engine, people["tom"])
    async with app.run_test(size=SIZE) as pilot:
        await open_card(pilot)
        form = await open_form(pilot)
        assert "Isabel und Rebekka abwesend – wartet auf die erste Rückkehr" in flat(shown(form, "#routing"))
        assert preview(form).startswith("Anfrage Budgetverlängerung")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert any("wartet auf die erste Rückkehr" in m for m in notes(app)), notes(app)
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("8")
        await settle(pilot)
        assert "Genehmigung und Vertretung sind abwesend" in detail(app.screen)


# --------------------------------------------------------------------------- absences


async def test_absences_screen_adds_an_absence_and_routing_goes_to_the_deputy(desk):
    engine, data = desk
    people = data["people"]
    app = make_app(engine, people["isabel"])  # admin
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+o")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, AbsencesScreen)
        assert screen.query_one(DataTable).row_count == 0
        await pilot.press("n")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, AbsenceDialog)
        await pilot.press("ctrl+s")  # nobody chosen yet
        await settle(pilot)
        assert app.screen is dialog and "wer abwesend" in shown(dialog, "#login-error")
        dialog.query_one("#login", Select).value = "isabel"
        dialog.query_one("#ends", Input).focus()
        await pilot.press("ctrl+a", "ctrl+k", *"1.3.26", "ctrl+s")  # before the first day
        await settle(pilot)
        assert "vor dem ersten" in shown(dialog, "#ends-error")
        await pilot.press("ctrl+a", "ctrl+k", *"13.03.26")
        dialog.query_one("#reason", Select).value = "sick"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is screen
        table = screen.query_one(DataTable)
        assert table.row_count == 1
        row = [str(c) for c in table.get_row_at(0)]
        assert row[:3] == ["isabel — Isabel", "10.03.26", "13.03.26"] and row[4] == "krank"

    app = make_app(engine, people["tom"])
    async with app.run_test(size=SIZE) as pilot:
        await open_card(pilot)
        form = await open_form(pilot)
        assert "an Rebekka (Vertretung, Isabel abwesend)" in flat(shown(form, "#routing"))
        assert preview(form).startswith("@Rebekka Anfrage Budgetverlängerung")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert any(m.startswith("Antrag #1 an Rebekka gestellt") for m in notes(app)), notes(app)


async def test_absences_delete_and_only_admins_get_in(desk):
    engine, data = desk
    people = data["people"]
    app = make_app(engine, people["tom"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+o")
        await settle(pilot)
        assert isinstance(app.screen, InboxScreen)
        assert any("nur Admins" in m for m in notes(app)), notes(app)

    with write_session(engine) as s:
        agents.record_absence(s, people["isabel"], agent_id=people["kai"].id, first_day=D(2026, 3, 12),
                              last_day=D(2026, 3, 20), reason="vacation", now=NOW)
    app = make_app(engine, people["isabel"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+o")
        await settle(pilot)
        screen = app.screen
        assert screen.query_one(DataTable).row_count == 1
        await pilot.press("d")
        await settle(pilot)
        assert isinstance(app.screen, ChoiceDialog)
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is screen and screen.query_one(DataTable).row_count == 0
        assert any("gelöscht" in m for m in notes(app)), notes(app)
