"""The inbox's detail pane fed for the cursor (a mixin of ``InboxScreen``).

The detail of the row under the cursor comes from a small read-ahead cache when it is
fresh (the rows below and above the one shown, kept for a short while: ages and order
states move on; another desk's change clears them), else from one read in a thread
worker. One read at a time: a burst of cursor keys starts no worker per key.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import TYPE_CHECKING

from textual import on, work
from textual.message import Message
from textual.screen import Screen

from ..messages import DetailLoaded
from .detail import TicketDetailPane
from .table import TicketTable

if TYPE_CHECKING:  # annotations only: the first frame comes before SQLAlchemy is imported
    from deskapp.services.ticket_detail import TicketDetail

READ_AHEAD = (1, 2, 3, -1)  # and, while paging, a page down and up
READ_AHEAD_DELAY = 0.05  # seconds after a key: its repaint is out (Textual writes it in a thread)
DETAIL_CACHE = 32
DETAIL_FRESH_SECONDS = 20.0


def landing_detail(session, page, mode: str, want: int | None, **clock) -> TicketDetail | None:
    """In the page worker: the detail of the row the cursor lands on in ``page`` (the wanted
    ticket, else the first row, or the last one of a page before), so the page and its
    detail are shown together. ``clock``: ``now``, ``policy``, ``viewer`` of ``detail``."""
    ids = [r.id for r in page.rows]
    if not ids:
        return None
    from deskapp.services import ticket_detail

    target = want if want in ids else (ids[-1] if mode == "before" else ids[0])
    return ticket_detail.detail(session, target, **clock)


class _DetailDone(Message):
    """The detail worker ended (loaded or failed): the next request may start."""


class DetailReading(Screen):
    """Needs ``page``, ``current``, ``_current_row`` and ``_refresh_bindings_if_changed`` of
    the screen; call ``_init_detail_reading`` from its ``__init__``."""

    def _init_detail_reading(self) -> None:
        self._details: OrderedDict[int, tuple[float, TicketDetail]] = OrderedDict()  # id -> (read at, detail)
        self._detail_wanted: int | None = None
        self._detail_loading = False
        self._detail_stale = False

    def _load_detail(self, ticket_id: int) -> None:
        """Show the ticket's detail: from the read-ahead when it is fresh, else read it.

        One read at a time: a read asked for while one is under way waits for it to end, and
        then only the row the cursor stands on is read — a burst of cursor keys starts no
        worker per key (each would cancel all the lingering ones again)."""
        cached = self._cached_detail(ticket_id)
        if cached is not None:
            self._present_detail(cached)
        else:
            self._present_row(ticket_id)
        ahead = self._read_ahead_ids(ticket_id)
        if cached is not None and not ahead:
            return
        self._detail_wanted = ticket_id
        if self._detail_loading:
            self._detail_stale = True  # the read under way is for another row or older data
            return
        self._detail_loading = True
        if cached is None:
            self._fetch_detail(ticket_id, ahead)
        else:  # only reading ahead: once the repaint is written, which the read's thread would slow (GIL)
            self.set_timer(READ_AHEAD_DELAY, lambda: self._fetch_detail(None, ahead))

    def _read_ahead_ids(self, ticket_id: int) -> tuple[int, ...]:
        rows = self.page.rows if self.page is not None else ()
        index = next((i for i, r in enumerate(rows) if r.id == ticket_id), None)
        if index is None:
            return ()
        near = [index + d for d in READ_AHEAD if 0 <= index + d < len(rows)]
        # Paging: also where the next page down / page up lands.
        table = self.query_one(TicketTable)
        step = table.page_step()
        if table.paging and step > 1:
            near += [min(index + step, len(rows) - 1), max(index - step, 0)]
        ids = dict.fromkeys(rows[i].id for i in near if i != index)
        return tuple(i for i in ids if self._cached_detail(i) is None)

    def _cached_detail(self, ticket_id: int) -> TicketDetail | None:
        entry = self._details.get(ticket_id)
        if entry is None:
            return None
        read_at, detail = entry
        row = next((r for r in (self.page.rows if self.page else ()) if r.id == ticket_id), None)
        if time.monotonic() - read_at > DETAIL_FRESH_SECONDS or row is None or row.version != detail.row.version:
            del self._details[ticket_id]
            return None
        return detail

    def _remember_details(self, details) -> None:
        now = time.monotonic()
        for detail in details:
            self._details[detail.row.id] = (now, detail)
            self._details.move_to_end(detail.row.id)
        while len(self._details) > DETAIL_CACHE:
            self._details.popitem(last=False)

    @work(thread=True, group="detail", exit_on_error=False)
    def _fetch_detail(self, ticket_id: int | None, ahead: tuple[int, ...] = ()) -> None:
        from deskapp.services import ticket_detail
        app = self.app
        try:
            now, policy, viewer = app.now(), app.policy, app.agent

            def read(session):
                one = lambda i: ticket_detail.detail(session, i, now=now, policy=policy, viewer=viewer)  # noqa: E731
                return (one(ticket_id) if ticket_id is not None else None), tuple(one(i) for i in ahead)

            detail, neighbours = app.read(read)
            self.post_message(DetailLoaded(detail, neighbours))
        finally:
            self.post_message(_DetailDone())

    @on(_DetailDone)
    def _detail_done(self, _event: _DetailDone) -> None:
        self._detail_loading = False
        if self._detail_stale and self._detail_wanted is not None:
            self._detail_stale = False
            self._load_detail(self._detail_wanted)

    @on(DetailLoaded)
    def _show_detail(self, event: DetailLoaded) -> None:
        self._remember_details(event.neighbours)
        if event.detail is not None:
            self._remember_details((event.detail,))
            self._present_detail(event.detail)

    def _present_row(self, ticket_id: int) -> None:
        """Not read yet: the ticket's head from its row at once, never another ticket's detail.
        The pane keeps a ticket it already shows (a reload reads it again)."""
        pane = self.query_one(TicketDetailPane)
        current = self._current_row()
        if current is not None and current.id == ticket_id and pane.shown_id != ticket_id:
            pane.show_row(current)

    def _present_detail(self, detail: TicketDetail) -> None:
        current = self._current_row()
        if current is None or current.id != detail.row.id:
            return  # the cursor moved on meanwhile
        self.current = detail
        self.query_one(TicketDetailPane).show(detail, login=self.app.agent.login)
        self._refresh_bindings_if_changed()  # the order/extension actions depend on the ticket shown
