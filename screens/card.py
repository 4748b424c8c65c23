"""The customer card (Visitenkarte): everything an agent checks about a customer.

One thread worker reads the whole card through ``deskapp.services.card.customer_card``
(and the credit-limit history) and posts it back; ``_show`` renders it. Actions on real-time
orders: ``o`` order (a dialog with live headroom), ``L`` change the credit limit (contract
processing), ``S`` settle the order under the cursor, ``D`` settle by date. Hour budget:
``b`` book a package, ``T`` the tasks, ``t`` log time (on the ticket or task under the cursor,
if its list has the focus) — dialogs in ``screens.budget_dialogs``, ``screens.tasks``.
``e`` extension form.

The screen's result is the id of a ticket the agent chose with Enter (to open it in the
inbox), or None when the agent just went back.
"""

from __future__ import annotations

import datetime as dt
import uuid

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static
from textual.worker import Worker, WorkerState

from deskapp import texts
from deskapp.formatting import age_de, date_de, datetime_de, hhmm, hours_label, money, today_berlin
from deskapp.services import orders
from deskapp.services.errors import DeskError
from deskapp.services.readmodels import CreditLimitChangeView, CustomerCard, OrderView, TicketRow
from models.enums import OrderStatus, Priority, Queue, TicketStatus

from .budget_widgets import trend_label, trend_text
from .dialogs.choice import ChoiceDialog
from .dialogs.credit_limit import CreditLimitDialog
from .dialogs.order import OrderDialog, order_headline
from .dialogs.settle import SettleUntilDialog
from .styles import PRIORITY_STYLE, STATUS_STYLE

ORDER_STYLE = {
    OrderStatus.EXECUTED: "",
    OrderStatus.HELD: "bold yellow",
    OrderStatus.FAILED: "red",
    OrderStatus.REJECTED: "dim",
    OrderStatus.SETTLED: "dim",
}


# "Stundenpaket 60:00 Std" whole: a label cut without … read as "Stundenpaket 6".
PACKAGE_LABEL_WIDTH = 22


def _right(value: str, style: str = "") -> Text:
    return Text(value, justify="right", style=style)


def _first_line(text: str, width: int) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= width else line[: width - 1] + "…"


def _count_title(title: str, shown: int, total: int) -> str:
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


