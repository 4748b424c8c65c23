"""SVG snapshot of the ticket screen (docs/rules.md#mail-conversation): a customer's mail, the
desk's reply, the customer's answer, an internal note and a stranger on the ticket, at
160×48 and 100×30. Update with ``--snapshot-update`` and look at the SVGs before committing."""

from __future__ import annotations

import datetime as dt

import pytest

from deskapp.services import contacts, mail_in, replies, tickets
from deskapp.settings import Policy
from models.engine import write_session
from screens.app import DeskApp
from tests.support.deskdata import MORING_ID, NOW, build_small_desk
from tests.support.schema import migrated_sqlite_engine
from tests.support.ui import make_app, settle


def _mail(sender, subject, msgid, body, headers=""):
    return (f"From: {sender}\r\nTo: support@agentur.example\r\nSubject: {subject}\r\nMessage-ID: <{msgid}>\r\n"
            f"Date: Mon, 30 Nov 2026 08:00:00 +0100\r\n{headers}Content-Type: text/plain; charset=utf-8\r\n\r\n"
            f"{body}\r\n").encode()


def _desk(tmp_path) -> tuple[DeskApp, int]:
    engine = migrated_sqlite_engine(tmp_path / "snap.sqlite3")
    data = build_small_desk(engine, NOW)
    people, policy = data["people"], Policy()
    with write_session(engine) as s:
        contacts.set_addresses(s, MORING_ID, ["ivo@moring.example"])
        got = mail_in.receive(s, people["system"], _mail(
            "Ivo Moring <ivo@moring.example>", "Shop zeigt Fehler 500", "s1@moring.example",
            "Hallo,\n\nseit heute früh zeigt der Shop nur noch \"Fehler 500\".\nBitte dringend ansehen!\n\nIvo"),
            now=NOW - dt.timedelta(hours=5), policy=policy)
        tickets.add_note(s, people["tom"], got.ticket_id, text_="Log zeigt volle Platte auf web-2.",
                         now=NOW - dt.timedelta(hours=4))
        form = replies.compose(s, people["tom"], got.ticket_id)
        sent = replies.send(s, people["tom"], got.ticket_id, to=form.to, subject=form.subject,
                            body="Guten Tag,\n\nder Speicher war voll; der Shop läuft wieder.\n\n" + form.body,
                            answering_id=form.answering_id, now=NOW - dt.timedelta(hours=3))
        mail_in.receive(s, people["system"], _mail(
            "Ivo Moring <ivo@moring.example>", f"Re: [#{got.ticket_number}] Shop zeigt Fehler 500", "s2@moring.example",
            "Danke! Die Bilder fehlen aber noch.", headers=f"In-Reply-To: {sent.message_id}\r\n"),
            now=NOW - dt.timedelta(hours=2), policy=policy)
        mail_in.receive(s, people["system"], _mail(
            "Agentur Nord <info@nord.example>", f"Re: [#{got.ticket_number}] Shop", "s3@nord.example",
            "Wir übernehmen ab jetzt die Betreuung."), now=NOW - dt.timedelta(hours=1), policy=policy)
    return make_app(engine, people["tom"]), got.ticket_number


@pytest.mark.parametrize("size", [(160, 48), (100, 30)])
def test_ticket_screen_snapshot(snap_compare, tmp_path, size):
    app, number = _desk(tmp_path)

    async def act(pilot):
        await settle(pilot)
        await pilot.press("slash", *f"#{number}", "enter")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=act)
