"""The reply composer (docs/rules.md#mail-replies): address, subject with the ticket's tag,
the status afterwards, and the text under which the answered message is quoted.

``ctrl+s`` sends through ``deskapp.services.replies.send`` (the outbox); a refusal is shown
in the composer and nothing is sent. ``esc`` keeps the draft (``replies.save_draft``) and
closes; ``ctrl+d`` throws the draft away. The result is the ``ReplySent`` or None.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Select, Static, TextArea

from deskapp import texts
from models.enums import TicketStatus

from ..messages import WorkerFailed
from ..workers import WorkerNotices

if TYPE_CHECKING:  # annotations only
    from deskapp.services.replies import ReplyForm, ReplySent

MSG_DRAFT_KEPT = "Entwurf zu #{number} gespeichert."
MSG_DRAFT_DROPPED = "Entwurf zu #{number} verworfen."
MSG_ASK_ADDRESS = "Das Ticket hat keinen Kunden: bitte die Empfängeradresse eingeben."
MSG_FROM_DRAFT = "Ihr gespeicherter Entwurf."


class ReplyComposer(WorkerNotices, ModalScreen):
    WRITE_GROUPS = frozenset({"send", "draft"})
    QUIET_GROUPS = frozenset({"send"})  # a refusal is shown in the composer
    DEFAULT_CSS = """
    ReplyComposer { align: center middle; }
    ReplyComposer > Vertical {
        width: 96%; max-width: 120; height: 94%;
        border: thick $accent; background: $panel; padding: 0 1;
    }
    ReplyComposer .title { text-style: bold; height: 1; }
    ReplyComposer .row { height: 3; }
    ReplyComposer .row Label { width: 10; padding-top: 1; }
    ReplyComposer .row Input { width: 1fr; }
    ReplyComposer .row Select { width: 1fr; }
    ReplyComposer TextArea { height: 1fr; }
    ReplyComposer #composer-error { color: $error; text-style: bold; height: auto; }
    ReplyComposer .hint { color: $text-muted; height: 1; }
    """
    BINDINGS = [
        Binding("ctrl+s", "send", "Senden", priority=True),
        Binding("escape", "keep", "Entwurf behalten"),
        Binding("ctrl+d", "discard", "Entwurf verwerfen", priority=True),
    ]

    class Done(Message, bubble=False):
        def __init__(self, result) -> None:
            super().__init__()
            self.result = result

    def __init__(self, form: ReplyForm, *, ticket_subject: str = "") -> None:
        super().__init__()
        self.form = form
        self._ticket_subject = ticket_subject
        self._leaving = False

    def compose(self) -> ComposeResult:
        form = self.form
        statuses = [(texts.STATUS[s], s.value) for s in TicketStatus if s != TicketStatus.NEW]
        with Vertical() as box:
            box.border_title = f"Antwort auf #{form.ticket_number}"
            box.border_subtitle = "Strg+S senden · Esc Entwurf behalten · Strg+D Entwurf verwerfen"
            hint = MSG_FROM_DRAFT if form.from_draft else ""
            if not form.to:
                hint = MSG_ASK_ADDRESS
            yield Static(hint, classes="hint", id="composer-hint")
            with Horizontal(classes="row"):
                yield Label("An")
                yield Input(form.to, id="to", placeholder="name@beispiel.de")
            with Horizontal(classes="row"):
                yield Label("Betreff")
                yield Input(form.subject, id="subject")
            with Horizontal(classes="row"):
                yield Label("Danach")
                yield Select(statuses, value=form.status or TicketStatus.WAITING.value, allow_blank=False,
                             id="status")
            yield TextArea(form.body, id="body")
            yield Static("", id="composer-error")

    def on_mount(self) -> None:
        body = self.query_one("#body", TextArea)
        body.move_cursor((0, 0))
        if not self.form.to:
            self.query_one("#to", Input).focus()
        else:
            body.focus()

    def _values(self) -> dict:
        return {
            "to": self.query_one("#to", Input).value,
            "subject": self.query_one("#subject", Input).value,
            "body": self.query_one("#body", TextArea).text,
            "status": str(self.query_one("#status", Select).value or ""),
            "answering_id": self.form.answering_id,
        }

    # -- sending -------------------------------------------------------------------------

    def action_send(self) -> None:
        if self._leaving:
            return
        self.query_one("#composer-error", Static).update("")
        self._send(self._values())

    @work(thread=True, group="send", exclusive=True, exit_on_error=False)
    def _send(self, values: dict) -> None:
        from deskapp.services import replies

        app = self.app
        ticket_id = self.form.ticket_id
        result = app.write(lambda s: replies.send(s, app.agent, ticket_id, now=app.now(), **values))
        self.post_message(self.Done(result))

    @on(Done)
    def _done(self, event: Done) -> None:
        self._leaving = True
        self.dismiss(event.result)

    @on(WorkerFailed)
    def _failed(self, event: WorkerFailed) -> None:
        if event.group == "send":
            self.query_one("#composer-error", Static).update(event.text)
        elif event.group == "draft":
            self.dismiss(None)

    # -- drafts --------------------------------------------------------------------------

    def action_keep(self) -> None:
        if self._leaving:
            return
        self._leaving = True
        self._keep(self._values())

    @work(thread=True, group="draft", exclusive=True, exit_on_error=False)
    def _keep(self, values: dict) -> None:
        from deskapp.services import replies

        app = self.app
        ticket_id = self.form.ticket_id
        changed = values["body"].strip() != self.form.body.strip() or self.form.from_draft
        kept = False
        if changed:
            kept = app.write(lambda s: replies.save_draft(s, app.agent, ticket_id, now=app.now(), **values))
        if kept:
            self.app.call_from_thread(self.notify, MSG_DRAFT_KEPT.format(number=self.form.ticket_number), timeout=3)
        self.post_message(self.Done(None))

    def action_discard(self) -> None:
        if self._leaving:
            return
        self._leaving = True
        self._discard()

    @work(thread=True, group="draft", exclusive=True, exit_on_error=False)
    def _discard(self) -> None:
        from deskapp.services import replies

        app = self.app
        ticket_id = self.form.ticket_id
        app.write(lambda s: replies.discard_draft(s, app.agent, ticket_id, now=app.now()))
        self.app.call_from_thread(self.notify, MSG_DRAFT_DROPPED.format(number=self.form.ticket_number), timeout=3)
        self.post_message(self.Done(None))


__all__ = ["ReplyComposer"]
