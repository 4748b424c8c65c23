"""Held orders (contract processing) and registry failures (Technik) in the inbox.

``a`` release, ``x`` reject, ``K`` contact the customer, ``W`` retry. Whether a ticket's
order waits for one of them is the service's rule (``orders.order_action_applies``); who
may take it is decided when it is taken (a refusal comes back as a warning).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import work
from textual.screen import Screen

from deskapp.formatting import money
from models.enums import OrderStatus

from ..messages import TicketsChanged
from .detail import order_name

if TYPE_CHECKING:  # annotations only: the first frame comes before SQLAlchemy is imported
    from deskapp.services.orders import HeldOrderView
    from deskapp.services.ticket_detail import TicketDetail


class HeldOrderActions(Screen):
    """Mixin of ``InboxScreen``: the decisions on the order of the ticket under the cursor."""

    current: TicketDetail | None  # the screen's, as is _current_row()

    def _order_shown(self, action: str) -> HeldOrderView | None:
        """The order of the ticket under the cursor, if ``action`` applies to it now."""
        detail, row = self.current, self._current_row()
        if detail is None or row is None or detail.row.id != row.id or detail.order is None:
            return None
        # Loaded with the detail already (tickets.detail reads orders): no import on the first frame.
        from deskapp.services.orders import order_action_applies

        order = detail.order
        applies = order_action_applies(action, ticket_kind=detail.row.kind, order_status=order.status)
        return order if applies else None

    def action_release(self) -> None:
        from ..dialogs.choice import ChoiceDialog

        order = self._order_shown("release")
        if order is None:
            return
        over = f" – {money(order.over_limit)} über dem Limit" if order.over_limit > 0 else ""
        title = f"{order_name(order)} über {money(order.amount)} freigeben?{over}"

        def confirmed(value: str | None) -> None:
            if value == "yes":
                self._decide("release", order)

        self.app.push_screen(
            ChoiceDialog(title, [("yes", "Ja, jetzt bei der Vergabestelle ausführen"), ("no", "Nein")]),
            confirmed,
        )

    def action_reject(self) -> None:
        from ..dialogs.note import NoteDialog

        order = self._order_shown("reject")
        if order is None:
            return

        def save(reason: str | None) -> None:
            if reason:
                self._decide("reject", order, reason=reason)

        self.app.push_screen(
            NoteDialog(
                f"{order_name(order)} ablehnen",
                explain="Begründung — der Kunde wird mit der Vorgangsnummer informiert.",
                empty_message="Ohne Begründung wird nicht abgelehnt.",
                save_label="ablehnen",
            ),
            save,
        )

    def action_contact(self) -> None:
        from ..dialogs.note import NoteDialog

        order = self._order_shown("contact")
        if order is None:
            return

        def save(note: str | None) -> None:
            if note:
                self._decide("contact", order, note=note)

        self.app.push_screen(
            NoteDialog(
                f"Kunde kontaktieren zu {order_name(order)}",
                explain="Die Rückfrage an den Kunden: sie geht per E-Mail mit der Vorgangsnummer an ihn "
                        "(seine Antwort landet in diesem Ticket); das Ticket wartet dann auf ihn.",
                empty_message="Bitte schreiben, was zu klären ist.",
                save_label="senden",
            ),
            save,
        )

    def action_retry(self) -> None:
        order = self._order_shown("retry")
        if order is not None:
            self._decide("retry", order)

    @work(thread=True, group="write", exit_on_error=False)
    def _decide(self, action: str, order: HeldOrderView, **kwargs) -> None:
        """One decision; a refusal (someone was first) raises and is said as a warning."""
        app = self.app
        agent, now, policy = app.agent, app.now(), app.policy

        def run(session):
            from deskapp.services import orders

            from ..dialogs.order import order_registry
            if action == "release":
                return orders.release_order(session, agent, order_id=order.order_id, now=now, policy=policy,
                                            registry=order_registry(app))
            if action == "reject":
                return orders.reject_order(session, agent, order_id=order.order_id, reason=kwargs["reason"],
                                           now=now)
            if action == "contact":
                return orders.contact_customer(session, agent, order_id=order.order_id, note=kwargs["note"],
                                               now=now)
            return orders.retry_order(session, agent, order_id=order.order_id, now=now, policy=policy,
                                      registry=order_registry(app))

        result = app.write(run)
        self.post_message(TicketsChanged(decision_text(action, order, result)))


def decision_text(action: str, order: HeldOrderView, result) -> str:
    name = order_name(order)
    if action == "reject":
        return f"{name} abgelehnt; der Kunde wird informiert."
    if action == "contact":
        return f"{name}: Rückfrage per E-Mail an den Kunden, Ticket wartet auf ihn."
    status = getattr(result, "status", None)
    if status == OrderStatus.FAILED:
        ticket = getattr(result, "ticket_number", None)
        where = f" – Technik-Ticket #{ticket}" if ticket else ""
        return f"{name}: Vergabestelle hat nicht ausgeführt{where}."
    if status == OrderStatus.PENDING:
        return f"{name}: an die Vergabestelle gesendet, Antwort steht noch aus (in Ausführung)."
    if status == OrderStatus.HELD:
        return f"{name}: wieder angehalten – Vorgangsnummer {getattr(result, 'process_number', '')}."
    if action == "release":
        return f"{name} freigegeben und ausgeführt; der Kunde wird informiert."
    return f"{name}: erneut gesendet und ausgeführt."
