"""Issue 15, triage without friction: priority and queue keys, assignable agents, greyed
keys that say why, Textual's own words in German (docs/rules.md#ticket-triage,
docs/rules.md#greyed-keys)."""

from __future__ import annotations

from sqlalchemy import select

from models.engine import read_session
from models.tables import AuditLog, Ticket
from screens.card import CardScreen
from screens.dialogs.choice import ChoiceDialog
from screens.german import key_label
from screens.inbox import InboxScreen
from tests.support.ui import make_app, open_card, settle

SIZE = (120, 40)


def ticket(engine, number: int) -> tuple[int, str]:
    """(priority, queue) of the ticket as stored."""
    with read_session(engine) as s:
        t = s.execute(select(Ticket).where(Ticket.number == number)).scalar_one()
        return t.priority, t.queue


def audit_actions(engine, action: str) -> int:
    with read_session(engine) as s:
        return len(s.execute(select(AuditLog).where(AuditLog.action == action)).scalars().all())


def choice_labels(dialog: ChoiceDialog) -> list[str]:
    return [str(o.prompt) for o in dialog.query_one("#choices").options]


async def choose(pilot, label: str) -> None:
    dialog = pilot.app.screen
    assert isinstance(dialog, ChoiceDialog), dialog
    index = choice_labels(dialog).index(label)
    dialog.query_one("#choices").highlighted = index
    await pilot.press("enter")
    await settle(pilot)


async def test_p_sets_the_priority_of_the_ticket_under_the_cursor(desk):
    engine, data = desk
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        row = app.screen._current_row()
        await pilot.press("p")
        await settle(pilot)
        assert f"#{row.number}" in str(app.screen.query_one(".title").render())
        target = "niedrig" if row.priority != 1 else "dringend"
        await choose(pilot, target)
        assert isinstance(app.screen, InboxScreen)
        assert any("neu priorisiert" in n.message for n in app.shown_notices), app.shown_notices
    assert ticket(engine, row.number)[0] == (1 if target == "niedrig" else 4)
    assert audit_actions(engine, "ticket.priority") == 1


async def test_m_moves_all_marked_tickets_to_another_queue(desk):
    engine, data = desk
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        first = app.screen._current_row()
        await pilot.press("space")
        second = app.screen._current_row()
        await pilot.press("space")
        await pilot.press("m")
        await settle(pilot)
        assert "2 markierte Tickets" in str(app.screen.query_one(".title").render())
        labels = choice_labels(app.screen)
        assert "Support" not in labels and "Technik" in labels  # not into the queue they are in
        await choose(pilot, "Technik")
        assert not app.screen.marked
    assert {ticket(engine, first.number)[1], ticket(engine, second.number)[1]} == {"technical"}
    assert audit_actions(engine, "ticket.queue") == 2


async def test_assign_offers_only_agents_who_may_work_the_queue(desk):
    engine, data = desk
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("A")
        await settle(pilot)
        logins = [label.split(" — ")[0] for label in choice_labels(app.screen)]
        # Support: support, contract processing and admins — not kai (technician only).
        assert {"tom", "lena", "sara", "isabel", "rebekka"} <= set(logins)
        assert "kai" not in logins and "system" not in logins
        await pilot.press("escape")


async def test_greyed_credit_limit_says_why_for_tom(desk):
    engine, data = desk
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=SIZE) as pilot:
        card = await open_card(pilot)
        assert card.check_action("credit_limit", ()) is None
        await pilot.press("L")
        await settle(pilot)
        assert isinstance(app.screen, CardScreen)
        said = [n.message for n in app.shown_notices]
        assert any("Kreditlimit ändern dürfen nur" in m and "Vertragsbearbeitung" in m for m in said), said


async def test_every_greyed_key_of_the_card_and_inbox_has_its_own_reason(desk):
    engine, data = desk
    for login in ("tom", "system"):
        app = make_app(engine, data["people"][login])
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            screens = [app.screen, await open_card(pilot)]
            for screen in screens:
                for binding in screen.BINDINGS:
                    action = binding.action.split("(")[0]
                    if screen.check_action(action, ()) is None:
                        assert screen.why_greyed(action), (login, type(screen).__name__, action)


async def test_system_agent_pressing_N_is_told_why(desk):
    engine, data = desk
    app = make_app(engine, data["people"]["system"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("N")
        await settle(pilot)
        assert isinstance(app.screen, InboxScreen)
        assert any("Systemagent" in n.message for n in app.shown_notices)


def test_key_names_are_german():
    assert key_label("question_mark") == "?"
    assert key_label("space") == "Leertaste"
    assert key_label("slash") == "/"
    assert key_label("ctrl+o") == "Strg+O"
    assert key_label("delete") == "Entf"
    assert key_label("N") == "N"


async def test_palette_help_footer_and_quit_notice_speak_german(desk):
    engine, data = desk
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        commands = list(app.get_system_commands(app.screen))
        titles = [c.title for c in commands]
        assert "Tastenübersicht" in titles and "Farbschema" in titles
        assert not {"Keys", "Theme", "Quit", "Screenshot"} & set(titles)
        helps = " ".join(c.help for c in commands)
        assert "question_mark" not in helps and "space" not in helps and "slash" not in helps
        assert "Taste: Leertaste" in helps and "Taste: /" in helps
        footer = " ".join(str(k.render()) for k in app.screen.query("FooterKey"))
        assert "Strg+P Befehle" in footer and "palette" not in footer and "^" not in footer
        await pilot.press("ctrl+c")
        await settle(pilot)
        assert any("Beenden mit" in n.message for n in app.shown_notices)
        await pilot.press("ctrl+p")
        await settle(pilot)
        palette_input = app.screen.query_one("CommandInput")
        assert palette_input.placeholder == "Befehl suchen …"
        await pilot.press(*"zzqqxx")
        await pilot.pause(0.5)
        await settle(pilot)
        shown_options = [str(o.prompt) for o in app.screen.query_one("CommandList").options]
        assert any("Kein passender Befehl" in o for o in shown_options), shown_options
