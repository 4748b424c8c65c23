"""The inbox's pages (a mixin of ``InboxScreen``): keyset paging, one page in the table.

A page is read in a thread worker together with the detail of the row the cursor lands on
(``landing_detail``), so the page and the detail pane are painted together. When the cursor
stands on the first or last row of a page, the neighbouring page is read ahead (once, in
the background); the page turn then shows it at once. A page read ahead is used only for
the list it was read for, only while it is fresh, and a reload forgets it: the change-token
poll catches what changed since (``freshness``).
"""

from __future__ import annotations

import time

from textual import on, work
from textual.message import Message
from textual.screen import Screen
from textual.worker import get_current_worker

from deskapp.services import filters

from ..messages import DetailLoaded, PageLoaded
from .detail_reading import DETAIL_FRESH_SECONDS, READ_AHEAD_DELAY, landing_detail
from .table import TicketTable

PAGE_AHEAD_FRESH_SECONDS = DETAIL_FRESH_SECONDS


class _PageAhead(Message):
    """A neighbouring page read ahead: (mode, key, filter) it answers, and what was read."""

    def __init__(self, mode: str, key, filt, read: tuple) -> None:
        super().__init__()
        self.mode, self.key, self.filt, self.read = mode, key, filt, read


class Paging(Screen):
    """Needs the screen's ``page``, ``filter``, ``_want_id``, ``_paging``, ``_page_request``,
    ``_current_row`` and ``_show_page``; call ``_init_paging`` from its ``__init__``."""

    def _init_paging(self) -> None:
        self._page_ahead: dict[str, tuple[float, object, object, tuple]] = {}  # mode -> (at, key, filter, read)

    def _load_page(self, *, start=None, mode: str = "around", key=None) -> None:
        self._page_request += 1
        self._page_ahead.clear()  # what comes is newer
        row = self._current_row()
        want = self._want_id if self._want_id is not None else (row.id if row is not None else None)
        self._fetch_page(self._page_request, start=start, mode=mode, key=key, want=want)

    def _page_reader(self, filt, *, start, mode: str, key, want: int | None):
        """The read of one page for a worker: page, change token, own requests, landing detail."""
        app = self.app
        actor, size = app.agent, app.policy.inbox_page_size
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
            landing = landing_detail(session, page, mode, want, viewer=actor, **clock)
            return page, tickets.change_token(session), outcome, landing

        return fetch

    @work(thread=True, exclusive=True, group="page", exit_on_error=False)
    def _fetch_page(self, request: int, *, start, mode: str, key, want: int | None = None) -> None:
        page, token, outcome, detail = self.app.read(
            self._page_reader(self.filter, start=start, mode=mode, key=key, want=want))
        if not get_current_worker().is_cancelled:  # a newer request superseded this one
            if detail is not None:  # first into the read-ahead, so the page shows with its detail
                self.post_message(DetailLoaded(None, (detail,)))
            self.post_message(PageLoaded(page, token, mode, outcome, request=request))

    # ------------------------------------------------------------------ turning pages

    @on(TicketTable.PageEdge)
    def _page_edge(self, event: TicketTable.PageEdge) -> None:
        if self.page is None or not self.page.rows or self._paging:
            return  # one page turn at a time, however fast the key repeats
        if event.forward and self.page.has_after:
            self._turn_page("after", self.page.rows[-1].key)
        elif not event.forward and self.page.has_before:
            self._turn_page("before", self.page.rows[0].key)

    def _turn_page(self, mode: str, key) -> None:
        ahead = self._page_ahead.pop(mode, None)
        if ahead is not None and ahead[3] is not None:  # read (not still on its way)
            at, ahead_key, filt, (page, token, outcome, detail) = ahead
            if ahead_key == key and filt == self.filter and time.monotonic() - at <= PAGE_AHEAD_FRESH_SECONDS:
                self._page_request += 1  # nothing older may replace it
                self._page_ahead.clear()
                if detail is not None:
                    self._remember_details((detail,))
                self._show_page(PageLoaded(page, token, mode, outcome, request=self._page_request))
                return
        self._paging = True
        self._load_page(mode=mode, key=key)

    def _read_page_ahead(self) -> None:
        """On the first or last row: read the page beyond it, once, after the repaint."""
        page, row = self.page, self._current_row()
        if page is None or row is None or self._paging:
            return
        if row.id == page.rows[-1].id and page.has_after:
            mode, key = "after", page.rows[-1].key
        elif row.id == page.rows[0].id and page.has_before:
            mode, key = "before", page.rows[0].key
        else:
            return
        held = self._page_ahead.get(mode)
        if (held is not None and held[1] == key and held[2] == self.filter
                and time.monotonic() - held[0] <= PAGE_AHEAD_FRESH_SECONDS):
            return  # read already (or on its way)
        self._page_ahead[mode] = (time.monotonic(), key, self.filter, None)  # on its way
        filt = self.filter
        self.set_timer(READ_AHEAD_DELAY, lambda: self._fetch_page_ahead(mode, key, filt))

    @work(thread=True, exclusive=True, group="page-ahead", exit_on_error=False)
    def _fetch_page_ahead(self, mode: str, key, filt) -> None:
        read = self.app.read(self._page_reader(filt, start=None, mode=mode, key=key, want=None))
        self.post_message(_PageAhead(mode, key, filt, read))

    @on(_PageAhead)
    def _page_read_ahead(self, event: _PageAhead) -> None:
        held = self._page_ahead.get(event.mode)
        if held is None or held[1] != event.key or held[2] != event.filt:
            return  # a page was shown or the list changed meanwhile
        self._page_ahead[event.mode] = (time.monotonic(), event.key, event.filt, event.read)
