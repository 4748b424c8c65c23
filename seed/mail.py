"""The demo's mail (docs/rules.md#mail): customers' messages piped in as raw RFC 5322 text
through ``mail_in.receive``, the desk's replies through ``replies.send`` (the outbox), the
customers' answers threading back by ``In-Reply-To``.

The stories: a thread with a reply and the customer's answer (reopened); an unknown sender
(no customer); an HTML-only mail; a reply answered by an auto-reply; a reply that bounced;
a mail with an attachment; the customer's mail asking for a budget extension. Message-IDs
of incoming mail are fixed, so the demo is the same every time (the desk's own Message-IDs
are random, as in real use).
"""

from __future__ import annotations

import base64
import datetime as dt
import email.utils
from typing import Callable

from sqlmodel import Session

from deskapp.services import mail_in, replies
from deskapp.services.readmodels import AgentRef
from deskapp.settings import Policy

DESK = "support@agentur.example"
# A tiny PNG (1×1 pixel), the "screenshot" of the attachment story.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def raw_mail(
    *, sender: str, subject: str, msgid: str, when: dt.datetime, body: str = "", html: str = "",
    headers: dict[str, str] | None = None, attachment: tuple[str, str, bytes] | None = None,
) -> bytes:
    """One message as a mail server hands it over."""
    head = [
        f"From: {sender}", f"To: Support <{DESK}>", f"Subject: {subject}", f"Message-ID: <{msgid}>",
        f"Date: {email.utils.format_datetime(when)}", "MIME-Version: 1.0",
    ]
    head += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if attachment is None:
        kind, text = ("text/html", html) if html else ("text/plain", body)
        head.append(f"Content-Type: {kind}; charset=utf-8")
        head.append("Content-Transfer-Encoding: 8bit")
        return ("\r\n".join(head) + "\r\n\r\n" + text.replace("\n", "\r\n") + "\r\n").encode("utf-8")
    name, ctype, data = attachment
    encoded = base64.encodebytes(data).decode("ascii").replace("\n", "\r\n")
    head.append('Content-Type: multipart/mixed; boundary="demo-boundary"')
    parts = (
        "--demo-boundary\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        + body.replace("\n", "\r\n")
        + f"\r\n--demo-boundary\r\nContent-Type: {ctype}\r\nContent-Transfer-Encoding: base64\r\n"
        f'Content-Disposition: attachment; filename="{name}"\r\n\r\n{encoded}\r\n--demo-boundary--\r\n'
    )
    return ("\r\n".join(head) + "\r\n\r\n" + parts).encode("utf-8")


def bounce_of(*, original_id: str, recipient: str, msgid: str, when: dt.datetime) -> bytes:
    """A delivery status report (RFC 3464) saying the desk's mail ``original_id`` bounced."""
    return (
        f"From: Mail Delivery System <MAILER-DAEMON@mx.agentur.example>\r\nTo: {DESK}\r\n"
        f"Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <{msgid}>\r\n"
        f"Date: {email.utils.format_datetime(when)}\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        f"Die Nachricht an <{recipient}> konnte nicht zugestellt werden: Postfach unbekannt.\r\n"
        "--b\r\nContent-Type: message/delivery-status\r\n\r\n"
        f"Reporting-MTA: dns; mx.agentur.example\r\n\r\nFinal-Recipient: rfc822; {recipient}\r\n"
        "Action: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 User unknown\r\n"
        f"--b\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: {DESK}\r\nTo: {recipient}\r\n"
        f"Message-ID: {original_id}\r\nSubject: Ihre Anfrage\r\n--b--\r\n"
    ).encode("utf-8")


