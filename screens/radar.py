"""The budget radar (key ``R`` in the inbox, or the palette): whose budget expires soon.

Keys ``1``/``2``/``3`` choose the horizon (the policy's ``radar_horizons_days``, by default
30/90/180 days); Enter opens the customer's card; the list pages on as the cursor reaches
its end. Reading is one service call in a thread worker.
"""

from __future__ import annotations

import datetime as dt

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static
from textual.worker import get_current_worker

from deskapp.formatting import date_de, hhmm, today_berlin
from deskapp.services import radar as radar_service

from .messages import RadarLoaded, WorkerFailed
from .styles import inert_cell
from .workers import WorkerNotices

RADAR_CSS = """
RadarScreen #radar-tabs { height: 1; padding: 0 1; }
RadarScreen #radar-title { height: 1; padding: 0 1; color: $text-muted; }
RadarScreen #radar { height: 1fr; }
RadarScreen #radar-empty { color: $text-muted; padding: 1 2; }
"""


# Column widths; the customer's name takes what the terminal leaves (between these bounds).
COLUMNS_BEFORE = (("Verfall am", "expiry", 10), ("Noch", "days", 8))
COLUMNS_AFTER = (
    ("Nr.", "number", 7), ("Verfällt", "expiring", 8), ("Danach", "horizon", 8), ("Gültig", "valid", 7),
    ("Blockiert", "blocked", 9), ("Verfallen", "expired", 9),
)
CUSTOMER_WIDTH = (14, 32)


def _customer_width(screen_width: int) -> int:
    fixed = sum(w for _, _, w in COLUMNS_BEFORE + COLUMNS_AFTER)
    padding = 2 * (len(COLUMNS_BEFORE) + len(COLUMNS_AFTER) + 1) + 2  # cell padding and the scrollbar
    low, high = CUSTOMER_WIDTH
    return max(low, min(high, screen_width - fixed - padding))


class RadarTable(DataTable):
    """The list; Enter opens the customer's card, and the footer says so."""

    BINDINGS = [Binding("enter", "select_cursor", "Kundenkarte", id="radar.open")]


def _days_text(days: int) -> str:
    if days == 0:
        return "heute"
    return "1 Tag" if days == 1 else f"{days} Tage"


