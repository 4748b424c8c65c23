"""The customer card's panes: the section lists and what the summary boxes show.

Rendering only (rich renderables and table cells from the ``CustomerCard`` read model);
``screens.card.CardScreen`` reads the card in a worker and puts these in place.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import datetime as dt

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from deskapp import texts
from deskapp.formatting import age_de, date_de, datetime_de, hhmm, hours_label, money
from deskapp.services.readmodels import TicketRow
from deskapp.settings import Policy
from models.enums import OrderStatus, Priority, Queue, TicketStatus

from .budget_widgets import trend_label, trend_text
from .styles import PRIORITY_STYLE, STATUS_STYLE, inert_cell

if TYPE_CHECKING:  # annotations only: the first frame comes before SQLAlchemy is imported
    from deskapp.services.card import CustomerCard
    from deskapp.services.orders import CreditLimitChangeView

ORDER_STYLE = {
    OrderStatus.PENDING: "bold cyan",
    OrderStatus.EXECUTED: "",
    OrderStatus.HELD: "bold yellow",
    OrderStatus.FAILED: "red",
    OrderStatus.REJECTED: "dim",
    OrderStatus.SETTLED: "dim",
}


# "Stundenpaket 60:00 Std" whole: a label cut without … read as "Stundenpaket 6".
PACKAGE_LABEL_WIDTH = 22


def right(value: str, style: str = "") -> Text:
    return Text(value, justify="right", style=style)


def first_line(text: str, width: int) -> Text:
    """The first line of outside text, cut to ``width``, as an inert cell (docs/rules.md#inert-text)."""
    line = text.strip().splitlines()[0] if text.strip() else ""
    return inert_cell(line if len(line) <= width else line[: width - 1] + "…")


def count_title(title: str, shown: int, total: int) -> str:
    if total > shown:
        return f"{title} ({shown} von {total})"
    return f"{title} ({total})"


def _days(n: int, *, dative: bool = False) -> str:
    """'16 Tage' — or, after 'in', the dative '16 Tagen'."""
    if abs(n) == 1:
        return f"{n} Tag"
    return f"{n} Tagen" if dative else f"{n} Tage"


class CardTable(DataTable):
    """A section's list; j/k move like in the inbox."""

    BINDINGS = [
        Binding("j", "cursor_down", "Runter", show=False),
        Binding("k", "cursor_up", "Hoch", show=False),
    ]

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)


class Section(Vertical):
    """A titled box around one list, with a line for 'nothing here'."""

    def __init__(self, title: str, table_id: str, empty: str) -> None:
        super().__init__(id=f"{table_id}-section", classes="section")
        self.border_title = title
        self._table_id = table_id
        self._empty = empty

    def compose(self) -> ComposeResult:
        yield CardTable(id=self._table_id)
        yield Static(self._empty, classes="empty")


