"""Moving around the inbox: queues and views, search, a ticket by number, back out.

Mixin of ``InboxScreen`` (its ``filter``, ``source``, ``marked``, ``page`` and ``reload``).
"""

from __future__ import annotations

from dataclasses import replace

from textual import on, work
from textual.screen import Screen
from textual.widgets import Input, OptionList

from deskapp import texts
from deskapp.services import filters
from models.enums import Queue

from ..messages import TicketFound
from .table import TicketTable

SOURCES: list[tuple[str, str]] = [(f"queue:{q.value}", texts.QUEUE[q]) for q in Queue] + [
    (f"view:{v}", texts.VIEW[v])
    for v in (*filters.VIEWS, *(() if filters.REQUESTS_VIEW in filters.VIEWS else (filters.REQUESTS_VIEW,)))
]


class Navigation(Screen):
    """The keys that choose what the list shows and where the cursor is."""

    @on(OptionList.OptionSelected, "#sources")
    def _source_selected(self, event: OptionList.OptionSelected) -> None:
        self.action_source(event.option.id)
        self.query_one(TicketTable).focus()

    @on(Input.Submitted, "#search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        self.apply_search(event.value)

    def _clear_marks(self) -> None:
        marked = list(self.marked.values())
        self.marked.clear()
        shown = {r.id for r in self.page.rows} if self.page else set()
        table = self.query_one(TicketTable)
        for row in marked:
            if row.id in shown:
                table.show_mark(row, False)
        self._update_title()

    def action_source(self, key: str) -> None:
        kind, name = key.split(":")
        self.source = key
        # The search is global: a queue or view switch leaves it (the f filter stays, and
        # the list's title says so; esc resets it). docs/rules.md#ticket-search
        if kind == "queue":
            self.filter = replace(self.filter, queue=name, view=None, search="", search_in_queue=False)
        else:
            self.filter = replace(self.filter, queue=None, view=name, search="", search_in_queue=False)
        search = self.query_one("#search", Input)
        search.value = ""
        search.display = False
        self.query_one("#saved-views", OptionList).highlighted = None
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
        self._page_request += 1  # a page on its way belongs to the list being left
        self._find_ticket(ticket_id)

    @work(thread=True, exclusive=True, group="page", exit_on_error=False)
    def _find_ticket(self, ticket_id: int) -> None:
        from deskapp.services import tickets
        row = self.app.read(lambda s: tickets.get_row(s, ticket_id))
        self.post_message(TicketFound(row))

    @on(TicketFound)
    def _jump_to(self, event: TicketFound) -> None:
        row = event.row
        self.source = f"queue:{row.queue}"
        self.query_one("#sources", OptionList).highlighted = [k for k, _ in SOURCES].index(self.source)
        # "#N" is exactly that ticket, whatever its status (docs/rules.md#ticket-jump).
        self.filter = filters.TicketFilter(queue=row.queue, search=f"#{row.number}")
        search = self.query_one("#search", Input)
        search.value = f"#{row.number}"
        search.display = True
        self.marked.clear()
        self.reload(first=True, keep=False, sidebar=False)

    def action_back(self) -> None:
        search = self.query_one("#search", Input)
        if self.query_one("#commandline", Input).has_focus:
            self.close_command_line()
        elif search.has_focus:
            search.value = ""
            search.display = False
            self.query_one(TicketTable).focus()
            if self.filter.search:
                self.filter = replace(self.filter, search="")
                self.reload(first=True, keep=False, sidebar=False)
        elif self.marked:
            self._clear_marks()
        else:
            self.reset_filter()  # search and filter gone in one key

    def action_search(self) -> None:
        search = self.query_one("#search", Input)
        search.display = True
        search.value = self.filter.search
        self.app.set_focus(search)  # now, not after the keys already typed behind the slash

    def action_refresh(self) -> None:
        self.reload()
        self.notify("Aktualisiert.", timeout=1.5)
