"""The ticket inbox: queues and views on the left, the paged list, the open ticket.

This module is the screen's frame: layout, counts, polling and the keys that move
around; keyset paging is ``paging``. The action groups are mixins beside it (``triage``, ``held_orders``,
``extensions``, ``customer``, ``intake``, ``views``, ``commandline``); the list is
``table.TicketTable``, the open ticket ``detail.TicketDetailPane`` fed by ``detail_reading``. Workers hand results back as ``screens.messages``; a failed
worker becomes a notice in ``screens.workers.WorkerNotices``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.reactive import Reactive
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import DataTable, Header, Input, OptionList, Static
from textual.widgets.option_list import Option

from deskapp.formatting import count_de
from deskapp.services import filters
from deskapp.services.readmodels import TicketPage, TicketRow

from ..messages import (
    CountsLoaded,
    PageLoaded,
    WorkerFailed,
)
from ..footer import DeskFooter
from ..styles import inert_markup as escape
from ..workers import WorkerNotices
from .commandline import CommandInput, CommandLine, CommandSuggester
from .customer import CustomerActions
from .detail import TicketDetailPane
from .detail_reading import DetailReading
from .freshness import KeepingCurrent
from .extensions import ExtensionActions
from .held_orders import HeldOrderActions
from .intake import IntakeActions
from .layout import InboxLayout
from .navigation import SOURCES, Navigation
from .paging import Paging
from .reasons import GreyedReasons
from .table import SIDEBAR_WIDTH, TicketTable
from .triage import TriageActions
from .views import SavedViews


# A search term longer than this is a stuck key or a paste gone wrong, not a search: the
# field stops taking keys there (each key re-renders the whole value).
SEARCH_MAX_LENGTH = 200

if TYPE_CHECKING:  # annotations only: the first frame comes before SQLAlchemy is imported
    from deskapp.services.extensions import ExtensionRow
    from deskapp.services.ticket_detail import TicketDetail

ORDER_ACTIONS = ("release", "reject", "contact", "retry")
# Actions whose availability depends on the ticket under the cursor.
DYNAMIC_ACTIONS = (
    "log_time", "claim", "extension", *ORDER_ACTIONS, "approve", "deny", "decide_refused",
)
ROW_ACTIONS = ("claim", "assign", "status", "close", "note", "customer", "flag", "mark", "open_ticket",
               "priority", "move_queue")


class InboxScreen(WorkerNotices, Navigation, TriageActions, HeldOrderActions, ExtensionActions, CustomerActions,
                  IntakeActions, SavedViews, CommandLine, Paging, DetailReading, KeepingCurrent, GreyedReasons,
                  InboxLayout, Screen):
    CSS_PATH = "inbox.tcss"
    # Textual repaints the whole screen on every focus change (``Screen.focused`` is a
    # repainting reactive); the widgets that gain and lose focus repaint themselves and
    # ``_update_focus_styles`` restyles ``:focus-within``. So ``/`` Enter (the search
    # field hands the focus to the list) is a partial repaint, as the list's new rows are.
    focused: Reactive[Widget | None] = Reactive(None, repaint=False)
    WRITE_GROUPS = frozenset({"write"})
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
        # Priority: handled the moment the app reads the key, so the keys typed right
        # behind it reach the field it opens (not the list); typed inside a field, they are text.
        Binding("slash", "search", "Suchen", id="search", priority=True),
        Binding("colon", "command_line", "Befehlszeile", id="command_line", show=False, priority=True),
        Binding("S", "save_view", "Ansicht speichern", id="save_view", show=False),
        Binding("D", "delete_view", "Ansicht löschen", id="delete_view", show=False),
        Binding("ctrl+t", "toggle_search_scope", "Suche: alle Queues / diese", id="search_scope", show=False),
        Binding("ctrl+d", "toggle_closed", "Erledigte zeigen / ausblenden", id="toggle_closed", show=False),
        Binding("f", "filter", "Filter", id="filter"),
        Binding("c", "claim", "Übernehmen", id="claim"),
        Binding("A", "assign", "Zuweisen", id="assign", show=False),
        Binding("s", "status", "Status", id="status"),
        Binding("p", "priority", "Priorität", id="priority", show=False),
        Binding("m", "move_queue", "Verschieben", id="move_queue", show=False, tooltip="In eine andere Queue"),
        Binding("C", "close", "Schließen", id="close"),
        Binding("n", "note", "Notiz", id="note"),
        Binding("N", "new_ticket", "Neues Ticket", id="new_ticket", show=False),
        Binding("space", "mark", "Markieren", id="mark", show=False),
        Binding("F", "flag", "★ Merken", id="flag", show=False),
        Binding("u", "customer", "Kunde", id="customer"),
        Binding("t", "log_time", "Zeit erfassen", id="log_time"),
        Binding("R", "radar", "Budget-Radar", id="radar", show=False),
        Binding("e", "extension", "Verlängerung beantragen", id="extension.request", show=False),
        Binding("r", "refresh", "Aktualisieren", id="refresh", show=False),
        Binding("b", "toggle_sidebar", "Seitenleiste", id="toggle_sidebar", show=False,
                tooltip="Queues und Ansichten zeigen oder ausblenden"),
        Binding("escape", "back", "Zurück", show=False),
        Binding("1", "source('queue:support')", "Support", show=False),
        Binding("2", "source('queue:contract')", "Vertragsbearbeitung", show=False),
        Binding("3", "source('queue:technical')", "Technik", show=False),
        Binding("4", "source('queue:admin')", "Admin-Channel", show=False),
        Binding("5", "source('view:mine')", "Meine", show=False),
        Binding("6", "source('view:unassigned')", "Nicht zugewiesen", show=False),
        Binding("7", "source('view:flagged')", "Gemerkt", show=False),
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
        self._init_detail_reading()  # the detail pane's read-ahead, one read at a time
        self._init_paging()  # the neighbouring pages read ahead
        self._followed_id: int | None = None  # the ticket the detail pane was last asked for
        self._landing = False  # a new page puts the cursor on its row
        self._list_pending = False  # another list was asked for, its first page is not here yet
        self._paging = False
        self._page_request = 0  # the newest page asked for; an older answer is dropped
        self._requests: dict[int, ExtensionRow] = {}  # ticket number -> own request (view "requests")
        self.saved: dict[str, str] = {}  # the agent's saved views: name -> query
        self.search_notes: tuple[str, ...] = ()  # what the / line read differently
        self._title_text: str | None = None  # the list's title as shown
        self._counting = False  # the list's count was asked for and is not here yet

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="main"):
            with Vertical(id="sidebar"):
                yield Static("Queues & Ansichten", classes="pane-title")
                yield OptionList(*(Option(label, id=key) for key, label in SOURCES), id="sources")
                yield Static("Eigene Ansichten", id="saved-views-title", classes="pane-title")
                yield OptionList(id="saved-views")
            with Vertical(id="content"):
                yield Static("", id="list-title", classes="pane-title")
                yield Input(placeholder="Suche in allen Queues: #42, Wörter, kunde: status: prio: queue: agent: "
                                        "/regex/ -wort — Enter sucht, Esc leert", id="search",
                            max_length=SEARCH_MAX_LENGTH)
                yield TicketTable(id="tickets", cursor_type="row", zebra_stripes=True)
                yield TicketDetailPane(id="detail")
        yield CommandInput(placeholder=":befehl — :help zeigt alle, Tab vervollständigt", id="commandline",
                           suggester=CommandSuggester(), select_on_focus=False)
        yield DeskFooter()

    def on_mount(self) -> None:
        table = self.query_one(TicketTable)
        width = self.app.size.width
        self.query_one("#sidebar").display = self.sidebar_shown(width)
        table.add_ticket_columns(width - (SIDEBAR_WIDTH if self.sidebar_shown(width) else 0))
        self.query_one("#search", Input).display = False
        self.query_one("#commandline", Input).display = False
        self.query_one("#saved-views", OptionList).display = False
        self.query_one("#saved-views-title").display = False
        table.cursor_moved = self._follow_cursor
        table.focus()
        first_page = getattr(self.app, "first_page", None)
        if first_page is not None:  # read before the ORM was loaded (deskapp.quickstart)
            self.app.first_page = None
            self._show_page(PageLoaded(first_page, None, "around", request=self._page_request))
            # The services' reload (it builds the engine) waits until the first frame is out.
            self.call_after_refresh(self.reload, first=True)
        else:
            self.reload(first=True)
        poll = getattr(self.app, "poll", True)
        if poll:
            self.set_interval(self.app.policy.inbox_poll_seconds, self.check_for_changes)

    def _compositor_refresh(self) -> None:
        """Not while the app holds a batch open: Textual would compute the whole update and
        then drop it (``App._display`` returns under ``_batch_count``). At the start the
        footer's first recompose is such a batch, and the first frame with the rows was
        rendered twice. ``DeskApp._end_batch`` repaints the whole screen when the batch
        ends (issue 16: start → first frame with rows)."""
        app = self.app
        if app._batch_count and self is app.screen and not app.is_inline and hasattr(app, "_dropped_on"):
            app._dropped_on = self
            return
        super()._compositor_refresh()

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
            self._list_pending = True  # and shows no span of the rows of the list before
            self._update_title()  # at once, in the key's repaint (not one more when the count comes)
        self._load_page(start=start, mode="around")
        self._counting = True  # the list's count is on its way (for the title)
        self._load_counts(sidebar)

    @work(thread=True, exclusive=True, group="counts", exit_on_error=False)
    def _load_counts(self, sidebar: bool = True) -> None:
        app = self.app
        actor, filt, clock = app.agent, self.filter, {"now": app.now(), "policy": app.policy}
        cap = app.policy.search_count_cap  # a search is counted this far (the title: "mehr als …")

        def fetch(session):
            from deskapp.services import tickets
            counts = tickets.sidebar_counts(session, actor) if sidebar else None
            return (counts, *tickets.count_and_notes(session, actor, filt, cap=cap, **clock))

        counts, total, notes = app.read(fetch)
        self.post_message(CountsLoaded(counts, total, notes))

    # ------------------------------------------------------------------ showing

    @on(PageLoaded)
    def _show_page(self, event: PageLoaded) -> None:
        if event.request != self._page_request:
            return  # a newer page was asked for meanwhile
        page, mode = event.page, event.mode
        self._paging = False
        self._requests = event.requests or {}
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
        self._list_pending = False
        self._token = event.token
        # Marked tickets on this page follow the fresh rows (their versions moved on).
        for row in page.rows:
            if row.id in self.marked:
                self.marked[row.id] = row
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
        self._followed_id = None  # the fresh row is shown again, even where the cursor stays
        # The table calls _follow_cursor once, for the target row: the page and the detail
        # pane are painted together.
        self._landing = True
        try:
            table.show_rows(page.rows, self.app.now(), marked=self.marked, requests=self._requests, cursor=target)
        finally:
            self._landing = False
        if not page.rows:
            self.current = None
            self.query_one(TicketDetailPane).show_text(self._empty_text())
        if not self._counting or self._frames_held is None:  # the first page and its count
            self._update_title()  # are here: one frame (views.hold_frames)
            self.release_frames()
        # else: the count comes into the held frame and writes the title once (a second
        # update of the title was a frame of its own, ~50 ms after the page's).

    def _empty_text(self) -> str:
        if self.filter.search:
            return f"Keine Tickets zu „{self.filter.search}“."
        return "Keine Tickets in dieser Ansicht."

    @on(CountsLoaded)
    def _show_counts(self, event: CountsLoaded) -> None:
        self.total = event.total
        self.search_notes = event.notes
        self._counting = False
        counts = event.counts
        if counts is None:
            self._update_title()
            self._release_if_shown()
            return
        options = self.query_one("#sources", OptionList)
        highlighted = options.highlighted
        for index, (key, label) in enumerate(SOURCES):
            kind, name = key.split(":")
            n = counts.queues[name] if kind == "queue" else counts.views[name]
            options.replace_option_prompt_at_index(index, _source_prompt(label, n))
        if highlighted is not None:
            options.highlighted = highlighted
        self.load_saved_views()
        self._update_title()
        self._release_if_shown()

    def _release_if_shown(self) -> None:
        if not self._list_pending:  # the title lands in the page's frame (views.hold_frames)
            self.release_frames()

    def _update_title(self) -> None:
        parts = [f"[b]{escape(self.source_label())}[/]"]
        described = self.filter.describe()
        if described:
            parts.append(described)
        if self._list_pending:
            parts.append("…")  # the rows shown are still the list's before
        elif self.page is not None:
            n = len(self.page.rows)
            total = "…" if self.total is None else count_de(self.total)
            cap = self.app.policy.search_count_cap
            if self.total is not None and self.filter.search and self.total > cap:
                total = f"mehr als {count_de(cap)}"  # counted only this far (tickets.count_and_notes)
            span = f"{self.row_offset + 1}–{self.row_offset + n}" if n else "0"
            parts.append(f"{span} von {total}")
        if self.marked:
            parts.append(f"[yellow]{len(self.marked)} markiert[/]")
        if self.filter_narrowed():
            parts.append("[dim]Esc: zurücksetzen[/]")
        if self.filter.search and self.search_notes:
            parts.append("[yellow]" + escape(" · ".join(self.search_notes)) + "[/]")
        text = " · ".join(parts)
        if text == self._title_text:
            return  # nothing to repaint (a count that came before its list's page)
        self._title_text = text
        # One line high whatever it says (.pane-title): a repaint, no layout of the screen.
        title = self.query_one("#list-title", Static)
        title.update(text, layout=False)
        if self._frames_held is not None:
            # Textual asks the screen for the repaint on the title's next idle, after the held
            # frame is out: that was a frame of its own ~40 ms later (views.hold_frames).
            title._check_refresh()

    @on(WorkerFailed)
    def _worker_failed(self, event: WorkerFailed) -> None:
        if event.group == "page":
            self._paging = False  # the next page may be asked for again
            self.release_frames()
            if self._list_pending:
                self._list_pending = False
                self._update_title()
        if event.group == "counts":
            self._counting = False
            if not self._list_pending:  # the page is shown; no count comes for its title
                self._update_title()
                self.release_frames()
        if event.refused:  # someone else was first: show the tickets as they are now
            self._reload_with_detail()

    # ------------------------------------------------------------------ events

    def _follow_cursor(self, *, moved: bool = True) -> None:
        """The cursor moved (``TicketTable.cursor_moved``, at once): its ticket into the pane;
        on the first or last row the page beyond is read ahead (not where a new page put it)."""
        row = self._current_row()
        if row is None:
            return
        if row.id != self._followed_id:
            self._followed_id = row.id
            self._refresh_bindings_if_changed()  # the shown ticket's order actions no longer apply
            self._load_detail(row.id)
        if moved and not self._landing:
            self._read_page_ahead()

    @on(DataTable.RowHighlighted)
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._follow_cursor(moved=False)  # done already when the cursor moved, unless elsewhere

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_open_ticket()

    def action_open_ticket(self) -> None:
        """The ticket under the cursor, full screen (``screens.ticket``); ``esc`` there comes
        back here with the cursor where it was and the list focused."""
        row = self._current_row()
        if row is not None:
            self.app.open_ticket(row)

    # ------------------------------------------------------------------ helpers

    def _current_row(self) -> TicketRow | None:
        if self.page is None or not self.page.rows:
            return None
        table = self.query_one(TicketTable)
        if not table.row_count:
            return None
        index = min(table.cursor_row, len(self.page.rows) - 1)
        return self.page.rows[index]

    def _refresh_bindings_if_changed(self) -> None:
        """Rebuild the footer only when the ticket-dependent keys change.

        A footer rebuild on every cursor move costs a full repaint, and Textual keeps
        the replaced footer keys alive (about 1 MB per page walked).
        """
        state = tuple(self.check_action(action, ()) for action in DYNAMIC_ACTIONS)
        if state != getattr(self, "_bindings_state", None):
            self._bindings_state = state
            self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action in ("search", "command_line") and isinstance(self.focused, Input):
            return False  # a "/" or ":" typed in the search or the command line is text
        if action == "log_time":
            if self.app.agent.is_system:
                return None
            return True if self.page is None or self.page.rows else None
        if action in ROW_ACTIONS:
            return True if self.page is None or self.page.rows else None
        if action in ORDER_ACTIONS:
            # Shown only on a ticket whose order waits for exactly this; who may do it is
            # the service's call (a refusal is shown as a message).
            return self._order_shown(action) is not None  # False hides it
        if action in ("approve", "deny", "decide_refused"):
            return self._extension_action_state(action)
        if action == "new_ticket":
            return None if self.app.agent.is_system else True
        if action == "extension":
            row = self._current_row()
            return True if row is not None and row.customer_id is not None else None
        return True


def _source_prompt(label: str, count: int) -> Text:
    """One sidebar line: the name, and its count right-aligned (never wrapping)."""
    line = Text(f"{label[:19]:<19}")
    line.append(f"{count_de(count):>6}", style="dim")
    return line
