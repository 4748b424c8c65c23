"""``ctrl+u``: find a customer by name, number or id and open the card.

Typing searches live (debounced) through ``deskapp.services.customers.search`` in a
thread worker; ↑/↓ move in the results while the input keeps focus, Enter chooses,
Esc cancels. The result is the chosen customer's id, or None.
"""

from __future__ import annotations

import uuid

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import DataTable, Input, Static
from textual.worker import get_current_worker

from deskapp.services.readmodels import CustomerHit

from .messages import CustomersFound, WorkerFailed
from .styles import inert_cell
from .workers import WorkerNotices

RESULT_LIMIT = 50


class HitTable(DataTable, can_focus=False):
    """The results. Never focused: the input keeps the keyboard, the screen moves the cursor."""


class CustomerSearchScreen(WorkerNotices, ModalScreen[uuid.UUID | None]):
    DEBOUNCE_SECONDS = 0.2
    HELP_TITLE = "Kunde suchen"
    DEFAULT_CSS = """
    CustomerSearchScreen { align: center top; }
    CustomerSearchScreen > Vertical {
        width: 96;
        height: auto;
        max-height: 80%;
        margin-top: 3;
        border: thick $accent;
        border-title-style: bold;
        background: $panel;
        padding: 0 1;
    }
    CustomerSearchScreen Input { margin: 0 0 1 0; }
    CustomerSearchScreen HitTable { height: auto; max-height: 20; }
    CustomerSearchScreen #hits-status { color: $text-muted; height: 1; }
    """
    BINDINGS = [
        Binding("escape", "cancel", "Abbrechen"),
        Binding("down", "move(1)", "Nächster", show=False),
        Binding("up", "move(-1)", "Vorheriger", show=False),
        Binding("pagedown", "move(10)", "Seite vor", show=False),
        Binding("pageup", "move(-10)", "Seite zurück", show=False),
    ]

    # A failed search is said in the status line, not as a notice (_failed).
    QUIET_GROUPS = frozenset({"customer-search"})
    FAILURE_TEXT = {"customer-search": "Suche fehlgeschlagen"}

    def __init__(self, query: str = "") -> None:
        super().__init__()
        self._initial = query
        self._query: str | None = None  # the query the shown hits belong to
        self._hits: list[CustomerHit] = []
        self._debounce: Timer | None = None
        self._choose_on_arrival: str | None = None

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Kunde suchen"
            box.border_subtitle = "↑↓ wählen · Enter öffnen · Esc abbrechen"
            yield Input(self._initial, placeholder="Name, Kundennummer oder ID", id="customer-query")
            yield HitTable(id="customer-hits", cursor_type="row", zebra_stripes=True)
            yield Static("Suche …", id="hits-status")

    def on_mount(self) -> None:
        table = self.query_one(HitTable)
        table.add_column("Name", key="name", width=34)
        table.add_column("Nr.", key="number", width=10)
        table.add_column("E-Mail", key="email", width=40)
        self.query_one(Input).focus()
        self.search(self._initial)

    # ------------------------------------------------------------------ searching

    @on(Input.Changed, "#customer-query")
    def _typed(self, event: Input.Changed) -> None:
        if self._debounce is not None:
            self._debounce.stop()
        query = event.value
        self._debounce = self.set_timer(self.DEBOUNCE_SECONDS, lambda: self.search(query))

    @work(thread=True, exclusive=True, group="customer-search", exit_on_error=False)
    def search(self, query: str) -> None:
        from deskapp.services import customers

        hits = self.app.read(lambda s: customers.search(s, query, limit=RESULT_LIMIT + 1))
        if not get_current_worker().is_cancelled:
            self.post_message(CustomersFound(query, hits))

    @on(CustomersFound)
    def _show(self, event: CustomersFound) -> None:
        if event.query != self.query_one(Input).value:
            return  # the agent typed on; the newer search is on its way
        self._query = event.query
        more = len(event.hits) > RESULT_LIMIT
        self._hits = event.hits[:RESULT_LIMIT]
        table = self.query_one(HitTable)
        table.clear()
        for hit in self._hits:
            table.add_row(inert_cell(hit.name), inert_cell(hit.number), inert_cell(hit.email), key=str(hit.id))
        table.display = bool(self._hits)
        status = self.query_one("#hits-status", Static)
        if not self._hits:
            status.update("Keine Treffer")
        elif more:
            status.update(f"mehr als {RESULT_LIMIT} Treffer — Suche verfeinern")
        else:
            status.update("1 Treffer" if len(self._hits) == 1 else f"{len(self._hits)} Treffer")
        if self._choose_on_arrival == event.query:
            self._choose_on_arrival = None
            self._choose()

    @on(WorkerFailed)
    def _failed(self, event: WorkerFailed) -> None:
        if event.group == "customer-search":
            self.query_one("#hits-status", Static).update(event.text)

    # ------------------------------------------------------------------ choosing

    def action_move(self, step: int) -> None:
        table = self.query_one(HitTable)
        if table.row_count:
            row = max(0, min(table.row_count - 1, table.cursor_row + step))
            table.move_cursor(row=row, animate=False)

    @on(Input.Submitted, "#customer-query")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self._query == event.value:
            self._choose()
            return
        # Enter before the results caught up with the typing: search now, choose on arrival.
        if self._debounce is not None:
            self._debounce.stop()
        self._choose_on_arrival = event.value
        self.search(event.value)

    def _choose(self) -> None:
        table = self.query_one(HitTable)
        if not self._hits or table.cursor_row < 0:
            self.notify("Keine Treffer — nichts zu öffnen.", severity="warning", timeout=3)
            return
        self.dismiss(self._hits[table.cursor_row].id)

    @on(DataTable.RowSelected, "#customer-hits")
    def _clicked(self, event: DataTable.RowSelected) -> None:
        self.dismiss(uuid.UUID(event.row_key.value))

    def action_cancel(self) -> None:
        self.dismiss(None)
