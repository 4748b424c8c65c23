"""The ticket screen (docs/rules.md#mail-conversation) and replies from it
(docs/rules.md#mail-replies): enter opens, esc returns to the list as it was; the conversation
page by page; reply, draft, linking a customer, saving an attachment, "Kunde kontaktieren"."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select
from textual.widgets import Input, ListView

from deskapp.services import contacts, mail_in, orders, tickets
from deskapp.services.registry import SimulatedRegistry
from deskapp.settings import Policy
from models.engine import read_session, write_session
from models.tables import OutgoingMail, ReplyDraft, Ticket
from screens.customer_search import CustomerSearchScreen
from screens.inbox import InboxScreen
from screens.ticket import TicketScreen
from screens.ticket.composer import ReplyComposer
from tests.support.deskdata import MORING_ID, NOW
from tests.support.ui import make_app, notes, open_ticket, settle

SIZE = (160, 48)


def receive(engine, people, raw: bytes, now=NOW):
    with write_session(engine) as s:
        return mail_in.receive(s, people["system"], raw, now=now, policy=Policy())


def mail(subject="Drucker streikt", sender="Ivo Moring <ivo@moring.example>", msgid="<c1@moring.example>",
         body="Hallo,\nder Drucker druckt nicht.", headers="", content_type="text/plain; charset=utf-8") -> bytes:
    return (f"From: {sender}\r\nTo: support@agentur.example\r\nSubject: {subject}\r\nMessage-ID: {msgid}\r\n"
            f"Date: Mon, 30 Nov 2026 08:00:00 +0100\r\n{headers}Content-Type: {content_type}\r\n\r\n{body}\r\n").encode()


def with_address(engine):
    with write_session(engine) as s:
        contacts.set_addresses(s, MORING_ID, ["ivo@moring.example"])


def entries(screen: TicketScreen) -> list[str]:
    return [item.plain() for item in screen.query_one("#conversation", ListView).children]


async def open_full(pilot, queue_key: str, number: int) -> TicketScreen:
    await open_ticket(pilot, queue_key, number)
    await pilot.press("enter")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, TicketScreen), screen
    return screen


async def test_enter_opens_the_ticket_and_esc_returns_with_the_cursor_kept(desk):
    engine, data = desk
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("j", "j", "j")
        await settle(pilot)
        inbox = app.screen
        row = inbox._current_row()
        await pilot.press("enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, TicketScreen) and screen.row.id == row.id
        assert f"#{row.number}" in str(screen.query_one("#ticket-head").render())
        assert any("Ticket angelegt" in e for e in entries(screen))
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is inbox and inbox._current_row().id == row.id
        assert app.focused is inbox.query_one("#tickets")
        await pilot.press("j")
        await settle(pilot)
        assert inbox._current_row().id != row.id  # the keys work again at once


async def test_reply_from_the_ticket_goes_to_the_outbox_threaded_and_the_ticket_waits(desk):
    engine, data = desk
    with_address(engine)
    got = receive(engine, data["people"], mail())
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_full(pilot, "1", got.ticket_number)
        shown = "\n".join(entries(screen))
        assert "Ivo Moring <ivo@moring.example>" in shown and "der Drucker druckt nicht." in shown
        await pilot.press("r")
        await settle(pilot)
        composer = app.screen
        assert isinstance(composer, ReplyComposer)
        assert composer.query_one("#to", Input).value == "ivo@moring.example"
        assert composer.query_one("#subject", Input).value == f"[#{got.ticket_number}] Re: Drucker streikt"
        assert "> der Drucker druckt nicht." in composer.query_one("#body").text
        await pilot.press(*"Bitte neu starten.")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is screen
        assert any("Postausgang" in n for n in notes(app))
        assert screen.row.status == "waiting"
        assert any("E-Mail der Desk an ivo@moring.example" in e for e in entries(screen))
    with read_session(engine) as s:
        sent = s.execute(select(OutgoingMail)).scalar_one()
        assert sent.subject.startswith(f"[#{got.ticket_number}]") and sent.in_reply_to == "<c1@moring.example>"
        assert sent.body.startswith("Bitte neu starten.")
        assert s.execute(select(Ticket.status).where(Ticket.id == got.ticket_id)).scalar_one() == "waiting"


async def test_esc_keeps_the_draft_and_the_composer_brings_it_back(desk):
    engine, data = desk
    with_address(engine)
    got = receive(engine, data["people"], mail())
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_full(pilot, "1", got.ticket_number)
        await pilot.press("r")
        await settle(pilot)
        await pilot.press(*"Erster Gedanke", "escape")
        await settle(pilot)
        assert app.screen is screen
        await pilot.press("r")
        await settle(pilot)
        composer = app.screen
        assert composer.query_one("#body").text.startswith("Erster Gedanke")
        assert "Entwurf" in str(composer.query_one("#composer-hint").render())
        await pilot.press("ctrl+s")
        await settle(pilot)
    with read_session(engine) as s:
        assert s.execute(select(ReplyDraft)).first() is None  # sent: the draft is gone
        assert s.execute(select(OutgoingMail.body)).scalar_one().startswith("Erster Gedanke")


async def test_an_unknown_sender_is_marked_and_linked_to_a_customer(desk):
    engine, data = desk
    got = receive(engine, data["people"], mail(sender="Fremd <wer@anders.example>", msgid="<f1@x>"))
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_full(pilot, "1", got.ticket_number)
        assert "keiner" in str(screen.query_one("#ticket-head").render())
        await pilot.press("L")
        await settle(pilot)
        assert isinstance(app.screen, CustomerSearchScreen)
        await pilot.press(*"Moring")
        await settle(pilot)
        await pilot.pause(0.3)  # the search is debounced
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is screen
        assert screen.row.customer_id == MORING_ID
        assert "Ivo Moring" in str(screen.query_one("#ticket-head").render())
        assert any("Kunde zugeordnet" in e for e in entries(screen))
    with read_session(engine) as s:
        assert "wer@anders.example" in contacts.addresses_of(s, MORING_ID)


async def test_a_stranger_on_a_customer_ticket_is_marked(desk):
    engine, data = desk
    with_address(engine)
    got = receive(engine, data["people"], mail())
    receive(engine, data["people"], mail(sender="boss@anders.example", msgid="<f2@x>",
                                         subject=f"Re: [#{got.ticket_number}] Drucker", body="Ich auch."))
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_full(pilot, "1", got.ticket_number)
        assert any("boss@anders.example" in e and "Absender ist nicht der Kunde" in e for e in entries(screen))


async def test_save_an_attachment_to_a_file(desk, tmp_path):
    engine, data = desk
    with_address(engine)
    body = ("--B\r\nContent-Type: text/plain\r\n\r\nAnbei das Log.\r\n--B\r\nContent-Type: text/plain\r\n"
            "Content-Disposition: attachment; filename=\"fehler.log\"\r\n\r\nERROR 42\r\n--B--")
    got = receive(engine, data["people"], mail(body=body, content_type="multipart/mixed; boundary=\"B\""))
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_full(pilot, "1", got.ticket_number)
        assert any("fehler.log" in e for e in entries(screen))
        await pilot.press("d")
        await settle(pilot)
        path = app.screen.query_one("#path", Input)
        assert path.value.endswith("fehler.log")
        path.value = str(tmp_path / "log.txt")
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is screen
    assert (tmp_path / "log.txt").read_bytes().strip() == b"ERROR 42"


async def test_contact_customer_from_the_ticket_sends_the_process_number(desk):
    engine, data = desk
    with_address(engine)
    with write_session(engine) as s:
        held = orders.place_order(s, data["people"]["system"], customer_id=MORING_ID, item="gross.de",
                                  amount=Decimal("900"), now=NOW, policy=Policy(), registry=SimulatedRegistry())
    app = make_app(engine, data["people"]["sara"])
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_full(pilot, "2", held.ticket_number)
        await pilot.press("K")
        await settle(pilot)
        await pilot.press(*"Ist die Bestellung gewollt?", "ctrl+s")
        await settle(pilot)
        assert screen.row.status == "waiting"
        assert any("Rückfrage" in e for e in entries(screen))
    with read_session(engine) as s:
        sent = s.execute(select(OutgoingMail.subject)).scalars().all()
    contact = [subject for subject in sent if "Rückfrage" in subject]
    assert len(contact) == 1 and held.process_number in contact[0]
    assert f"[#{held.ticket_number}]" in contact[0]


async def test_a_long_thread_opens_with_one_page_and_loads_more_at_the_end(desk):
    engine, data = desk
    with_address(engine)
    got = receive(engine, data["people"], mail(msgid="<t0@moring.example>"))
    with write_session(engine) as s:
        for i in range(1, 60):
            mail_in.receive(s, data["people"]["system"], mail(msgid=f"<t{i}@moring.example>", body=f"Nachricht {i}",
                                                               subject=f"Re: [#{got.ticket_number}] Drucker"),
                            now=NOW + dt.timedelta(minutes=i), policy=Policy())
    app = make_app(engine, data["people"]["tom"])  # pages of 20
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_full(pilot, "1", got.ticket_number)
        view = screen.query_one("#conversation", ListView)
        assert len(view.children) == 20 and screen.total > 60
        assert "20 von" in str(screen.query_one("#conversation-title").render())
        for _ in range(19):
            await pilot.press("j")
        await settle(pilot)
        assert len(view.children) == 40
        # End (as G) goes to the last entry and so loads the next page; Home back to the first.
        await pilot.press("end")
        await settle(pilot)
        assert len(view.children) == 60 and view.index == 39
        await pilot.press("home")
        await settle(pilot)
        assert view.index == 0
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, InboxScreen)


async def test_extension_form_opens_from_a_customer_mail(desk):
    engine, data = desk
    with_address(engine)
    got = receive(engine, data["people"], mail(subject="Bitte Budget verlängern", body="Können Sie verlängern?"))
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=SIZE) as pilot:
        await open_full(pilot, "1", got.ticket_number)
        await pilot.press("e")
        await settle(pilot)
        from screens.dialogs.extension import ExtensionForm
        assert isinstance(app.screen, ExtensionForm)


async def test_the_composer_asks_for_the_address_of_a_ticket_without_customer(desk):
    engine, data = desk
    with write_session(engine) as s:
        row = tickets.open_ticket(s, data["people"]["tom"], queue="support", subject="Anruf: Rückruf", now=NOW)
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=(100, 30)) as pilot:
        await open_full(pilot, "1", row.number)
        await pilot.press("r")
        await settle(pilot)
        composer = app.screen
        assert "Empfängeradresse" in str(composer.query_one("#composer-hint").render())
        assert app.focused is composer.query_one("#to")
        await pilot.press(*"kein-at", "tab", "tab", "tab", *"Wir rufen zurück.", "ctrl+s")
        await settle(pilot)
        assert app.screen is composer and "@" in str(composer.query_one("#composer-error").render())
        composer.query_one("#to", Input).value = "anrufer@example.org"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, TicketScreen)
    with read_session(engine) as s:
        assert s.execute(select(OutgoingMail.to_addr)).scalar_one() == "anrufer@example.org"


async def test_a_mail_that_arrives_shows_in_the_open_ticket_without_a_key(desk):
    """The customer answers while the agent has the ticket open: the answer appears, and the
    head says the ticket was reopened (docs/rules.md#mail-threading)."""
    engine, data = desk
    with_address(engine)
    got = receive(engine, data["people"], mail())
    with write_session(engine) as s:
        tickets.set_status(s, data["people"]["tom"], tickets.get_row(s, got.ticket_id), status="waiting", now=NOW)
    app = make_app(engine, data["people"]["tom"], poll=True, inbox_poll_seconds=0.2)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_full(pilot, "1", got.ticket_number)
        assert "wartend" in str(screen.query_one("#ticket-head").render())
        assert not any("Geht wieder" in e for e in entries(screen))
        receive(engine, data["people"], mail(msgid="<c2@moring.example>", body="Geht wieder nicht!",
                                             subject=f"Re: [#{got.ticket_number}] Drucker streikt"))
        for _ in range(40):
            await pilot.pause(0.1)
            if any("Geht wieder" in e for e in entries(screen)):
                break
        await settle(pilot)
        assert any("Geht wieder nicht!" in e for e in entries(screen))
        assert "wartend" not in str(screen.query_one("#ticket-head").render())


async def test_the_open_ticket_follows_a_terminal_resize(desk):
    """The screen drops Textual's echo of its first layout, never a real resize: made
    narrower, the list and the footer fit the new width at once."""
    engine, data = desk
    with_address(engine)
    got = receive(engine, data["people"], mail())
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_full(pilot, "1", got.ticket_number)
        footer = lambda: " ".join(str(k.render()) for k in screen.query("FooterKey"))  # noqa: E731
        assert "Anhang speichern" in footer() and screen.query_one("#conversation").size.width > 100
        await pilot.resize_terminal(100, 30)
        await settle(pilot)
        assert screen.query_one("#conversation").size.width <= 100
        assert "Anhang speichern" not in footer() and "Hilfe" in footer()


async def test_an_opened_message_comes_into_view(desk):
    """Enter on a collapsed message near the bottom opens it; the list scrolls so that it
    shows (a long body would otherwise open below the edge)."""
    engine, data = desk
    with_address(engine)
    body = "\n".join(f"Zeile {i} der Beschreibung." for i in range(30))
    got = receive(engine, data["people"], mail(body=body))
    for i in range(12):
        receive(engine, data["people"], mail(msgid=f"<r{i}@moring.example>", body=body,
                                             subject=f"Re: [#{got.ticket_number}] Drucker streikt",
                                             headers="In-Reply-To: <c1@moring.example>\r\n"))
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await open_full(pilot, "1", got.ticket_number)
        view = screen.query_one("#conversation", ListView)
        await pilot.press(*["k"] * len(view.children))  # the cursor starts on the newest message
        await settle(pilot)
        for _ in range(len(view.children)):  # down to a collapsed message at the bottom edge
            await pilot.press("j")
            await settle(pilot)
            item = view.highlighted_child
            if item.region.bottom >= view.region.bottom - 1 and not item.expanded:
                break
        assert not item.expanded and item.region.bottom >= view.region.bottom - 1
        await pilot.press("enter")
        await settle(pilot)
        assert item.expanded
        assert view.region.contains_region(item.region) or item.region.y == view.region.y