class CardScreen(Screen[int | None]):
    CSS_PATH = "card.tcss"
    HELP_TITLE = "Kundenkarte"
    # Below 118 columns the master data gives way to the hour budget (see card.tcss).
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (118, "-wide")]
    AUTO_FOCUS = None
    # The footer shows them in this order and cuts what does not fit: short labels so that
    # every shown key fits at 120 columns, the hour-budget keys first (they fit at 100).
    # `?` and the palette list every key, the hidden ones too; the tooltip says it long.
    BINDINGS = [
        Binding("escape", "back", "Zurück", id="card.back"),
        Binding("b", "book_package", "Paket buchen", id="card.book_package"),
        Binding("t", "log_time", "Zeit erfassen", id="card.log_time",
                tooltip="Zeit auf das Ticket oder die Aufgabe unter dem Cursor, sonst auf den Kunden"),
        Binding("T", "tasks", "Aufgaben", id="card.tasks"),
        Binding("e", "extension", "Verlängern", id="card.extension", tooltip="Budgetverlängerung beantragen"),
        Binding("o", "order", "Bestellen", id="card.order"),
        Binding("L", "credit_limit", "Limit", id="card.credit_limit", tooltip="Kreditlimit ändern"),
        Binding("S", "settle", "Abrechnen", id="card.settle", tooltip="Bestellung unter dem Cursor abrechnen"),
        Binding("D", "settle_until", "Abrechnen bis Datum", id="card.settle_until", show=False),
        Binding("r", "refresh", "Aktualisieren", id="card.refresh", show=False),
        Binding("y", "copy_id", "ID kopieren", id="card.copy_id", show=False),
    ]

    class Loaded(Message):
        def __init__(self, card: CustomerCard, limit_history: tuple[CreditLimitChangeView, ...]) -> None:
            super().__init__()
            self.card = card
            self.limit_history = limit_history

    def __init__(self, customer_id: uuid.UUID) -> None:
        super().__init__()
        self.customer_id = customer_id
        self.card: CustomerCard | None = None
        self.limit_history: tuple[CreditLimitChangeView, ...] = ()

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="card-body"):
            yield Static("", id="card-error")
            with Horizontal(id="card-summary"):
                yield Static("", id="card-master", classes="box")
                yield Static("", id="card-credit", classes="box")
                yield Static("", id="card-budget", classes="box")
            yield Static("", id="card-alerts")
            yield Section("Buchungshistorie", "card-packages", "Keine Stundenpakete gebucht.")
            yield Section("Offene Tickets", "card-tickets", "Keine offenen Tickets.")
            yield Section("Offene Aufgaben", "card-tasks", "Keine offenen Aufgaben.")
            yield Section("Bestellungen", "card-orders", "Keine Bestellungen.")
            yield Section("Kreditlimit-Verlauf", "card-limits", "Das Kreditlimit wurde nie geändert.")
            with Horizontal(id="card-logs"):
                yield Section("Nachrichtenlog", "card-messages", "Keine Nachrichten.")
                yield Section("Kundenakte", "card-file", "Keine Einträge.")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#card-master").border_title = "Kunde"
        self.query_one("#card-credit").border_title = "Kredit"
        self.query_one("#card-budget").border_title = "Stundenbudget"
        self.query_one("#card-tickets-section").border_subtitle = "Enter: im Posteingang öffnen"
        self._columns()
        self.query_one("#card-error").display = False
        self.query_one("#card-summary").display = False
        self.query_one("#card-body").loading = True
        self.load()

    def _columns(self) -> None:
        def cols(table_id: str, *spec: tuple[str, str, int | None]) -> None:
            table = self.query_one(f"#{table_id}", CardTable)
            for label, key, width in spec:
                table.add_column(label, key=key, width=width)

        cols(
            "card-packages",
            ("Paket", "label", PACKAGE_LABEL_WIDTH), ("Gekauft", "purchased", None), ("Gebucht", "booked", None),
            ("Genutzt", "used", None), ("Blockiert", "blocked", None), ("Rest", "remaining", None),
            # Status before the price: on a narrow terminal the price is what scrolls off.
            ("Gültig bis", "until", None), ("Status", "status", None), ("Preis", "price", None),
        )
        cols(
            "card-tickets",
            ("Nr.", "number", None), ("Prio", "prio", 8), ("Status", "status", 8), ("Queue", "queue", 19),
            ("Betreff", "subject", 38), ("Bearb.", "assignee", 7), ("Alter", "age", 6), ("Flags", "flags", 5),
        )
        cols(
            "card-tasks",
            ("Nr.", "id", None), ("Aufgabe", "title", 40), ("Schätzung", "estimate", None),
            ("Deadline", "deadline", 8), ("Hinweis", "hint", 40),
        )
        cols(
            "card-orders",
            ("Datum", "date", 14), ("Artikel", "item", 30), ("Betrag", "amount", 12),
            ("Status", "status", 14), ("Vorgang", "process", 15),
        )
        cols(
            "card-limits",
            ("Datum", "date", 14), ("Alt → Neu", "change", 25), ("Begründung", "reason", 50), ("Von", "who", 8),
        )
        cols("card-messages", ("Datum", "date", 14), ("Betreff", "subject", 36))
        cols("card-file", ("Datum", "date", 14), ("Von", "author", 6), ("Eintrag", "text", 30))

    # ------------------------------------------------------------------ loading

    @work(thread=True, exclusive=True, group="card", exit_on_error=False)
    def load(self) -> None:
        from deskapp.services.card import customer_card

        app = self.app
        customer_id, now, policy = self.customer_id, app.now(), app.policy

        def fetch(session):
            card = customer_card(session, customer_id, now=now, policy=policy)
            return card, tuple(orders.credit_limit_history(session, customer_id))

        card, history = app.read(fetch)
        self.post_message(self.Loaded(card, history))

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        if event.state != WorkerState.ERROR:
            return
        if event.worker.group == "card-write":
            self._after_write(f"Datenbankfehler: {event.worker.error}", "error")
            return
        if event.worker.group != "card":
            return
        error = event.worker.error
        message = error.message if isinstance(error, DeskError) else f"Die Karte ließ sich nicht laden: {error}"
        self.query_one("#card-body").loading = False
        failed = self.query_one("#card-error", Static)
        failed.update(Text.assemble((message, "bold red"), "\n", ("Esc: zurück · r: erneut versuchen", "dim")))
        failed.display = True
        self.notify(message, severity="error", timeout=6)

    @on(Loaded)
    def _show(self, event: Loaded) -> None:
        card = event.card
        first = self.card is None
        self.card = card
        self.limit_history = event.limit_history
        self.query_one("#card-body").loading = False
        self.query_one("#card-error").display = False
        self.query_one("#card-summary").display = True
        self.sub_title = f"Kunde {card.name} ({card.number})"
        self.query_one("#card-master", Static).update(self._master(card))
        self.query_one("#card-credit", Static).update(self._credit(card))
        self.query_one("#card-budget", Static).update(self._budget(card))
        alerts = self._alerts(card)
        alert_line = self.query_one("#card-alerts", Static)
        alert_line.update(alerts)
        alert_line.display = bool(alerts.plain)
        now = card.as_of or self.app.now()
        today = today_berlin(now)
        self._fill(
            "card-packages", "Buchungshistorie", len(card.packages), len(card.packages),
            ((str(p.id), self._package_cells(p, today, self.app.policy.expiry_soon_days)) for p in card.packages),
        )
        self._fill(
            "card-tickets", "Offene Tickets", len(card.open_tickets), card.open_tickets_total,
            ((str(t.id), self._ticket_cells(t, now)) for t in card.open_tickets),
        )
        self._fill(
            "card-tasks", "Offene Aufgaben", len(card.tasks), card.tasks_total,
            ((str(t.id), self._task_cells(t, today)) for t in card.tasks),
        )
        self._fill(
            "card-orders", "Bestellungen", len(card.orders), card.orders_total,
            (
                (
                    str(o.id),
                    [
                        datetime_de(o.created_at),
                        o.item,
                        _right(money(o.amount)),
                        Text(texts.ORDER_STATUS.get(OrderStatus(o.status), o.status),
                             style=ORDER_STYLE.get(OrderStatus(o.status), "")),
                        o.process_number or "–",
                    ],
                )
                for o in card.orders
            ),
        )
        self._fill(
            "card-limits", "Kreditlimit-Verlauf", len(event.limit_history), len(event.limit_history),
            ((str(i), self._limit_cells(c)) for i, c in enumerate(event.limit_history)),
        )
        # Most limits are never changed: the section appears with the first change.
        self.query_one("#card-limits-section").display = bool(event.limit_history)
        self._fill(
            "card-messages", "Nachrichtenlog", len(card.message_log), card.message_log_total,
            ((str(i), [datetime_de(m.created_at), _first_line(m.title or m.text, 36)])
             for i, m in enumerate(card.message_log)),
        )
        self._fill(
            "card-file", "Kundenakte", len(card.customer_file), card.customer_file_total,
            ((str(i), [datetime_de(f.created_at), f.author or "–", _first_line(f.text, 60)])
             for i, f in enumerate(card.customer_file)),
        )
        if first:
            target = "card-tickets" if card.open_tickets else "card-packages"
            self.query_one(f"#{target}", CardTable).focus()
        self.refresh_bindings()

    def _fill(self, table_id: str, title: str, shown: int, total: int, rows) -> None:
        table = self.query_one(f"#{table_id}", CardTable)
        keep = table.cursor_row
        table.clear()
        for key, cells in rows:
            table.add_row(*cells, key=key)
        if table.row_count:
            table.move_cursor(row=min(keep, table.row_count - 1), animate=False)
        section = self.query_one(f"#{table_id}-section", Section)
        section.border_title = _count_title(title, shown, total)
        table.display = table.row_count > 0
        section.query_one(".empty").display = table.row_count == 0

    # ------------------------------------------------------------------ rendering

    @staticmethod
    def _grid(label_width: int = 0) -> Table:
        """Label and value; where the box is narrow the value is cut with …, never the label."""
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="dim", no_wrap=True, min_width=label_width or None)
        grid.add_column(no_wrap=True, overflow="ellipsis")
        return grid

    def _master(self, card: CustomerCard) -> Group:
        grid = self._grid(label_width=len("Kunde seit"))
        grid.add_row("Nr.", card.number)
        grid.add_row("ID", str(card.id))
        grid.add_row("E-Mail", card.email or "–")
        grid.add_row("Telefon", card.phone or "–")
        grid.add_row("Kunde seit", date_de(card.created_at))
        return Group(Text(card.name, style="bold"), grid)

    def _credit(self, card: CustomerCard) -> Table:
        grid = self._grid()
        grid.columns[1].justify = "right"
        grid.add_row("Kreditlimit", money(card.credit_limit))
        grid.add_row("Obligo", money(card.exposure))
        headroom_style = "bold red" if card.headroom < 0 else "bold green"
        grid.add_row("Verfügbar", Text(money(card.headroom), style=headroom_style))
        if self.limit_history:
            grid.add_row("Geändert am", date_de(self.limit_history[0].created_at))
        held = sum(1 for o in card.orders if o.status == OrderStatus.HELD)
        if held:
            grid.add_row("Angehalten", Text(f"{held} Bestellung" + ("en" if held > 1 else ""), style="yellow"))
        return grid

    def _budget(self, card: CustomerCard) -> Table:
        b = card.budget
        grid = self._grid(label_width=len("Verfallen (Rest)"))
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
            style = "bold yellow" if b.days_left is not None and b.days_left <= self.app.policy.expiry_soon_days else ""
            grid.add_row("Nächster Verfall", Text(date_de(b.next_expiry), style=style))
            grid.add_row("", Text(f"noch {_days(b.days_left)}", style=style))
        if card.packages and card.budget_trend:
            grid.add_row(trend_label(card.budget_trend), trend_text(card.budget_trend))
        return grid

    def _alerts(self, card: CustomerCard) -> Text:
        parts: list[Text] = []
        policy = self.app.policy
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
                f" {what} — wirkt wie eine Budgetverlängerung, erst Freigabe einholen",
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

    @staticmethod
    def _package_cells(p, today: dt.date, soon_days: int) -> list:
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
            _first_line(p.label or f"Paket {p.id}", PACKAGE_LABEL_WIDTH),
            date_de(p.purchased_on),
            _right(hhmm(p.booked_minutes)),
            _right(hhmm(p.used_minutes)),
            _right(hhmm(p.blocked_minutes)),
            _right(hhmm(p.remaining_minutes), "bold" if not p.expired else "dim"),
            date_de(p.valid_until),
            status,
            _right(money(p.price)),
        ]

    @staticmethod
    def _ticket_cells(row: TicketRow, now: dt.datetime) -> list:
        priority = Priority(row.priority)
        status = TicketStatus(row.status)
        return [
            _right(f"#{row.number}"),
            Text(texts.PRIORITY[priority], style=PRIORITY_STYLE[priority]),
            Text(texts.STATUS[status], style=STATUS_STYLE[status]),
            texts.QUEUE.get(Queue(row.queue), row.queue),
            row.subject,
            row.assignee_login or "–",
            _right(age_de(row.created_at, now)),
            Text("".join(texts.FLAG_SYMBOL.get(f, "?") for f in row.flags), style="bold yellow"),
        ]

    @staticmethod
    def _limit_cells(change: CreditLimitChangeView) -> list:
        style = "green" if change.new_limit > change.old_limit else "yellow"
        return [
            datetime_de(change.created_at),
            Text.assemble(money(change.old_limit), " → ", (money(change.new_limit), style)),
            _first_line(change.reason, 50),
            change.agent_login or "–",
        ]

    @staticmethod
    def _task_cells(t, today: dt.date) -> list:
        if t.workaround:
            hint = Text(f"{texts.FLAG_SYMBOL['workaround']} {texts.FLAG['workaround']} ({date_de(t.expiry_hit)})",
                        style="bold yellow")
        elif t.deadline is not None and t.deadline < today:
            hint = Text("Deadline überschritten", style="red")
        else:
            hint = Text("")
        return [
            _right(str(t.id)),
            t.title,
            _right(hhmm(t.estimate_minutes)),
            date_de(t.deadline),
            hint,
        ]

    # ------------------------------------------------------------------ actions

    def action_back(self) -> None:
        self.dismiss(None)

    def action_refresh(self) -> None:
        self.load()

    def action_copy_id(self) -> None:
        self.app.copy_to_clipboard(str(self.customer_id))
        self.notify(f"Kunden-ID {self.customer_id} kopiert.", timeout=3)

    @on(DataTable.RowSelected, "#card-tickets")
    def _open_ticket(self, event: DataTable.RowSelected) -> None:
        self.dismiss(int(event.row_key.value))

    # -- real-time orders and the credit limit -------------------------------------------

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        """True: available; None: shown greyed out (not for this agent, or not for this order)."""
        agent = self.app.agent
        if action == "book_package":
            from deskapp.services.budget import BOOKING_ROLES

            return True if self.card is not None and agent.roles & BOOKING_ROLES else None
        if action in ("tasks", "log_time"):
            return True if self.card is not None and not agent.is_system else None
        if action in ("order", "extension"):
            return True if self.card is not None and not agent.is_system else None
        if action == "credit_limit":
            # Contract processing only; the service refuses anyone else as well.
            return True if self.card is not None and agent.roles & orders.CONTRACT_ROLES else None
        if action in ("settle", "settle_until"):
            if self.card is None or not (agent.roles & orders.SETTLE_ROLES):
                return None
            if action == "settle":
                order = self._selected_order()
                return True if order is not None and order.status == OrderStatus.EXECUTED else None
        return True

    @on(DataTable.RowHighlighted, "#card-orders")
    def _order_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.refresh_bindings()  # "Abrechnen" depends on the order under the cursor

    def _selected_order(self) -> OrderView | None:
        if self.card is None or not self.card.orders:
            return None
        table = self.query_one("#card-orders", CardTable)
        if not table.row_count:
            return None
        return self.card.orders[min(table.cursor_row, len(self.card.orders) - 1)]

    def action_order(self) -> None:
        card = self.card
        if card is None:
            return

        def placed(result: orders.OrderResult | None) -> None:
            if result is None:
                return
            severity = {"executed": "information", "held": "warning"}.get(result.status, "error")
            self.notify(order_headline(result), severity=severity, timeout=8)
            self.load()

        self.app.push_screen(
            OrderDialog(customer_id=card.id, customer=f"{card.name} ({card.number})", limit=card.credit_limit,
                        exposure=card.exposure),
            placed,
        )

    def action_extension(self) -> None:
        """The extension form; the task under the cursor (tasks list focused) is pre-selected."""
        from .dialogs.extension import ExtensionForm, filed_text

        card = self.card
        if card is None:
            return
        task_id = None
        tasks = self.query_one("#card-tasks", CardTable)
        if tasks.has_focus and card.tasks and tasks.row_count:
            task_id = card.tasks[min(tasks.cursor_row, len(card.tasks) - 1)].id

        def filed(result) -> None:
            if result is not None:
                self.notify(filed_text(result), timeout=8)
                self.load()

        self.app.push_screen(ExtensionForm(customer_id=card.id, task_id=task_id), filed)

    def action_credit_limit(self) -> None:
        card = self.card
        if card is None:
            return

        def changed(result) -> None:
            if result is not None:
                self.notify(f"Kreditlimit von {card.name} geändert.", timeout=4)
                self.load()

        self.app.push_screen(
            CreditLimitDialog(customer_id=card.id, customer=card.name, limit=card.credit_limit), changed
        )

    def action_settle(self) -> None:
        order = self._selected_order()
        if order is None:
            return
        if order.status != OrderStatus.EXECUTED:
            self.notify("Nur ausgeführte Bestellungen können abgerechnet werden.", severity="warning")
            return

        def confirmed(value: str | None) -> None:
            if value == "yes":
                self._settle(order)

        self.app.push_screen(
            ChoiceDialog(
                f"Bestellung {order.item} über {money(order.amount)} als abgerechnet markieren?",
                [("yes", "Ja, abrechnen (berechnet und bezahlt)"), ("no", "Nein")],
            ),
            confirmed,
        )

    @work(thread=True, group="card-write", exit_on_error=False)
    def _settle(self, order: OrderView) -> None:
        app = self.app
        try:
            app.write(lambda s: orders.settle_order(s, app.agent, order_id=order.id, now=app.now()))
        except DeskError as exc:
            app.call_from_thread(self._after_write, exc.message, "warning")
            return
        app.call_from_thread(self._after_write, f"Bestellung {order.item} abgerechnet.", "information")

    def action_settle_until(self) -> None:
        card = self.card
        if card is None:
            return

        def settled(result) -> None:
            if result is None:
                return
            until, count = result
            if count:
                what = "1 Bestellung" if count == 1 else f"{count} Bestellungen"
                self._after_write(f"{what} bis {date_de(until)} abgerechnet.", "information")
            else:
                self._after_write(f"Keine ausgeführten Bestellungen bis {date_de(until)}.", "warning")

        self.app.push_screen(
            SettleUntilDialog(customer_id=card.id, customer=card.name, today=today_berlin(self.app.now())),
            settled,
        )

    # -- hour budget: packages, tasks, time (dialogs in screens.budget_dialogs) ----------

    def action_book_package(self) -> None:
        from .dialogs.book_package import BookPackageDialog, booked_text

        card = self.card
        if card is None:
            return

        def booked(package) -> None:
            if package is not None:
                self._after_write(booked_text(package), "information")

        self.app.push_screen(
            BookPackageDialog(customer_id=card.id, customer=card.name, today=today_berlin(self.app.now())), booked
        )

    def action_tasks(self) -> None:
        from .tasks import TasksScreen

        card = self.card
        if card is not None:
            self.app.push_screen(TasksScreen(customer_id=card.id, customer=card.name), lambda _: self.load())

    def action_log_time(self) -> None:
        """Time on the ticket or task under the cursor (its list focused), else on the customer."""
        from .dialogs.log_time import LogTimeDialog, announce_time

        card = self.card
        if card is None:
            return
        task = ticket = None
        tasks = self.query_one("#card-tasks", CardTable)
        tickets = self.query_one("#card-tickets", CardTable)
        if tasks.has_focus and card.tasks and tasks.row_count:
            task = card.tasks[min(tasks.cursor_row, len(card.tasks) - 1)]
        elif tickets.has_focus and card.open_tickets and tickets.row_count:
            ticket = card.open_tickets[min(tickets.cursor_row, len(card.open_tickets) - 1)]

        def logged(result) -> None:
            if announce_time(self, result, card.name):
                self.load()

        self.app.push_screen(
            LogTimeDialog(customer_id=card.id, customer=card.name, task_id=task.id if task else None,
                          task_title=task.title if task else "",
                          ticket_id=ticket.id if ticket else None,
                          ticket_number=ticket.number if ticket else None),
            logged,
        )

    def _after_write(self, message: str, severity: str) -> None:
        self.notify(message, severity=severity, timeout=6)
        self.load()