class MailStories:
    """Writes the stories into ``session`` (one caller transaction, as the demo does)."""

    def __init__(self, session: Session, people: dict[str, AgentRef], policy: Policy,
                 moment: Callable[..., dt.datetime]) -> None:
        self.s = session
        self.people = people
        self.policy = policy
        self.ago = moment  # demo.ago(days=…, hours=…): a moment before now

    def receive(self, raw: bytes, when: dt.datetime):
        return mail_in.receive(self.s, self.people["system"], raw, now=when, policy=self.policy)

    def reply(self, agent: str, got, text: str, when: dt.datetime, *, status: str = ""):
        form = replies.compose(self.s, self.people[agent], got.ticket_id)
        return replies.send(self.s, self.people[agent], got.ticket_id, to=form.to, subject=form.subject,
                            body=f"{text}\n\n{form.body.strip()}", answering_id=form.answering_id, status=status,
                            now=when)

    def thread_with_answer(self, name: str, address: str) -> None:
        """Customer asks, tom answers, the customer answers back: the ticket is open again."""
        t0 = self.ago(days=3, hours=5)
        got = self.receive(raw_mail(
            sender=f"{name} <{address}>", subject="Webseite lädt sehr langsam", msgid="demo-thread-1@kunde.example",
            when=t0, body="Hallo,\n\nseit gestern lädt unsere Startseite über zehn Sekunden.\n"
                          "Können Sie bitte nachsehen?\n\nViele Grüße\n" + name,
        ), t0)
        sent = self.reply("tom", got, "Guten Tag,\n\nwir haben den Cache neu aufgebaut. Ist es jetzt besser?\n\n"
                                      "Viele Grüße\nTom Berger", self.ago(days=3, hours=2))
        t2 = self.ago(days=2, hours=20)
        self.receive(raw_mail(
            sender=f"{name} <{address}>", subject=f"Re: {sent_subject(self.s, sent)}",
            msgid="demo-thread-2@kunde.example", when=t2,
            headers={"In-Reply-To": sent.message_id, "References": f"<demo-thread-1@kunde.example> {sent.message_id}"},
            body="Danke, deutlich schneller! Nur die Bilder in der Galerie hängen noch.\n\n" + name,
        ), t2)

    def unknown_sender(self) -> None:
        t = self.ago(days=1, hours=6)
        self.receive(raw_mail(
            sender="Jana Wolff <jana.wolff@freemail.example>", subject="Angebot für Hosting und Pflege?",
            msgid="demo-unknown-1@freemail.example", when=t,
            body="Guten Tag,\n\nwir sind ein kleiner Verein und suchen jemanden für Hosting und Pflege "
                 "unserer Webseite. Machen Sie so etwas?\n\nFreundliche Grüße\nJana Wolff",
        ), t)

    def html_only(self, name: str, address: str) -> None:
        t = self.ago(days=2, hours=3)
        self.receive(raw_mail(
            sender=f"{name} <{address}>", subject="Kontaktformular sendet nichts", msgid="demo-html-1@kunde.example",
            when=t, html="<html><head><style>p{color:red}</style></head><body><p>Hallo Support-Team,</p>"
                         "<p>unser <b>Kontaktformular</b> verschickt seit Montag keine Mails mehr. "
                         "Hier die Seite: <a href=\"https://www.beispiel.example/kontakt\">Kontakt</a></p>"
                         f"<p>Danke!<br>{name}</p></body></html>",
        ), t)

    def auto_reply(self, name: str, address: str) -> None:
        t0 = self.ago(days=4, hours=4)
        got = self.receive(raw_mail(
            sender=f"{name} <{address}>", subject="Neue Weinkarte online stellen", msgid="demo-auto-1@kunde.example",
            when=t0, body="Hallo,\n\nbitte stellen Sie die neue Weinkarte (kommt per Post) online.\n\n" + name,
        ), t0)
        sent = self.reply("lena", got, "Guten Tag,\n\ngern – sobald die Karte da ist, stellen wir sie online.\n\n"
                                       "Viele Grüße\nLena", self.ago(days=4, hours=1))
        t2 = self.ago(days=4)
        self.receive(raw_mail(
            sender=f"{name} <{address}>", subject=f"Abwesend: {sent_subject(self.s, sent)}",
            msgid="demo-auto-2@kunde.example", when=t2,
            headers={"Auto-Submitted": "auto-replied", "In-Reply-To": sent.message_id},
            body="Ich bin bis zum Monatsende im Urlaub und lese meine Mails danach.\n\n" + name,
        ), t2)

    def bounce(self, name: str, address: str, wrong: str) -> None:
        t0 = self.ago(days=5, hours=6)
        got = self.receive(raw_mail(
            sender=f"{name} <{address}>", subject="Neue Rechnungsadresse für die Praxis", msgid="demo-bounce-1@kunde.example",
            when=t0, body="Hallo,\n\nbitte schicken Sie die Rechnungen künftig an buchhaltung@… – "
                          "die genaue Adresse reiche ich nach.\n\n" + name,
        ), t0)
        form = replies.compose(self.s, self.people["tom"], got.ticket_id)
        sent = replies.send(self.s, self.people["tom"], got.ticket_id, to=wrong, subject=form.subject,
                            body="Guten Tag,\n\nbitte bestätigen Sie die neue Rechnungsadresse.\n\nTom Berger",
                            answering_id=form.answering_id, now=self.ago(days=5, hours=3))
        t2 = self.ago(days=5, hours=2)
        self.receive(bounce_of(original_id=sent.message_id, recipient=wrong, msgid="demo-bounce-2@mx.example",
                               when=t2), t2)

    def attachment(self, name: str, address: str) -> None:
        t = self.ago(hours=5)
        self.receive(raw_mail(
            sender=f"{name} <{address}>", subject="Fehlermeldung im Kundenportal", msgid="demo-attach-1@kunde.example",
            when=t, body="Hallo,\n\nbeim Login erscheint die Meldung im Anhang.\n\n" + name,
            attachment=("fehlermeldung.png", "image/png", PNG),
        ), t)

    def extension_request(self, name: str, address: str, body: str) -> None:
        """The customer asks by mail for the budget to be extended: a Support ticket (``e`` opens the form)."""
        t = self.ago(days=1, hours=3)
        self.receive(raw_mail(
            sender=f"{name} <{address}>", subject="Verlängerung Stundenbudget – läuft bald ab",
            msgid="demo-extension-1@kunde.example", when=t, body=body,
        ), t)


def sent_subject(session: Session, sent) -> str:
    """The subject the customer saw on the desk's mail (with its tag)."""
    from models.tables import OutgoingMail

    return session.get(OutgoingMail, sent.mail_id).subject


__all__ = ["MailStories", "bounce_of", "raw_mail"]
