"""The customer card (Visitenkarte): everything an agent checks about a customer.

One thread worker reads the whole card through ``deskapp.services.card.customer_card``
(and the credit-limit history) and posts it back (``CardLoaded``); ``_show`` puts the panes
of ``screens.card_panes`` in place. Actions on real-time
orders: ``o`` order (a dialog with live headroom), ``L`` change the credit limit (contract
processing), ``S`` settle the order under the cursor, ``D`` settle by date. Hour budget:
``b`` book a package, ``T`` the tasks, ``t`` log time (on the ticket or task under the cursor,
if its list has the focus) — dialogs in ``screens.dialogs``, ``screens.tasks``.
``e`` extension form. ``E`` the master data (name, e-mail addresses, phone, customer since;
contract processing and admins) — ``screens.dialogs.customer``.

The screen's result is the id of a ticket the agent chose with Enter (to open it in the
inbox), or None when the agent just went back.

``open_card`` (``u``, the customer search, the radar) reads the card first and pushes the
screen with it, so the card is composed, filled and painted once: no "loading" frame and no
second layout when the data arrives. ``e`` reads the extension form's data the same way
before the form opens.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import uuid

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Header, Static
from textual.worker import get_current_worker

from deskapp import texts
from deskapp.formatting import datetime_de, money, today_berlin
from deskapp.services import orders
from models.enums import OrderStatus

from .card_panes import (
    ORDER_STYLE,
    PACKAGE_LABEL_WIDTH,
    CardTable,
    Section,
    alerts_line,
    budget_box,
    count_title,
    credit_box,
    first_line,
    limit_cells,
    master_box,
    package_cells,
    right,
    task_cells,
    ticket_cells,
)
from .messages import CardLoaded, WorkerFailed
from .styles import inert_cell
from .card_orders import CardOrderActions
from .card_reasons import CardReasons
from .footer import DeskFooter
from .workers import WorkerNotices, read_then_push

if TYPE_CHECKING:  # annotations only: the first frame comes before SQLAlchemy is imported
    from collections.abc import Callable

    from textual.app import App

    from deskapp.services.card import CustomerCard
    from deskapp.services.orders import CreditLimitChangeView


def read_card(app: App, customer_id: uuid.UUID) -> CardLoaded:
    """The whole card and its credit-limit history, in one read (call it in a thread)."""
    from deskapp.services.card import customer_card

    now, policy = app.now(), app.policy

    def fetch(session):
        card = customer_card(session, customer_id, now=now, policy=policy)
        return card, tuple(orders.credit_limit_history(session, customer_id))

    card, history = app.read(fetch)
    return CardLoaded(card, history)


def open_card(app: App, customer_id: uuid.UUID, push: Callable[[CardScreen], object]) -> None:
    """Read the card in a thread worker, then ``push`` the screen with it, filled
    (``screens.workers.read_then_push``: a failed read pushes it empty to read itself and
    say what failed in place)."""
    read_then_push(app, lambda: read_card(app, customer_id),
                   lambda loaded: CardScreen(customer_id, loaded=loaded), push, group="open-card")


class CardScreen(WorkerNotices, CardReasons, CardOrderActions, Screen[int | None]):
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
        Binding("E", "edit_customer", "Stammdaten bearbeiten", id="card.edit_customer", show=False,
                tooltip="Name, E-Mail-Adressen, Telefon, Kunde seit"),
        Binding("r", "refresh", "Aktualisieren", id="card.refresh", show=False),
        Binding("y", "copy_id", "ID kopieren", id="card.copy_id", show=False),
        Binding("n", "file_entry", "Akteneintrag", id="card.file_entry", show=False,
                tooltip="Neuer Eintrag in die Kundenakte"),
    ]

    # A failed load or write: its notice (screens.workers), then the card says it in place
    # or reads itself again (_failed).
    WRITE_GROUPS = frozenset({"card-write"})
    FAILURE_TEXT = {"card": "Die Karte ließ sich nicht laden"}
    NOTICE_TIMEOUT = 6

    def __init__(self, customer_id: uuid.UUID, *, loaded: CardLoaded | None = None) -> None:
        super().__init__()
        self.customer_id = customer_id
        self.card: CustomerCard | None = None
        self.limit_history: tuple[CreditLimitChangeView, ...] = ()
        self._loaded: CardLoaded | None = None
        self._preloaded = loaded  # read before the push (open_card): shown in on_mount

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
        yield DeskFooter()

    def on_mount(self) -> None:
        self.query_one("#card-master").border_title = "Kunde"
        self.query_one("#card-credit").border_title = "Kredit"
        self.query_one("#card-budget").border_title = "Stundenbudget"
        self.query_one("#card-tickets-section").border_subtitle = "Enter: im Posteingang öffnen"
        self._columns()
        self.query_one("#card-error").display = False
        preloaded, self._preloaded = self._preloaded, None
        if preloaded is not None and preloaded.card.id == self.customer_id:
            self._show(preloaded)  # before the first frame: one layout, one paint
            return
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
        self._log_columns()

    def _log_columns(self) -> None:
        """The logs' text columns take the free width (screens.card_reader)."""
        from .card_reader import AUTHOR_WIDTH, DATE_WIDTH, log_text_widths

        self._log_widths = log_text_widths(self.app.size.width)
        message_width, file_width = self._log_widths
        for table_id, spec in (
            ("card-messages", (("Datum", "date", DATE_WIDTH), ("Betreff", "subject", message_width))),
            ("card-file", (("Datum", "date", DATE_WIDTH), ("Von", "author", AUTHOR_WIDTH),
                           ("Eintrag", "text", file_width))),
        ):
            table = self.query_one(f"#{table_id}", CardTable)
            table.clear(columns=True)
            for label, key, width in spec:
                table.add_column(label, key=key, width=width)

    def on_resize(self) -> None:
        from .card_reader import log_text_widths

        if getattr(self, "_log_widths", None) != log_text_widths(self.app.size.width):
            self._log_columns()
            if self._loaded is not None:
                self._show(self._loaded)

    # ------------------------------------------------------------------ loading

    @work(thread=True, exclusive=True, group="card", exit_on_error=False)
    def load(self) -> None:
        loaded = read_card(self.app, self.customer_id)
        if not get_current_worker().is_cancelled:  # a newer read superseded this one
            self.post_message(loaded)

    @on(WorkerFailed)
    def _failed(self, event: WorkerFailed) -> None:
        if event.group == "card-write":
            self.load()  # refused or failed: show the card as it is now
            return
        if event.group != "card":
            return
        self.query_one("#card-body").loading = False
        failed = self.query_one("#card-error", Static)
        failed.update(Text.assemble((event.text, "bold red"), "\n", ("Esc: zurück · r: erneut versuchen", "dim")))
        failed.display = True

    @on(CardLoaded)
    def _show(self, event: CardLoaded) -> None:
        card = event.card
        if card.id != self.customer_id:
            return  # not this card's customer (never shown: nothing stale)
        first = self.card is None
        self._loaded = event
        self.card = card
        self.limit_history = event.limit_history
        self.query_one("#card-body").loading = False
        self.query_one("#card-error").display = False
        self.query_one("#card-summary").display = True
        self.sub_title = f"Kunde {card.name} ({card.number})"
        self.query_one("#card-master", Static).update(master_box(card))
        self.query_one("#card-credit", Static).update(credit_box(card, self.limit_history))
        self.query_one("#card-budget", Static).update(budget_box(card, self.app.policy))
        alerts = alerts_line(card, self.app.policy)
        alert_line = self.query_one("#card-alerts", Static)
        alert_line.update(alerts)
        alert_line.display = bool(alerts.plain)
        now = card.as_of or self.app.now()
        today = today_berlin(now)
        self._fill(
            "card-packages", "Buchungshistorie", len(card.packages), len(card.packages),
            ((str(p.id), package_cells(p, today, self.app.policy.expiry_soon_days)) for p in card.packages),
        )
        self._fill(
            "card-tickets", "Offene Tickets", len(card.open_tickets), card.open_tickets_total,
            ((str(t.id), ticket_cells(t, now)) for t in card.open_tickets),
        )
        self._fill(
            "card-tasks", "Offene Aufgaben", len(card.tasks), card.tasks_total,
            ((str(t.id), task_cells(t, today)) for t in card.tasks),
        )
        self._fill(
            "card-orders", "Bestellungen", len(card.orders), card.orders_total,
            (
                (
                    str(o.id),
                    [
                        datetime_de(o.created_at),
                        o.item,
                        right(money(o.amount)),
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
            ((str(i), limit_cells(c)) for i, c in enumerate(event.limit_history)),
        )
        # Most limits are never changed: the section appears with the first change.
        self.query_one("#card-limits-section").display = bool(event.limit_history)
        self._fill(
            "card-messages", "Nachrichtenlog", len(card.message_log), card.message_log_total,
            ((str(i), [datetime_de(m.created_at), first_line(m.title or m.text, self._log_widths[0])])
             for i, m in enumerate(card.message_log)),
        )
        self._fill(
            "card-file", "Kundenakte", len(card.customer_file), card.customer_file_total,
            ((str(i), [datetime_de(f.created_at), inert_cell(f.author or "–"), first_line(f.text, self._log_widths[1])])
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
        section.border_title = count_title(title, shown, total)
        table.display = table.row_count > 0
        section.query_one(".empty").display = table.row_count == 0

    # ------------------------------------------------------------------ actions

    def action_back(self) -> None:
        self.dismiss(None)

    def action_refresh(self) -> None:
        self.load()

    def action_copy_id(self) -> None:
        self.app.copy_to_clipboard(str(self.customer_id))
        self.notify(f"Kunden-ID {self.customer_id} kopiert.", timeout=3)

    @on(DataTable.RowSelected, "#card-messages")
    @on(DataTable.RowSelected, "#card-file")
    def _read_entry(self, event: DataTable.RowSelected) -> None:
        """enter on a log entry: the whole entry in a reader."""
        from .card_reader import EntryReader

        if self.card is None:
            return
        index = int(event.row_key.value)
        if event.data_table.id == "card-messages":
            entry = self.card.message_log[index]
            heading = f"Nachrichtenlog · {datetime_de(entry.created_at)} · {entry.title}"
        else:
            entry = self.card.customer_file[index]
            heading = f"Kundenakte · {datetime_de(entry.created_at)} · {entry.author or '–'}"
        self.app.push_screen(EntryReader(heading, entry.text))

    def action_file_entry(self) -> None:
        """n: a new entry in the customer file (journal.add_file_entry: checked, audited)."""
        from .dialogs.note import NoteDialog

        card = self.card
        if card is None:
            return

        def save(text: str | None) -> None:
            if text:
                self._add_file_entry(card.id, text)

        self.app.push_screen(
            NoteDialog(f"Eintrag in die Kundenakte von {card.name}",
                       explain="Datiert und mit deinem Namen; jeder auf der Karte sieht ihn.",
                       empty_message="Ein leerer Eintrag wird nicht gespeichert."),
            save,
        )

    @work(thread=True, group="card-write", exit_on_error=False)
    def _add_file_entry(self, customer_id: uuid.UUID, text: str) -> None:
        from deskapp.services import journal

        app = self.app
        app.write(lambda s: journal.add_file_entry(s, app.agent, customer_id=customer_id, text=text, now=app.now()))
        self.app.call_from_thread(self.notify, "Eintrag in der Kundenakte gespeichert.", timeout=3)
        self.app.call_from_thread(self.load)

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
        if action in ("tasks", "log_time", "file_entry"):
            return True if self.card is not None and not agent.is_system else None
        if action in ("order", "extension"):
            return True if self.card is not None and not agent.is_system else None
        if action == "edit_customer":
            # Contract processing and admins; the service refuses anyone else as well.
            from deskapp.services.customers import MASTER_ROLES

            return True if self.card is not None and agent.roles & MASTER_ROLES else None
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

        def push(draft) -> None:
            form = None
            if self.is_current:  # not over a screen the agent opened meanwhile
                form = ExtensionForm(customer_id=card.id, task_id=task_id, draft=draft)
                self.app.push_screen(form, filed)
            self.app.hand_kept_keys(form)  # what was typed while the draft was read

        self.app.keep_keys_for_dialog()
        self._open_extension(card.id, push)

    @work(thread=True, exclusive=True, group="ext-open", exit_on_error=False)
    def _open_extension(self, customer_id: uuid.UUID, push) -> None:
        """The form's draft read first, then the form pushed filled (``push``, on the UI thread).

        A failed read pushes the form empty: it reads again and says what failed.
        """
        from .dialogs.extension import read_draft

        try:
            draft = read_draft(self.app, customer_id)
        except Exception:  # noqa: BLE001 — the form shows the failure
            draft = None
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(push, draft)

    def action_edit_customer(self) -> None:
        from .dialogs.customer import CustomerDialog

        card = self.card
        if card is None:
            return

        def saved(master) -> None:
            if master is not None:
                self._after_write(f"Stammdaten von {master.name} gespeichert.", "information")

        self.app.push_screen(CustomerDialog(customer_id=card.id, customer=card.name), saved)

    # -- hour budget: packages, tasks, time (dialogs in screens.dialogs) ----------

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
