"""A ticket opened by hand (key ``N`` in the inbox): a phone call, a visitor.

Queue, customer (or none), priority, subject and text, written through
``deskapp.services.ticket_intake.open_by_hand``; the result is the new ``TicketRow``.
The customer is picked by search, keyboard only: typing searches live (debounced,
``deskapp.services.customers.search`` in a thread worker), ↑/↓ move in the hits while the
field keeps the focus, Enter takes the highlighted one; an empty field means no customer.
"""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.timer import Timer
from textual.widgets import Input, Label, OptionList, Select, Static, TextArea
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from deskapp import texts
from deskapp.services.readmodels import CustomerHit
from deskapp.services.ticket_intake import HAND_QUEUES
from models.enums import Priority, Queue

from ..forms import FieldError, FormDialog
from ..messages import CustomersFound

HIT_LIMIT = 8
DEBOUNCE_SECONDS = 0.2

MSG_PICK_CUSTOMER = "Bitte einen Kunden aus der Liste wählen (↑↓, Enter) – oder das Feld leeren: ohne Kunde."
NO_HITS = "Keine Treffer"
NO_CUSTOMER = "ohne Kunde"


def customer_label(hit: CustomerHit) -> str:
    return f"{hit.name} ({hit.number})"


class NewTicketDialog(FormDialog):
    """Key ``N`` in the inbox; ``queue`` is the one the inbox shows (if a hand-made ticket may go there)."""

    AUTO_FOCUS = "#customer"
    DEFAULT_CSS = FormDialog.DEFAULT_CSS + """
    NewTicketDialog .dialog { width: 80; }
    NewTicketDialog #customer-hits { margin-left: 15; max-height: 8; }
    NewTicketDialog #customer-chosen { padding-left: 15; color: $text-muted; height: auto; }
    """
    BINDINGS = [
        *FormDialog.BINDINGS,
        Binding("down", "move_hit(1)", "Nächster Treffer", show=False),
        Binding("up", "move_hit(-1)", "Vorheriger Treffer", show=False),
    ]
    FIELDS = {"queue": "queue", "priority": "priority", "subject": "subject", "text": "text"}
    INVALID_FIELD = None
    ENTER_ORDER = ("subject",)

    def __init__(self, *, queue: str | None = None) -> None:
        super().__init__()
        values = [q.value for q in HAND_QUEUES]
        self.queue = queue if queue in values else Queue.SUPPORT.value
        self.chosen: CustomerHit | None = None
        self._hits: list[CustomerHit] = []
        self._debounce: Timer | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Neues Ticket", classes="title")
            yield from self.field_row("Queue", "queue", Select(
                [(texts.QUEUE[q], q.value) for q in HAND_QUEUES], allow_blank=False, value=self.queue, id="queue",
            ))
            yield from self.field_row("Kunde", "customer", Input(
                placeholder="Name, Kundennummer oder ID – leer: ohne Kunde", id="customer",
            ))
            yield OptionList(id="customer-hits")
            yield Static(NO_CUSTOMER, id="customer-chosen")
            yield from self.field_row("Priorität", "priority", Select(
                [(texts.PRIORITY[p].capitalize(), int(p)) for p in Priority], allow_blank=False,
                value=int(Priority.NORMAL), id="priority",
            ))
            yield from self.field_row("Betreff", "subject", Input(id="subject"))
            yield Label("Text")
            yield TextArea(id="text")
            yield Static("", id="text-error", classes="field-error")
            yield Static("", id="form-error")
            yield Static("Strg+S anlegen · Esc abbrechen · Kunde: tippen, ↑↓ wählen, Enter übernehmen",
                         classes="hint")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#customer-hits", OptionList).display = False

    # -- the customer picker ------------------------------------------------------------

    @on(Input.Changed, "#customer")
    def _typed(self, event: Input.Changed) -> None:
        if self.chosen is not None and event.value == customer_label(self.chosen):
            return  # the field shows the choice just made
        self.chosen = None
        self.query_one("#customer-chosen", Static).update(NO_CUSTOMER)
        if self._debounce is not None:
            self._debounce.stop()
        query = event.value.strip()
        if not query:
            self._hits = []
            self.query_one("#customer-hits", OptionList).display = False
            return
        self._debounce = self.set_timer(DEBOUNCE_SECONDS, lambda: self._search(query))

    @work(thread=True, exclusive=True, group="customer-search", exit_on_error=False)
    def _search(self, query: str) -> None:
        from deskapp.services import customers

        hits = self.app.read(lambda s: customers.search(s, query, limit=HIT_LIMIT))
        if not get_current_worker().is_cancelled:
            self.post_message(CustomersFound(query, hits))

    @on(CustomersFound)
    def _show_hits(self, event: CustomersFound) -> None:
        field = self.query_one("#customer", Input)
        if self.chosen is not None or event.query != field.value.strip():
            return  # chosen meanwhile, or the agent typed on
        self._hits = list(event.hits)
        hits = self.query_one("#customer-hits", OptionList)
        hits.clear_options()
        if self._hits:
            hits.add_options(Option(f"{customer_label(h)}  {h.email or ''}".rstrip(), id=str(h.id))
                             for h in self._hits)
            hits.highlighted = 0
        else:
            hits.add_option(Option(NO_HITS, disabled=True))
        hits.display = True

    def action_move_hit(self, step: int) -> None:
        hits = self.query_one("#customer-hits", OptionList)
        if not hits.display or not self._hits:
            return
        current = hits.highlighted or 0
        hits.highlighted = max(0, min(len(self._hits) - 1, current + step))

    @on(Input.Submitted, "#customer")
    def _take_hit(self, event: Input.Submitted) -> None:
        event.stop()
        hits = self.query_one("#customer-hits", OptionList)
        if event.value.strip() and self.chosen is None:
            if not (hits.display and self._hits):
                return  # the hits are still on their way
            self._choose(self._hits[hits.highlighted or 0])
        self.set_focus(self.query_one("#priority", Select))

    @on(OptionList.OptionSelected, "#customer-hits")
    def _clicked(self, event: OptionList.OptionSelected) -> None:
        if event.option_index < len(self._hits):
            self._choose(self._hits[event.option_index])

    def _choose(self, hit: CustomerHit) -> None:
        self.chosen = hit
        self.query_one("#customer", Input).value = customer_label(hit)
        self.query_one("#customer-hits", OptionList).display = False
        self.query_one("#customer-chosen", Static).update(f"Kunde: {customer_label(hit)} · {hit.email or '–'}")
        self.query_one("#customer-error", Static).display = False

    # -- saving -------------------------------------------------------------------------

    def prepare(self):
        from deskapp.services import ticket_intake

        if self.query_one("#customer", Input).value.strip() and self.chosen is None:
            raise FieldError("customer", MSG_PICK_CUSTOMER)
        queue = self.query_one("#queue", Select).value
        priority = self.query_one("#priority", Select).value
        subject = self.query_one("#subject", Input).value
        text = self.query_one("#text", TextArea).text
        customer_id = self.chosen.id if self.chosen else None
        app = self.app

        def job(session):
            return ticket_intake.open_by_hand(
                session, app.agent, queue=queue, subject=subject, text=text, priority=priority,
                customer_id=customer_id, now=app.now(),
            )

        return job


__all__ = ["NewTicketDialog", "customer_label"]
