"""The ticket inbox: queues and views on the left, the paged list, the open ticket.

Threading rules (as in harlequin): every database call runs in a thread worker through
``app.read``/``app.write``; workers never touch widgets — they hand results back with
``call_from_thread`` and the handlers on the UI thread own the widgets and the state.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState, get_current_worker

from deskapp import texts
from deskapp.formatting import age_de, date_de, datetime_de, money
from deskapp.services import filters
from deskapp.services.errors import Conflict, DeskError
from deskapp.services.readmodels import (
    ExtensionRow,
    ExtensionView,
    HeldOrderView,
    TicketDetail,
    TicketPage,
    TicketRow,
)
from models.enums import EventKind, OrderStatus, Priority, Queue, TicketKind, TicketStatus

from .styles import PRIORITY_STYLE, STATUS_STYLE
from .dialogs.choice import ChoiceDialog
from .dialogs.filter import FilterChoice, FilterDialog
from .dialogs.note import NoteDialog

SOURCES: list[tuple[str, str]] = [(f"queue:{q.value}", texts.QUEUE[q]) for q in Queue] + [
    (f"view:{v}", texts.VIEW[v])
    for v in (*filters.VIEWS, *(() if filters.REQUESTS_VIEW in filters.VIEWS else (filters.REQUESTS_VIEW,)))
]



class TicketTable(DataTable):
    """The list. Moving past either end of the page asks the screen for the next one."""

    BINDINGS = [
        Binding("j", "cursor_down", "Runter", show=False),
        Binding("k", "cursor_up", "Hoch", show=False),
    ]

    class PageEdge(Message):
        def __init__(self, forward: bool) -> None:
            super().__init__()
            self.forward = forward

    def _at_edge(self, forward: bool) -> bool:
        """At the first/last row: ask for the neighbouring page instead of moving."""
        if not self.row_count:
            return False
        edge = self.cursor_row >= self.row_count - 1 if forward else self.cursor_row <= 0
        if edge:
            self.post_message(self.PageEdge(forward=forward))
        return edge

    def action_cursor_down(self) -> None:
        if not self._at_edge(forward=True):
            super().action_cursor_down()

    def action_cursor_up(self) -> None:
        if not self._at_edge(forward=False):
            super().action_cursor_up()

    def action_page_down(self) -> None:
        if not self._at_edge(forward=True):
            super().action_page_down()

    def action_page_up(self) -> None:
        if not self._at_edge(forward=False):
            super().action_page_up()


class InboxScreen(Screen):
    CSS_PATH = "inbox.tcss"
    BINDINGS = [
        Binding("enter", "open_ticket", "Öffnen", id="open"),
        # The order actions come first: on a ticket they apply to, they are its main work.
        Binding("a", "release", "Freigeben", id="release"),
        Binding("x", "reject", "Ablehnen", id="reject"),
        # On an extension request (admin channel) the same keys decide the request.
        Binding("a", "approve", "Genehmigen", id="extension.approve"),
        Binding("x", "deny", "Antrag ablehnen", id="extension.deny"),
        Binding("a,x", "decide_refused", "", show=False),  # greyed a/x: say why not
        Binding("K", "contact", "Kunde kontaktieren", id="contact"),
        Binding("W", "retry", "Wiederholen", id="retry"),
        Binding("slash", "search", "Suchen", id="search"),
        Binding("f", "filter", "Filter", id="filter"),
        Binding("c", "claim", "Übernehmen", id="claim"),
        Binding("A", "assign", "Zuweisen", id="assign", show=False),
        Binding("s", "status", "Status", id="status"),
        Binding("C", "close", "Schließen", id="close"),
        Binding("n", "note", "Notiz", id="note"),
        Binding("space", "mark", "Markieren", id="mark", show=False),
        Binding("F", "flag", "★ Merken", id="flag", show=False),
        Binding("u", "customer", "Kunde", id="customer"),
        Binding("t", "log_time", "Zeit erfassen", id="log_time"),
        Binding("R", "radar", "Budget-Radar", id="radar", show=False),
        Binding("e", "extension", "Verlängerung beantragen", id="extension.request", show=False),
        Binding("r", "refresh", "Aktualisieren", id="refresh", show=False),
        Binding("escape", "back", "Zurück", show=False),
        Binding("1", "source('queue:support')", "Support", show=False),
        Binding("2", "source('queue:contract')", "Vertragsbearbeitung", show=False),
        Binding("3", "source('queue:technical')", "Technik", show=False),
        Binding("4", "source('queue:admin')", "Admin-Channel", show=False),
        Binding("5", "source('view:mine')", "Meine", show=False),
        Binding("6", "source('view:unassigned')", "Nicht zugewiesen", show=False),
        Binding("7", "source('view:flagged')", "Markiert", show=False),
        Binding("8", "source('view:requests')", "Meine Anträge", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.filter = filters.TicketFilter()
        self.source = "queue:support"
        self.page: TicketPage | None = None
        self.row_offset = 0  # rows before this page, for "101–200 von 1.234"
        self.total: int | None = None
        self.marked: dict[int, TicketRow] = {}
        self.current: TicketDetail | None = None
        self._token: filters.ChangeToken | None = None
        self._want_id: int | None = None  # keep the cursor on this ticket after a reload
        self._paging = False
        self._requests: dict[int, ExtensionRow] = {}  # ticket number -> own request (view "requests")

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="main"):
            with Vertical(id="sidebar"):
                yield Static("Queues & Ansichten", classes="pane-title")
                yield OptionList(*(Option(label, id=key) for key, label in SOURCES), id="sources")
            with Vertical(id="content"):
                yield Static("", id="list-title", classes="pane-title")
                yield Input(placeholder="Suche: Nummer, Kunde, Betreff, Text — Enter sucht, Esc leert",
                            id="search")
                yield TicketTable(id="tickets", cursor_type="row", zebra_stripes=True)
                with VerticalScroll(id="detail"):
                    yield Static("Kein Ticket ausgewählt.", id="detail-body")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(TicketTable)
        # The subject takes what the other columns leave (each column pads 1 each side).
        # "number" fits "#100001": a busy desk passes ticket 99,999.
        fixed = {"mark": 1, "number": 7, "age": 6, "prio": 8, "status": 8, "customer": 18,
                 "assignee": 7, "flags": 5}
        sidebar = 28
        subject = max(20, self.app.size.width - sidebar - sum(fixed.values()) - 2 * (len(fixed) + 1) - 5)
        table.add_column(" ", key="mark", width=fixed["mark"])
        table.add_column("Nr.", key="number", width=fixed["number"])
        # Flags (overdue, conspicuous …) at the left, where a narrow terminal cannot cut them off.
        table.add_column("Flags", key="flags", width=fixed["flags"])
        table.add_column("Alter", key="age", width=fixed["age"])
        table.add_column("Prio", key="prio", width=fixed["prio"])
        table.add_column("Status", key="status", width=fixed["status"])
        table.add_column("Kunde", key="customer", width=fixed["customer"])
        table.add_column("Betreff", key="subject", width=subject)
        table.add_column("Bearb.", key="assignee", width=fixed["assignee"])
        self.query_one("#search", Input).display = False
        self.query_one("#detail").border_title = "Ticket"
        table.focus()
        first_page = getattr(self.app, "first_page", None)
        if first_page is not None:  # read before the ORM was loaded (deskapp.quickstart)
            self.app.first_page = None
            self._show_page(first_page, None, "around")
            # The services' reload (it builds the engine) waits until the first frame is out.
            self.call_after_refresh(self.reload, first=True)
        else:
            self.reload(first=True)
        poll = getattr(self.app, "poll", True)
        if poll:
            self.set_interval(self.app.policy.inbox_poll_seconds, self.check_for_changes)

    # ------------------------------------------------------------------ loading

    def reload(self, *, first: bool = False, keep: bool = True, sidebar: bool = True) -> None:
        """Re-read the current page (or the first one) and the counts.

        Switching the list (queue, view, filter, search) leaves the sidebar's counts as
        they are: only the list's own total is counted again.
        """
        start = None
        if keep and not first and self.page and self.page.rows:
            start = self.page.rows[0].key
        if first:
            self.row_offset = 0
        if not keep:
            self.total = None  # the title says "…" until the new list is counted
        self._load_page(start=start, mode="around")
        self._load_counts(sidebar)

    @work(thread=True, exclusive=True, group="page", exit_on_error=False)
    def _load_page(self, *, start=None, mode: str = "around", key=None) -> None:
        app = self.app
        actor, filt, size = app.agent, self.filter, app.policy.inbox_page_size
        clock = {"now": app.now(), "policy": app.policy}  # marks overdue held orders

        def fetch(session):
            from deskapp.services import extensions, tickets
            if mode == "after":
                page = tickets.list_page(session, actor, filt, after=key, limit=size, **clock)
            elif mode == "before":
                page = tickets.list_page(session, actor, filt, before=key, limit=size, **clock)
            else:
                page = tickets.page_around(session, actor, filt, start=start, limit=size, **clock)
            outcome = {}
            if filt.view == filters.REQUESTS_VIEW:  # the requester sees wartet/genehmigt/abgelehnt
                outcome = {r.ticket_number: r for r in extensions.my_requests(session, actor, limit=4 * size)}
            return page, tickets.change_token(session), outcome

        page, token, outcome = app.read(fetch)
        if not get_current_worker().is_cancelled:  # a newer request superseded this one
            app.call_from_thread(self._show_page, page, token, mode, outcome)

    @work(thread=True, exclusive=True, group="counts", exit_on_error=False)
    def _load_counts(self, sidebar: bool = True) -> None:
        app = self.app
        actor, filt = app.agent, self.filter

        def fetch(session):
            from deskapp.services import tickets
            counts = tickets.sidebar_counts(session, actor) if sidebar else None
            return counts, tickets.count(session, actor, filt)

        counts, total = app.read(fetch)
        app.call_from_thread(self._show_counts, counts, total)

    @work(thread=True, exclusive=True, group="detail", exit_on_error=False)
    def _load_detail(self, ticket_id: int) -> None:
        from deskapp.services import tickets
        app = self.app
        now, policy, viewer = app.now(), app.policy, app.agent
        detail = app.read(lambda s: tickets.detail(s, ticket_id, now=now, policy=policy, viewer=viewer))
        app.call_from_thread(self._show_detail, detail)

    @work(thread=True, exclusive=True, group="poll", exit_on_error=False)
    def _poll(self) -> None:
        from deskapp.services import tickets
        token = self.app.read(tickets.change_token)
        if token != self._token:
            self.app.call_from_thread(self._changed_elsewhere)

    def on_screen_resume(self) -> None:
        self.check_for_changes()  # back from a card or dialog: catch up at once

    def check_for_changes(self) -> None:
        # Only while the inbox is on top: a card or dialog above it needs no repaint below.
        if self._token is not None and self.is_current:
            self._poll()

    def _changed_elsewhere(self) -> None:
        self.reload()
        if self.current is not None:
            self._load_detail(self.current.row.id)

    # ------------------------------------------------------------------ showing

    def _show_page(self, page: TicketPage, token, mode: str, outcome: dict | None = None) -> None:
        self._paging = False
        self._requests = outcome or {}
        table = self.query_one(TicketTable)
        previous = self._current_row()
        previous_index = table.cursor_row
        if self._want_id is None and previous is not None:
            self._want_id = previous.id
        if mode == "after" and page.rows and self.page:
            self.row_offset += len(self.page.rows)
        elif mode == "before" and page.rows:
            self.row_offset = max(0, self.row_offset - len(page.rows))
        if not page.rows and mode in ("after", "before"):
            return  # nothing further that way: stay where we are
        self.page = page
        self._token = token
        # Marked tickets on this page follow the fresh rows (their versions moved on).
        for row in page.rows:
            if row.id in self.marked:
                self.marked[row.id] = row
        table.clear()
        now = self.app.now()
        for row in page.rows:
            table.add_row(*self._cells(row, now), key=str(row.id))
        target = 0
        if mode == "before":
            target = len(page.rows) - 1
        elif mode == "after":
            target = 0
        elif self._want_id is not None:
            ids = [r.id for r in page.rows]
            if self._want_id in ids:
                target = ids.index(self._want_id)
            elif previous is not None and previous.id == self._want_id:
                # The ticket left the list (closed, decided): stay at its place, i.e. on
                # the next one, as mutt does, instead of jumping to the top.
                target = min(previous_index, len(page.rows) - 1) if page.rows else 0
        self._want_id = None
        if page.rows:
            table.move_cursor(row=target, animate=False)
        else:
            self.current = None
            self.query_one("#detail-body", Static).update(self._empty_text())
        self._update_title()

    def _empty_text(self) -> str:
        if self.filter.search:
            return f"Keine Tickets zu „{self.filter.search}“."
        return "Keine Tickets in dieser Ansicht."

    def _cells(self, row: TicketRow, now: dt.datetime) -> list:
        priority = Priority(row.priority)
        status = TicketStatus(row.status)
        flags = "".join(texts.FLAG_SYMBOL.get(f, "?") for f in row.flags)
        subject: str | Text = row.subject
        request = self._requests.get(row.number)
        if request is not None:  # the requester's view: the outcome leads the subject
            from .extension_text import EXTENSION_SHORT, EXTENSION_STYLE

            label = EXTENSION_SHORT.get(request.status, request.status)
            subject = Text.assemble((label, EXTENSION_STYLE.get(request.status, "")), " · ", row.subject)
        return [
            Text("●", style="bold yellow") if row.id in self.marked else "",
            Text(f"#{row.number}", justify="right"),
            Text(flags, style="bold yellow"),
            age_de(row.created_at, now),
            Text(texts.PRIORITY[priority], style=PRIORITY_STYLE[priority]),
            Text(texts.STATUS[status], style=STATUS_STYLE[status]),
            row.customer_name or "–",
            subject,
            row.assignee_login or "–",
        ]

    def _show_counts(self, counts, total: int) -> None:
        self.total = total
        if counts is None:
            self._update_title()
            return
        options = self.query_one("#sources", OptionList)
        highlighted = options.highlighted
        for index, (key, label) in enumerate(SOURCES):
            kind, name = key.split(":")
            n = counts.queues[name] if kind == "queue" else counts.views[name]
            options.replace_option_prompt_at_index(index, _source_prompt(label, n))
        if highlighted is not None:
            options.highlighted = highlighted
        self._update_title()

    def _update_title(self) -> None:
        label = dict(SOURCES)[self.source]
        parts = [f"[b]{label}[/]"]
        described = self.filter.describe()
        if described:
            parts.append(described)
        if self.page is not None:
            n = len(self.page.rows)
            total = "…" if self.total is None else f"{self.total:,}".replace(",", ".")
            span = f"{self.row_offset + 1}–{self.row_offset + n}" if n else "0"
            parts.append(f"{span} von {total}")
        if self.marked:
            parts.append(f"[yellow]{len(self.marked)} markiert[/]")
        self.query_one("#list-title", Static).update(" · ".join(parts))

    def _show_detail(self, detail: TicketDetail) -> None:
        from .extension_text import extension_lines
        current = self._current_row()
        if current is None or current.id != detail.row.id:
            return  # the cursor moved on meanwhile
        self.current = detail
        row = detail.row
        lines = [
            f"[b]#{row.number} {_escape(row.subject)}[/]",
            f"{texts.QUEUE[Queue(row.queue)]} · {texts.KIND.get(row.kind, row.kind)} · "
            f"Status [b]{texts.STATUS[TicketStatus(row.status)]}[/] · "
            f"Priorität {texts.PRIORITY[Priority(row.priority)]} · "
            f"Bearbeiter {row.assignee_login or '–'}",
        ]
        if detail.order is not None:
            lines.extend(_order_lines(detail.order, row))
            lines.append("")
        if detail.extension is not None:
            lines.extend(extension_lines(detail.extension, self.app.agent.login))
            lines.append("")
        lines += [
            f"Kunde: {_escape(row.customer_name) or '–'}"
            + (f" ({detail.customer_number}) — [dim]u öffnet die Karte[/]" if detail.customer_number else ""),
            f"Erstellt {datetime_de(row.created_at)} · geändert {datetime_de(row.updated_at)}",
        ]
        if row.flags:
            lines.append("Markierungen: " + ", ".join(texts.FLAG.get(f, f) for f in row.flags))
        if detail.links:
            lines.append("")
            lines.append("[b]Verknüpft[/]")
            lines.extend(f"  • {_escape(link.label)}" for link in detail.links)
        lines.append("")
        lines.append(_escape(detail.body) or "[dim](kein Text)[/]")
        lines.append("")
        lines.append("[b]Verlauf & Notizen[/]")
        for event in reversed(detail.events):
            lines.append(f"  {datetime_de(event.created_at)} {event.agent_login or 'System'}: {_event_text(event)}")
        self.query_one("#detail-body", Static).update("\n".join(lines))
        self.query_one("#detail").border_title = f"Ticket #{row.number}"
        self._refresh_bindings_if_changed()  # the order/extension actions depend on the ticket shown

    # ------------------------------------------------------------------ events

    @on(DataTable.RowHighlighted)
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key is None or event.row_key.value is None:
            return
        self._refresh_bindings_if_changed()  # the shown ticket's order actions no longer apply
        self._load_detail(int(event.row_key.value))

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_open_ticket()

    @on(TicketTable.PageEdge)
    def _page_edge(self, event: TicketTable.PageEdge) -> None:
        if self.page is None or not self.page.rows or self._paging:
            return  # one page turn at a time, however fast the key repeats
        if event.forward and self.page.has_after:
            self._paging = True
            self._load_page(mode="after", key=self.page.rows[-1].key)
        elif not event.forward and self.page.has_before:
            self._paging = True
            self._load_page(mode="before", key=self.page.rows[0].key)

    @on(OptionList.OptionSelected, "#sources")
    def _source_selected(self, event: OptionList.OptionSelected) -> None:
        self.action_source(event.option.id)
        self.query_one(TicketTable).focus()

    @on(Input.Submitted, "#search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        self.filter = replace(self.filter, search=event.value.strip())
        if not event.value.strip():
            event.input.display = False
        self.query_one(TicketTable).focus()
        self.reload(first=True, keep=False, sidebar=False)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            error = event.worker.error
            message = error.message if isinstance(error, DeskError) else f"Datenbankfehler: {error}"
            self.notify(message, severity="error", timeout=8)

    # ------------------------------------------------------------------ helpers

    def _current_row(self) -> TicketRow | None:
        if self.page is None or not self.page.rows:
            return None
        table = self.query_one(TicketTable)
        if not table.row_count:
            return None
        index = min(table.cursor_row, len(self.page.rows) - 1)
        return self.page.rows[index]

    def _targets(self) -> list[TicketRow]:
        """The marked tickets, or else the one under the cursor."""
        if self.marked:
            return list(self.marked.values())
        row = self._current_row()
        return [row] if row else []

    def _refresh_mark_cell(self, row: TicketRow) -> None:
        table = self.query_one(TicketTable)
        mark = Text("●", style="bold yellow") if row.id in self.marked else ""
        table.update_cell(str(row.id), "mark", mark)

    # ------------------------------------------------------------------ actions

    def action_source(self, key: str) -> None:
        kind, name = key.split(":")
        self.source = key
        if kind == "queue":
            self.filter = replace(self.filter, queue=name, view=None)
        else:
            self.filter = replace(self.filter, queue=None, view=name)
        options = self.query_one("#sources", OptionList)
        options.highlighted = [k for k, _ in SOURCES].index(key)
        self.marked.clear()
        self.reload(first=True, keep=False, sidebar=False)

    def show_ticket(self, ticket_id: int) -> None:
        """Put the cursor on a ticket: on this page if it is here, else in its queue."""
        if self.page is not None:
            ids = [r.id for r in self.page.rows]
            if ticket_id in ids:
                self.query_one(TicketTable).move_cursor(row=ids.index(ticket_id), animate=False)
                return
        self._find_ticket(ticket_id)

    @work(thread=True, exclusive=True, group="page", exit_on_error=False)
    def _find_ticket(self, ticket_id: int) -> None:
        from deskapp.services import tickets
        row = self.app.read(lambda s: tickets.get_row(s, ticket_id))
        self.app.call_from_thread(self._jump_to, row)

    def _jump_to(self, row: TicketRow) -> None:
        self.source = f"queue:{row.queue}"
        self.query_one("#sources", OptionList).highlighted = [k for k, _ in SOURCES].index(self.source)
        self.filter = filters.TicketFilter(queue=row.queue, statuses=filters.ALL_STATUSES,
                                           search=f"#{row.number}")
        self.marked.clear()
        self.reload(first=True, keep=False, sidebar=False)

    def action_open_ticket(self) -> None:
        detail = self.query_one("#detail")
        if self.maximized is detail:
            self.minimize()
            self.query_one(TicketTable).focus()
        else:
            detail.focus()
            self.maximize(detail)

    def action_back(self) -> None:
        if self.maximized is not None:
            self.minimize()
            self.query_one(TicketTable).focus()
        elif self.query_one("#search", Input).has_focus:
            search = self.query_one("#search", Input)
            search.value = ""
            search.display = False
            self.query_one(TicketTable).focus()
            if self.filter.search:
                self.filter = replace(self.filter, search="")
                self.reload(first=True, keep=False, sidebar=False)
        elif self.marked:
            marked = list(self.marked.values())
            self.marked.clear()
            for row in marked:
                if self.page and row.id in {r.id for r in self.page.rows}:
                    self._refresh_mark_cell(row)
            self._update_title()
        elif self.filter.search:
            self.filter = replace(self.filter, search="")
            self.query_one("#search", Input).display = False
            self.reload(first=True, keep=False, sidebar=False)

    def action_search(self) -> None:
        search = self.query_one("#search", Input)
        search.display = True
        search.value = self.filter.search
        search.focus()

    def action_refresh(self) -> None:
        self.reload()
        self.notify("Aktualisiert.", timeout=1.5)

    def action_mark(self) -> None:
        row = self._current_row()
        if row is None:
            return
        if row.id in self.marked:
            del self.marked[row.id]
        else:
            self.marked[row.id] = row
        self._refresh_mark_cell(row)
        self._update_title()
        self.query_one(TicketTable).action_cursor_down()

    def action_filter(self) -> None:
        f = self.filter
        if f.statuses == filters.ACTIVE_STATUSES:
            status = "active"
        elif len(f.statuses) == 1:
            status = f.statuses[0]
        else:
            status = "all"
        current = FilterChoice(status=status, priority=f.priority, assignee=f.assignee, flag=f.flag)
        self._open_filter(current)

    @work(thread=True, exclusive=True, group="dialog", exit_on_error=False)
    def _open_filter(self, current: FilterChoice) -> None:
        from deskapp.services import agents

        people = self.app.read(agents.list_agents)
        self.app.call_from_thread(self._show_filter, current, people)

    def _show_filter(self, current: FilterChoice, people) -> None:
        statuses = [("active", "aktiv (neu, offen, wartend)"), ("all", "alle")] + [
            (s.value, texts.STATUS[s]) for s in TicketStatus
        ]
        priorities = [(p.value, texts.PRIORITY[p]) for p in sorted(Priority, reverse=True)]
        assignees = [("-", "niemand")] + [(a.login, f"{a.login} — {a.display_name}") for a in people]
        flags = [(code, label) for code, label in texts.FLAG.items()]

        def apply(choice: FilterChoice | None) -> None:
            if choice is None:
                return
            if choice.status == "active":
                statuses_ = filters.ACTIVE_STATUSES
            elif choice.status == "all":
                statuses_ = filters.ALL_STATUSES
            else:
                statuses_ = (choice.status,)
            self.filter = replace(
                self.filter, statuses=statuses_, priority=choice.priority, assignee=choice.assignee,
                flag=choice.flag,
            )
            self.reload(first=True, keep=False, sidebar=False)

        self.app.push_screen(
            FilterDialog(current=current, statuses=statuses, priorities=priorities, assignees=assignees,
                         flags=flags),
            apply,
        )

    def action_claim(self) -> None:
        targets = self._targets()
        if targets:
            self._change(targets, "claim")

    def action_close(self) -> None:
        targets = self._targets()
        if targets:
            self._change(targets, "status", status=TicketStatus.RESOLVED)

    def action_status(self) -> None:
        targets = self._targets()
        if not targets:
            return
        choices = [(s.value, texts.STATUS[s]) for s in TicketStatus]
        title = "Status setzen" + (f" für {len(targets)} Tickets" if len(targets) > 1 else f" für #{targets[0].number}")

        def chosen(value: str | None) -> None:
            if value:
                self._change(targets, "status", status=value)

        self.app.push_screen(ChoiceDialog(title, choices, current=targets[0].status), chosen)

    def action_assign(self) -> None:
        targets = self._targets()
        if targets:
            self._open_assign(targets)

    @work(thread=True, exclusive=True, group="dialog", exit_on_error=False)
    def _open_assign(self, targets: list[TicketRow]) -> None:
        from deskapp.services import agents

        people = self.app.read(agents.list_agents)
        self.app.call_from_thread(self._show_assign, targets, people)

    def _show_assign(self, targets: list[TicketRow], people) -> None:
        choices = [("-", "niemand (Zuweisung aufheben)")] + [
            (a.login, f"{a.login} — {a.display_name}") for a in people
        ]
        title = "Zuweisen" + (f": {len(targets)} Tickets" if len(targets) > 1 else f": #{targets[0].number}")

        def chosen(value: str | None) -> None:
            if value:
                self._change(targets, "assign", assignee_login=None if value == "-" else value)

        self.app.push_screen(ChoiceDialog(title, choices, current=targets[0].assignee_login or "-"), chosen)

    def action_note(self) -> None:
        row = self._current_row()
        if row is None:
            return

        def save(text: str | None) -> None:
            if text:
                self._save_note(row.id, text)

        self.app.push_screen(NoteDialog(f"Interne Notiz zu #{row.number}"), save)

    @work(thread=True, group="write", exit_on_error=False)
    def _save_note(self, ticket_id: int, text: str) -> None:
        from deskapp.services import tickets
        app = self.app
        app.write(lambda s: tickets.add_note(s, app.agent, ticket_id, text_=text, now=app.now()))
        app.call_from_thread(self._after_change, "Notiz gespeichert.", [])

    def action_flag(self) -> None:
        row = self._current_row()
        if row is not None:
            self._toggle_flag(row)

    @work(thread=True, group="write", exit_on_error=False)
    def _toggle_flag(self, row: TicketRow) -> None:
        from deskapp.services import tickets
        app = self.app
        try:
            app.write(lambda s: tickets.toggle_flag(s, app.agent, row, flag="flagged", now=app.now()))
        except Conflict as exc:
            app.call_from_thread(self._after_change, "", [exc.message])
            return
        app.call_from_thread(self._after_change, "", [])

    @work(thread=True, group="write", exit_on_error=False)
    def _change(self, targets: list[TicketRow], action: str, **kwargs) -> None:
        from deskapp.services import tickets
        app = self.app
        result = app.write(lambda s: tickets.bulk(s, app.agent, targets, action, now=app.now(), **kwargs))
        if result.done:
            numbers = ", ".join(f"#{n}" for n in result.done[:5]) + (" …" if len(result.done) > 5 else "")
            verb = {"claim": "übernommen", "assign": "zugewiesen", "status": "geändert"}[action]
            done = f"{numbers} {verb}."
        else:
            done = ""
        app.call_from_thread(self._after_change, done, list(result.refused), clear_marks=bool(result.done))

    def _after_change(self, done: str, refused: list[str], *, clear_marks: bool = False) -> None:
        if done:
            self.notify(done, timeout=3)
        for message in refused[:5]:
            self.notify(message, severity="warning", timeout=8)
        if len(refused) > 5:
            self.notify(f"… und {len(refused) - 5} weitere nicht geändert.", severity="warning", timeout=8)
        if clear_marks:
            self.marked.clear()
        self.reload()
        row = self._current_row()
        if row is not None:
            self._load_detail(row.id)

    def action_customer(self) -> None:
        row = self._current_row()
        if row is None:
            return
        if row.customer_id is None:
            self.notify(f"#{row.number} hat keinen Kunden.", severity="warning")
            return
        self.app.open_customer(row.customer_id)

    # -- hour budget: time on a ticket, the budget radar (screens.budget_dialogs, screens.radar)

    def action_log_time(self) -> None:
        from .dialogs.log_time import LogTimeDialog, announce_time

        row = self._current_row()
        if row is None:
            return
        if row.customer_id is None:
            self.notify(f"#{row.number} hat keinen Kunden: Zeit wird auf das Budget eines Kunden gebucht.",
                        severity="warning")
            return
        customer = row.customer_name or "Kunde"
        self.app.push_screen(
            LogTimeDialog(customer_id=row.customer_id, customer=customer, ticket_id=row.id, ticket_number=row.number),
            lambda result: announce_time(self, result, customer),
        )

    def action_radar(self) -> None:
        from .radar import RadarScreen

        self.app.push_screen(RadarScreen())

    # -- held orders (Vertragsbearbeitung) and registry failures (Technik) ----------------

    def _order_shown(self, action: str) -> HeldOrderView | None:
        """The order of the ticket under the cursor, if ``action`` applies to it now."""
        detail, row = self.current, self._current_row()
        if detail is None or row is None or detail.row.id != row.id or detail.order is None:
            return None
        order = detail.order
        if action == "retry":
            applies = detail.row.kind == TicketKind.REGISTRY_FAILURE and order.status == OrderStatus.FAILED
        else:
            applies = detail.row.kind == TicketKind.HELD_ORDER and order.status == OrderStatus.HELD
        return order if applies else None

    def action_release(self) -> None:
        order = self._order_shown("release")
        if order is None:
            return
        over = f" – {money(order.over_limit)} über dem Limit" if order.over_limit > 0 else ""
        title = f"{_order_name(order)} über {money(order.amount)} freigeben?{over}"

        def confirmed(value: str | None) -> None:
            if value == "yes":
                self._decide("release", order)

        self.app.push_screen(
            ChoiceDialog(title, [("yes", "Ja, jetzt bei der Vergabestelle ausführen"), ("no", "Nein")]),
            confirmed,
        )

    def action_reject(self) -> None:
        order = self._order_shown("reject")
        if order is None:
            return

        def save(reason: str | None) -> None:
            if reason:
                self._decide("reject", order, reason=reason)

        self.app.push_screen(
            NoteDialog(
                f"{_order_name(order)} ablehnen",
                explain="Begründung — der Kunde wird mit der Vorgangsnummer informiert.",
                empty_message="Ohne Begründung wird nicht abgelehnt.",
                save_label="ablehnen",
            ),
            save,
        )

    def action_contact(self) -> None:
        order = self._order_shown("contact")
        if order is None:
            return

        def save(note: str | None) -> None:
            if note:
                self._decide("contact", order, note=note)

        self.app.push_screen(
            NoteDialog(
                f"Kunde kontaktieren zu {_order_name(order)}",
                explain="Was mit dem Kunden zu klären ist; das Ticket wartet dann auf ihn.",
                empty_message="Bitte notieren, was zu klären ist.",
            ),
            save,
        )

    def action_retry(self) -> None:
        order = self._order_shown("retry")
        if order is not None:
            self._decide("retry", order)

    @work(thread=True, group="write", exit_on_error=False)
    def _decide(self, action: str, order: HeldOrderView, **kwargs) -> None:
        app = self.app
        agent, now, policy = app.agent, app.now(), app.policy

        def run(session):
            from deskapp.services import orders
            from .dialogs.order import order_registry
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

        try:
            result = app.write(run)
        except DeskError as exc:
            app.call_from_thread(self._after_change, "", [exc.message])
            return
        app.call_from_thread(self._after_change, _decision_text(action, order, result), [])

    # Actions whose availability depends on the ticket under the cursor.
    _DYNAMIC_ACTIONS = (
        "log_time", "claim", "extension", "release", "reject", "contact", "retry",
        "approve", "deny", "decide_refused",
    )

    def _refresh_bindings_if_changed(self) -> None:
        """Rebuild the footer only when the ticket-dependent keys change.

        A footer rebuild on every cursor move costs a full repaint, and Textual keeps
        the replaced footer keys alive (about 1 MB per page walked).
        """
        state = tuple(self.check_action(action, ()) for action in self._DYNAMIC_ACTIONS)
        if state != getattr(self, "_bindings_state", None):
            self._bindings_state = state
            self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "log_time":
            if self.app.agent.is_system:
                return None
            return True if self.page is None or self.page.rows else None
        if action in ("claim", "assign", "status", "close", "note", "customer", "flag", "mark", "open_ticket"):
            return True if self.page is None or self.page.rows else None
        if action in ("release", "reject", "contact", "retry"):
            # Shown only on a ticket whose order waits for exactly this; who may do it is
            # the service's call (a refusal is shown as a message).
            return self._order_shown(action) is not None  # False hides it
        if action in ("approve", "deny", "decide_refused"):
            request = self._extension_shown()
            if request is None:
                return False
            if action == "decide_refused":  # the greyed a/x explain themselves when pressed
                return not request.waiting or request.may_decide is not None
            if not request.waiting:
                return False
            # Greyed for whoever may not decide now; the service refuses them anyway.
            return True if request.may_decide is None else None
        if action == "extension":
            row = self._current_row()
            return True if row is not None and row.customer_id is not None else None
        return True

    # -- extension requests (admin channel) -------------------------------------------

    def _extension_shown(self) -> ExtensionView | None:
        """The extension request of the ticket under the cursor, as last loaded."""
        detail, row = self.current, self._current_row()
        if detail is None or row is None or detail.row.id != row.id:
            return None
        return detail.extension

    def action_approve(self) -> None:
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
        from .extension_text import extension_refusal
        request = self._extension_shown()
        if request is not None:
            self.notify(extension_refusal(request), severity="warning", timeout=8)

    @work(thread=True, group="write", exit_on_error=False)
    def _decide_extension(self, request: ExtensionView, *, approve: bool, reason: str = "") -> None:
        app = self.app
        agent, now, policy = app.agent, app.now(), app.policy
        def run(session):
            from deskapp.services import extensions
            return extensions.decide(session, agent, request_id=request.request_id, approve=approve,
                                     reason=reason, now=now, policy=policy)

        try:
            result = app.write(run)
        except DeskError as exc:
            app.call_from_thread(self._after_change, "", [exc.message])
            return
        if approve:
            done = (f"Antrag #{result.request_id} genehmigt: {request.customer_name} gültig bis "
                    f"{date_de(result.valid_until)}; der Kunde wird informiert.")
        else:
            done = f"Antrag #{result.request_id} abgelehnt; {request.requested_by} sieht die Begründung."
        app.call_from_thread(self._after_change, done, [])

    def action_extension(self) -> None:
        from .dialogs.extension import ExtensionForm, filed_text, linked_task_id
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


def _order_name(order: HeldOrderView) -> str:
    if order.process_number:
        return f"Vorgang {order.process_number} ({order.item})"
    return f"Bestellung {order.item}"


def _order_lines(order: HeldOrderView, row: TicketRow) -> list[str]:
    """The order block of the detail pane: what, against which limit, why, how old."""
    status = texts.ORDER_STATUS.get(OrderStatus(order.status), order.status)
    lines = ["", f"[b]{_escape(_order_name(order))} über {money(order.amount)}[/]"]
    if order.status == OrderStatus.HELD:
        state = f"angehalten seit {order.age_label}"
        if order.overdue:
            state += f" · [b red]{texts.FLAG_SYMBOL['overdue']} {texts.FLAG['overdue']}[/]"
    else:
        state = f"[b]{status}[/]"
        if order.decided_at is not None:
            state += f" von {order.decided_by or 'System'} am {datetime_de(order.decided_at)}"
    lines.append(f"  Status: {state}")
    figures = f"  Kreditlimit {money(order.credit_limit)} · Obligo {money(order.exposure)}"
    if order.over_limit > 0:
        figures += f" · über dem Limit [b yellow]{money(order.over_limit)}[/]"
    lines.append(figures)
    if order.error:
        lines.append(f"  Vergabestelle: [red]{_escape(order.error)}[/]")
    if row.kind == TicketKind.HELD_ORDER:
        if order.reasons:
            lines.append(f"  [b yellow]{texts.FLAG_SYMBOL['conspicuous']} Auffällig[/] – "
                         "Rücksprache mit dem Kunden angeraten:")
            lines.extend(f"    • {_escape(reason)}" for reason in order.reasons)
        else:
            lines.append("  [green]Nicht auffällig[/] – freigeben oder ablehnen, keine Rücksprache nötig.")
        if order.status == OrderStatus.HELD:
            lines.append("  [dim]a freigeben · x ablehnen · K Kunde kontaktieren[/]")
    elif row.kind == TicketKind.REGISTRY_FAILURE and order.status == OrderStatus.FAILED:
        lines.append("  [dim]W wiederholt die Bestellung bei der Vergabestelle[/]")
    return lines


def _decision_text(action: str, order: HeldOrderView, result) -> str:
    name = _order_name(order)
    if action == "reject":
        return f"{name} abgelehnt; der Kunde wird informiert."
    if action == "contact":
        return f"{name}: Rücksprache notiert, Ticket wartet auf den Kunden."
    status = getattr(result, "status", None)
    if status == OrderStatus.FAILED:
        ticket = getattr(result, "ticket_number", None)
        where = f" – Technik-Ticket #{ticket}" if ticket else ""
        return f"{name}: Vergabestelle hat nicht ausgeführt{where}."
    if status == OrderStatus.HELD:
        return f"{name}: wieder angehalten – Vorgangsnummer {getattr(result, 'process_number', '')}."
    if action == "release":
        return f"{name} freigegeben und ausgeführt; der Kunde wird informiert."
    return f"{name}: erneut gesendet und ausgeführt."


def _source_prompt(label: str, count: int) -> Text:
    """One sidebar line: the name, and its count right-aligned (never wrapping)."""
    line = Text(f"{label[:19]:<19}")
    line.append(f"{count:>6}", style="dim")
    return line


def _escape(text: str) -> str:
    return text.replace("[", r"\[")


def _event_text(event) -> str:
    kind = event.kind
    if kind == EventKind.CREATED:
        return "Ticket angelegt"
    if kind == EventKind.NOTE:
        return "Notiz: " + _escape(event.text)
    if kind == EventKind.STATUS:
        old = texts.STATUS.get(TicketStatus(event.old), event.old) if event.old else "–"
        return f"Status {old} → {texts.STATUS.get(TicketStatus(event.new), event.new)}"
    if kind == EventKind.CLAIM:
        return "übernommen"
    if kind == EventKind.ASSIGN:
        return f"zugewiesen: {event.old or '–'} → {event.new or '–'}"
    if kind == EventKind.FLAG:
        if event.new:
            return f"markiert ({texts.FLAG.get(event.new, event.new)})"
        return f"Markierung entfernt ({texts.FLAG.get(event.old, event.old)})"
    return _escape(event.text)