class RadarScreen(WorkerNotices, Screen[None]):
    DEFAULT_CSS = RADAR_CSS
    HELP_TITLE = "Budget-Radar"
    BINDINGS = [
        Binding("escape", "back", "Zurück", id="radar.back"),
        Binding("enter", "open_customer", "Kundenkarte", show=False),
        Binding("1", "horizon(0)", "1. Zeitraum", show=False),
        Binding("2", "horizon(1)", "2. Zeitraum", show=False),
        Binding("3", "horizon(2)", "3. Zeitraum", show=False),
        Binding("r", "refresh", "Aktualisieren", id="radar.refresh", show=False),
        Binding("j", "cursor_down", "Runter", show=False),
        Binding("k", "cursor_up", "Hoch", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.horizon_index = 0
        self.rows: list[radar_service.RadarRow] = []
        self.total: int | None = None
        self._more = False
        self._paging = False
        self._customer_width: int | None = None

    @property
    def horizons(self) -> tuple[int, ...]:
        return radar_service.horizons(self.app.policy)

    @property
    def horizon(self) -> int:
        return self.horizons[self.horizon_index]

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical():
            yield Static("", id="radar-tabs")
            yield Static("", id="radar-title")
            yield RadarTable(id="radar", cursor_type="row", zebra_stripes=True)
            yield Static("", id="radar-empty")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Budget-Radar"
        table = self.query_one("#radar", DataTable)
        self._build_columns()
        self.query_one("#radar-empty").display = False
        table.focus()
        self._show_tabs()
        self.load()

    def _build_columns(self) -> None:
        self._customer_width = _customer_width(self.app.size.width)
        table = self.query_one("#radar", DataTable)
        table.clear(columns=True)
        for label, key, width in (*COLUMNS_BEFORE, ("Kunde", "customer", self._customer_width), *COLUMNS_AFTER):
            table.add_column(label, key=key, width=width)
        for row in self.rows:
            table.add_row(*self._cells(row), key=str(row.customer_id))

    def on_resize(self, event) -> None:
        if self._customer_width != _customer_width(self.app.size.width):
            keep = self.query_one("#radar", DataTable).cursor_row
            self._build_columns()
            table = self.query_one("#radar", DataTable)
            if table.row_count:
                table.move_cursor(row=min(keep, table.row_count - 1), animate=False)

    def on_screen_resume(self) -> None:
        if self.rows or self.total is not None:
            self.load()  # back from a card: a booking may have changed the picture

    # ------------------------------------------------------------------ loading

    def load(self) -> None:
        self._more = False
        self._load(self.horizon, None)

    @work(thread=True, exclusive=True, group="radar", exit_on_error=False)
    def _load(self, horizon: int, after) -> None:
        app = self.app
        policy, today, size = app.policy, today_berlin(app.now()), app.policy.inbox_page_size

        def fetch(session):
            rows = radar_service.radar(session, today=today, horizon_days=horizon, policy=policy, limit=size,
                                       after=after)
            total = None if after else radar_service.radar_count(session, today=today, horizon_days=horizon,
                                                                 policy=policy)
            return rows, total

        rows, total = app.read(fetch)
        if not get_current_worker().is_cancelled:
            self.post_message(RadarLoaded(horizon, rows, total, appended=after is not None, more=len(rows) >= size))

    @on(RadarLoaded)
    def _show(self, event: RadarLoaded) -> None:
        horizon, rows, total, appended, more = event.horizon, event.rows, event.total, event.appended, event.more
        if horizon != self.horizon:
            return
        self._paging = False
        self._more = more
        table = self.query_one("#radar", DataTable)
        if appended:
            self.rows.extend(rows)
        else:
            keep = table.cursor_row
            self.rows = list(rows)
            self.total = total
            table.clear()
        for row in rows:
            table.add_row(*self._cells(row), key=str(row.customer_id))
        if not appended and table.row_count:
            table.move_cursor(row=min(keep, table.row_count - 1), animate=False)
        table.display = bool(self.rows)
        empty = self.query_one("#radar-empty", Static)
        empty.update(f"Kein Kunde mit Restbudget, das in den nächsten {horizon} Tagen verfällt.")
        empty.display = not self.rows
        count = "…" if self.total is None else str(self.total)
        self.query_one("#radar-title", Static).update(
            f"{count} Kunden mit Budget, das bis {date_de(today_berlin(self.app.now()) + dt.timedelta(days=horizon))} verfällt"
            f" · {len(self.rows)} angezeigt · Enter: Kundenkarte"
        )

    def _show_tabs(self) -> None:
        parts = []
        for i, days in enumerate(self.horizons):
            label = f" {i + 1} · {days} Tage "
            parts.append((label, "bold reverse" if i == self.horizon_index else "dim"))
            parts.append("  ")
        self.query_one("#radar-tabs", Static).update(Text.assemble(*parts))

    @staticmethod
    def _cells(row: radar_service.RadarRow) -> list:
        soon = row.days_left <= 30
        style = "bold red" if row.days_left <= 7 else ("yellow" if soon else "")
        return [
            Text(date_de(row.next_expiry), style=style),
            Text(_days_text(row.days_left), justify="right", style=style),
            inert_cell(row.customer_name),
            inert_cell(row.customer_number),
            Text(hhmm(row.expiring_minutes), justify="right", style="bold"),
            # What else is lost later in the horizon (not the next expiry again): "–" when nothing.
            Text(hhmm(row.horizon_minutes - row.expiring_minutes)
                 if row.horizon_minutes > row.expiring_minutes else "–", justify="right"),
            Text(hhmm(row.valid_minutes), justify="right"),
            Text(hhmm(row.blocked_minutes), justify="right"),
            Text(hhmm(row.expired_minutes), justify="right", style="yellow" if row.expired_minutes else ""),
        ]

    @on(DataTable.RowHighlighted)
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        table = self.query_one("#radar", DataTable)
        if self._more and not self._paging and self.rows and table.cursor_row >= table.row_count - 1:
            self._paging = True
            self._load(self.horizon, self.rows[-1].key)

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        self.action_open_customer()

    @on(WorkerFailed)
    def _failed(self, _event: WorkerFailed) -> None:
        self._paging = False  # the next page may be asked for again

    # ------------------------------------------------------------------ actions

    def action_back(self) -> None:
        self.dismiss(None)

    def action_refresh(self) -> None:
        self.load()

    def action_horizon(self, index: int) -> None:
        if index >= len(self.horizons) or index == self.horizon_index:
            return
        self.horizon_index = index
        self.total = None
        self._show_tabs()
        self.query_one("#radar", DataTable).move_cursor(row=0, animate=False)
        self.load()

    def action_open_customer(self) -> None:
        table = self.query_one("#radar", DataTable)
        if not self.rows or not table.row_count:
            return
        row = self.rows[min(table.cursor_row, len(self.rows) - 1)]
        self.app.open_customer(row.customer_id)

    def action_cursor_down(self) -> None:
        self.query_one("#radar", DataTable).action_cursor_down()

    def action_cursor_up(self) -> None:
        self.query_one("#radar", DataTable).action_cursor_up()


__all__ = ["RadarScreen"]
