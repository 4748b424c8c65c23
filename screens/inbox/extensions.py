"""Extension requests in the inbox: ``e`` files one, ``a``/``x`` decide one (admin channel).

Whether the agent may decide is the service's answer (``ExtensionView.may_decide``), shown
greyed; pressing the greyed key says why not (``decide_refused``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import work
from textual.screen import Screen

from deskapp.formatting import date_de

from ..messages import TicketsChanged

if TYPE_CHECKING:  # annotations only: the first frame comes before SQLAlchemy is imported
    from deskapp.services.extensions import ExtensionView
    from deskapp.services.ticket_detail import TicketDetail


class ExtensionActions(Screen):
    """Mixin of ``InboxScreen``: the extension request of the ticket under the cursor."""

    current: TicketDetail | None  # the screen's, as are _current_row() and reload()

    def _extension_shown(self) -> ExtensionView | None:
        """The extension request of the ticket under the cursor, as last loaded."""
        detail, row = self.current, self._current_row()
        if detail is None or row is None or detail.row.id != row.id:
            return None
        return detail.extension

    def _extension_action_state(self, action: str) -> bool | None:
        """``check_action`` for approve/deny/decide_refused: hidden, greyed or offered."""
        request = self._extension_shown()
        if request is None:
            return False
        if action == "decide_refused":  # the greyed a/x explain themselves when pressed
            return not request.waiting or request.may_decide is not None
        if not request.waiting:
            return False
        # Greyed for whoever may not decide now; the service refuses them anyway.
        return True if request.may_decide is None else None

    def action_approve(self) -> None:
        from ..dialogs.choice import ChoiceDialog

        request = self._extension_shown()
        if request is None:
            return
        title = (f"Antrag #{request.request_id} genehmigen? {request.customer_name}: gültig bis "
                 f"{date_de(request.old_valid_until)} → {date_de(request.proposal)}")

        def confirmed(value: str | None) -> None:
            if value == "yes":
                self._decide_extension(request, approve=True)

        choices = [("yes", "Ja, genehmigen (Kunde wird informiert)"), ("no", "Nein")]
        self.app.push_screen(ChoiceDialog(title, choices), confirmed)

    def action_deny(self) -> None:
        from ..dialogs.note import NoteDialog

        request = self._extension_shown()
        if request is None:
            return

        def save(reason: str | None) -> None:
            if reason:
                self._decide_extension(request, approve=False, reason=reason)

        self.app.push_screen(
            NoteDialog(
                f"Antrag #{request.request_id} ({request.customer_name}) ablehnen",
                explain=f"Begründung — {request.requested_by} sieht sie, die Kundenakte hält sie fest.",
                empty_message="Ohne Begründung wird nicht abgelehnt.",
                save_label="ablehnen",
            ),
            save,
        )

    def action_decide_refused(self) -> None:
        from ..extension_text import extension_refusal

        request = self._extension_shown()
        if request is not None:
            self.notify(extension_refusal(request), severity="warning", timeout=8)

    @work(thread=True, group="write", exit_on_error=False)
    def _decide_extension(self, request: ExtensionView, *, approve: bool, reason: str = "") -> None:
        """One decision; a refusal (decided meanwhile, not allowed) raises: a warning."""
        app = self.app
        agent, now, policy = app.agent, app.now(), app.policy

        def run(session):
            from deskapp.services import extensions
            return extensions.decide(session, agent, request_id=request.request_id, approve=approve,
                                     reason=reason, now=now, policy=policy)

        result = app.write(run)
        if approve:
            done = (f"Antrag #{result.request_id} genehmigt: {request.customer_name} gültig bis "
                    f"{date_de(result.valid_until)}; der Kunde wird informiert.")
        else:
            done = f"Antrag #{result.request_id} abgelehnt; {request.requested_by} sieht die Begründung."
        self.post_message(TicketsChanged(done))

    def action_extension(self) -> None:
        from ..dialogs.extension import ExtensionForm, filed_text, linked_task_id

        row = self._current_row()
        if row is None:
            return
        if row.customer_id is None:
            self.notify(f"#{row.number} hat keinen Kunden.", severity="warning")
            return
        task_id = None
        detail = self.current
        if detail is not None and detail.row.id == row.id:
            task_id = linked_task_id(detail)

        def filed(result) -> None:
            if result is not None:
                self.notify(filed_text(result), timeout=8)
                self.reload()

        self.app.push_screen(ExtensionForm(customer_id=row.customer_id, task_id=task_id), filed)