def _grid(label_width: int = 0) -> Table:
    """Label and value; where the box is narrow the value wraps onto the next line: nothing
    an agent may copy (ID, e-mail, amounts) is ever cut (docs/rules.md#narrow-terminals)."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(style="dim", no_wrap=True, min_width=label_width or None)
    grid.add_column(no_wrap=False, overflow="fold")
    return grid


def master_box(card: CustomerCard) -> Group:
    grid = _grid(label_width=len("Kunde seit"))
    grid.add_row("Nr.", card.number)
    grid.add_row("ID", str(card.id))
    grid.add_row("E-Mail", inert_cell(card.email))
    grid.add_row("Telefon", inert_cell(card.phone))
    grid.add_row("Kunde seit", date_de(card.created_at))
    return Group(Text(card.name, style="bold"), grid)


def credit_box(card: CustomerCard, limit_history: tuple[CreditLimitChangeView, ...]) -> Table:
    grid = _grid(label_width=len("Kreditlimit"))
    grid.columns[1].justify = "right"
    grid.add_row("Kreditlimit", money(card.credit_limit))
    grid.add_row("Obligo", money(card.exposure))
    headroom_style = "bold red" if card.headroom < 0 else "bold green"
    grid.add_row("Verfügbar", Text(money(card.headroom), style=headroom_style))
    if limit_history:
        grid.add_row("Geändert am", date_de(limit_history[0].created_at))
    held = sum(1 for o in card.orders if o.status == OrderStatus.HELD)
    if held:
        grid.add_row("Angehalten", Text(f"{held} Bestellung" + ("en" if held > 1 else ""), style="yellow"))
    # Orders "in Ausführung": sent to the registry, no answer yet; they count in the Obligo
    # above (docs/rules.md#order-protocol).
    pending = sum(1 for o in card.orders if o.status == OrderStatus.PENDING)
    if pending:
        grid.add_row("Ausführung", Text(f"{pending} läuft" if pending == 1 else f"{pending} laufen", style="cyan"))
    return grid


def budget_box(card: CustomerCard, policy: Policy) -> Table:
    b = card.budget
    grid = _grid(label_width=len("Verfallen (Rest)"))
    grid.columns[1].justify = "right"
    valid_style = "bold"
    if "budget_critical" in card.flags:
        valid_style = "bold red"
    elif "budget_warn" in card.flags:
        valid_style = "bold yellow"
    grid.add_row("Gültig (Rest)", Text(hours_label(b.valid_minutes), style=valid_style))
    grid.add_row("Blockiert", hours_label(b.blocked_minutes))
    expired_style = "yellow" if b.expired_minutes else ""
    grid.add_row("Verfallen (Rest)", Text(hours_label(b.expired_minutes), style=expired_style))
    if b.next_expiry is None:
        grid.add_row("Nächster Verfall", "–")
    else:
        style = "bold yellow" if b.days_left is not None and b.days_left <= policy.expiry_soon_days else ""
        grid.add_row("Nächster Verfall", Text(date_de(b.next_expiry), style=style))
        grid.add_row("", Text(f"noch {_days(b.days_left)}", style=style))
    if card.packages and card.budget_trend:
        grid.add_row(trend_label(card.budget_trend), trend_text(card.budget_trend))
    return grid


def alerts_line(card: CustomerCard, policy: Policy) -> Text:
    parts: list[Text] = []
    if "repeat_case" in card.flags:
        parts.append(Text.assemble(
            (f" ⚠ {texts.CARD_FLAG['repeat_case']} ", "bold white on dark_red"),
            f" {card.workaround_count}× Deadline auf Budgetverfall in {policy.repeat_case_window_months} "
            "Monaten — Budgetablauf mit dem Kunden klären",
        ))
    hits = sum(1 for t in card.tasks if t.workaround)
    if hits:
        what = "1 offene Aufgabe" if hits == 1 else f"{hits} offene Aufgaben"
        parts.append(Text.assemble(
            (f" {texts.FLAG_SYMBOL['workaround']} {texts.FLAG['workaround']} ", "bold black on yellow"),
            f" {what} — wirkt wie eine Budgetverlängerung, erst Genehmigung einholen",
        ))
    if "over_limit" in card.flags:
        parts.append(Text.assemble(
            (f" {texts.CARD_FLAG['over_limit']} ", "bold white on red"),
            f" um {money(-card.headroom)}",
        ))
    for flag, limit in (("budget_critical", policy.budget_critical_minutes),
                        ("budget_warn", policy.budget_warn_minutes)):
        if flag in card.flags:
            parts.append(Text.assemble(
                (f" {texts.CARD_FLAG[flag]} ", "bold black on yellow"), f" unter {hours_label(limit)}"
            ))
    return Text("\n").join(parts)


def package_cells(p, today: dt.date, soon_days: int) -> list:
    # Short words: the status column gets what the 120-column card leaves (19 characters).
    if p.expired:
        # An expired remainder can still be extended (key e): say so, in red.
        if p.remaining_minutes > 0:
            status = Text("verlängerbar", style="bold red")
        else:
            status = Text("verfallen", style="red")
    elif p.remaining_minutes + p.blocked_minutes <= 0:
        status = Text("aufgebraucht", style="dim")
    elif (p.valid_until - today).days <= soon_days:
        status = Text(f"noch {_days((p.valid_until - today).days)}", style="yellow")
    else:
        status = Text("gültig", style="green")
    return [
        first_line(p.label or f"Paket {p.id}", PACKAGE_LABEL_WIDTH),
        date_de(p.purchased_on),
        right(hhmm(p.booked_minutes)),
        right(hhmm(p.used_minutes)),
        right(hhmm(p.blocked_minutes)),
        right(hhmm(p.remaining_minutes), "bold" if not p.expired else "dim"),
        date_de(p.valid_until),
        status,
        right(money(p.price)),
    ]


def ticket_cells(row: TicketRow, now: dt.datetime) -> list:
    priority = Priority(row.priority)
    status = TicketStatus(row.status)
    return [
        right(f"#{row.number}"),
        Text(texts.PRIORITY[priority], style=PRIORITY_STYLE[priority]),
        Text(texts.STATUS[status], style=STATUS_STYLE[status]),
        texts.QUEUE.get(Queue(row.queue), row.queue),
        inert_cell(row.subject),
        inert_cell(row.assignee_login),
        right(age_de(row.created_at, now)),
        Text("".join(texts.FLAG_SYMBOL.get(f, "?") for f in row.flags), style="bold yellow"),
    ]


def limit_cells(change: CreditLimitChangeView) -> list:
    style = "green" if change.new_limit > change.old_limit else "yellow"
    return [
        datetime_de(change.created_at),
        Text.assemble(money(change.old_limit), " → ", (money(change.new_limit), style)),
        first_line(change.reason, 50),
        inert_cell(change.agent_login),
    ]


def task_cells(t, today: dt.date) -> list:
    if t.workaround:
        hint = Text(f"{texts.FLAG_SYMBOL['workaround']} {texts.FLAG['workaround']} ({date_de(t.expiry_hit)})",
                    style="bold yellow")
    elif t.deadline is not None and t.deadline < today:
        hint = Text("Deadline überschritten", style="red")
    else:
        hint = Text("")
    return [
        right(str(t.id)),
        inert_cell(t.title),
        right(hhmm(t.estimate_minutes)),
        date_de(t.deadline),
        hint,
    ]
