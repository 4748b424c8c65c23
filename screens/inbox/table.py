"""The inbox's ticket list: one page of ``TicketRow`` in a DataTable.

Moving past either end of the page posts ``PageEdge``; the screen fetches the neighbouring
page (keyset paging, see ``InboxScreen``). Never a whole queue in the table.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import datetime as dt

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.cache import LRUCache
from textual.coordinate import Coordinate
from textual.geometry import Size
from textual.message import Message
from textual.widgets import DataTable

from deskapp import texts
from deskapp.formatting import age_de, inert
from deskapp.services.readmodels import TicketRow
from models.enums import Priority, TicketStatus

from ..styles import PRIORITY_STYLE, STATUS_STYLE, inert_cell

if TYPE_CHECKING:  # annotations only: the first frame comes before SQLAlchemy is imported
    from deskapp.services.extensions import ExtensionRow


def mark_cell(marked: bool) -> Text | str:
    return Text("●", style="bold yellow") if marked else ""


SIDEBAR_WIDTH = 28
# The columns in the order shown, with their titles (docs/rules.md#narrow-terminals).
COLUMNS = [("mark", " "), ("number", "Nr."), ("flags", "Flags"), ("age", "Alter"), ("prio", "Prio"),
           ("status", "Status"), ("customer", "Kunde"), ("subject", "Betreff"), ("assignee", "Bearb.")]
# Who gets room first when the terminal is narrow: (key, least, most). The subject takes what
# the others leave; a column that does not fit at its least width is left out.
# "number" fits "#100001": a busy desk passes ticket 99,999. Flags at the front of the list,
# where a narrow terminal cannot cut them off.
SHARES = [("mark", 1, 1), ("number", 7, 7), ("subject", 20, None), ("flags", 3, 5), ("prio", 8, 8),
          ("customer", 10, 32), ("status", 8, 8), ("age", 6, 6), ("assignee", 6, 7)]
WARM_DELAY = 0.1  # seconds after a new page before its cells are drawn ahead: its repaint is out
WARM_STEP = 0.005  # between two batches, so a key is never kept waiting for more than one
WARM_ROWS = 4  # rows per batch (~4 ms)
WARM_CURSOR_ROWS = 5  # the rows below the cursor also drawn with the cursor on them
SUBJECT_FIRST = 40  # the subject gets this much before the customer grows past its least
CELL_PADDING = 2  # DataTable pads each cell one column on either side
TABLE_CHROME = 3  # the vertical scrollbar (2) and one column of slack
FIXED_WIDTHS = {key: most for key, _least, most in SHARES if most is not None}


def column_widths(width: int) -> dict[str, int]:
    """The width of every column shown in a table ``width`` columns wide (the subject the rest)."""
    room = width - TABLE_CHROME
    widths: dict[str, int] = {}
    for key, least, _most in SHARES:
        if least + CELL_PADDING <= room:
            widths[key] = least
            room -= least + CELL_PADDING
    # Grow towards the most: the fixed columns first, the customer once the subject has enough.
    for key, least, most in SHARES:
        if key in widths and most is not None and key != "customer":
            extra = min(most - least, room)
            widths[key] += extra
            room -= extra
    if "customer" in widths:
        grow = min(32 - widths["customer"], max(0, room - (SUBJECT_FIRST - widths["subject"])))
        widths["customer"] += grow
        room -= grow
    widths["subject"] += max(0, room)
    return {key: widths[key] for key, _title in COLUMNS if key in widths}


class UnlinkingLRUCache(LRUCache):
    """Textual's ``LRUCache`` keeps its entries in a ring of ``[prev, next, key, value]`` lists,
    and ``clear()`` only drops the ring: every entry (rendered cells, lines, rows) stays
    alive as cyclic garbage until the next full collection of the garbage collector. The
    table clears its caches on every page, cursor move and restyle, so a walk through the
    inbox piled up pages of segments (bench/README.md, peak RSS). Here the ring is cut
    first: the entries go at once, by reference counting."""

    __slots__ = ()

    def clear(self) -> None:
        for entry in self._cache.values():
            entry.clear()
        super().clear()


# DataTable's LRU caches (textual/widgets/_data_table.py), replaced by UnlinkingLRUCache.
_TABLE_CACHES = ("_row_render_cache", "_cell_render_cache", "_row_renderable_cache", "_line_cache",
                 "_offset_cache", "_ordered_row_cache")


class TicketTable(DataTable):
    """The list. Moving past either end of the page asks the screen for the next one."""

    BINDINGS = [
        # DataTable's own enter (hidden) would hide the inbox's "Öffnen" from the footer.
        Binding("enter", "select_cursor", "Öffnen"),
        Binding("j", "cursor_down", "Runter", show=False),
        Binding("k", "cursor_up", "Hoch", show=False),
        # Home/End (g/G as in less, mutt, k9s) move the cursor to the page's first / last row,
        # as Strg+Pos1/Strg+Ende do; DataTable's own only scrolled the view.
        Binding("home,g", "scroll_top", "Anfang", show=False),
        Binding("end,G", "scroll_bottom", "Ende", show=False),
    ]

    class PageEdge(Message):
        def __init__(self, forward: bool) -> None:
            super().__init__()
            self.forward = forward

    _widths: dict[str, int] = {}
    _shown: tuple = ()
    paging = False  # the last move was by pages (or to the top/bottom): read the next page's row ahead
    # Called at once when the cursor moves (the screen shows that ticket in the same repaint
    # as the cursor; RowHighlighted comes after the cursor's repaint). Off while rows are
    # replaced, where the cursor passes the first row on its way.
    cursor_moved: Callable[[], None] | None = None
    _filling = False

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name in _TABLE_CACHES:
            setattr(self, name, UnlinkingLRUCache(getattr(self, name).maxsize))

    def add_ticket_columns(self, width: int) -> None:
        """The columns for a table ``width`` columns wide (``column_widths``)."""
        self._widths = column_widths(width)
        titles = dict(COLUMNS)
        for key, w in self._widths.items():
            self.add_column(titles[key], key=key, width=w)

    def fit_columns(self, width: int) -> None:
        """Lay the columns out again for a new width; the rows and the cursor stay."""
        if column_widths(width) == self._widths:
            return
        cursor = self.cursor_row
        self.clear(columns=True)
        self.add_ticket_columns(width)
        if self._shown:
            self.show_rows(*self._shown[0], **self._shown[1], cursor=cursor)

    def show_rows(self, rows, now: dt.datetime, *, marked, requests: dict[int, ExtensionRow],
                  cursor: int = 0) -> None:
        """Replace the rows with one page (``marked``: ticket ids with the mark), the cursor
        on row ``cursor``; ``cursor_moved`` is called once, for that row."""
        self._shown = ((rows, now), {"marked": marked, "requests": requests})
        self._filling = True
        try:
            self.clear()
            keys = [key for key, _title in COLUMNS]
            shown = [keys.index(key) for key in self._widths]
            for row in rows:  # DataTable.add_rows is this loop, without the keys
                cells = ticket_cells(row, now, marked=row.id in marked, request=requests.get(row.number))
                self.add_row(*(cells[i] for i in shown), key=str(row.id))
            if self._fixed_size():
                # The size at once (DataTable waits for idle): the cursor below is scrolled into
                # view in the same repaint, not in a second one of the whole table.
                self._new_rows.clear()
                self._require_update_dimensions = False
                self._update_dimensions(())
            if rows:
                self.move_cursor(row=min(cursor, len(rows) - 1), animate=False)
        finally:
            self._filling = False
        if rows and self.cursor_moved is not None:
            self.cursor_moved()
        if rows:
            self._warm_soon()

    _warm_generation = 0

    def _warm_soon(self) -> None:
        """After the repaint of a new page or a page key: draw ahead what the next keys show."""
        self._warm_generation += 1
        generation = self._warm_generation
        self.set_timer(WARM_DELAY, lambda: self._warm(generation))

    def _warm_rows(self) -> list[int]:
        """The rows page down and page up would show next, then those around the cursor."""
        if not self.row_count:
            return []
        step = max(1, self.page_step())
        top = int(self.scroll_y)
        here = min(self.cursor_row, self.row_count - 1)
        wanted = [*range(top + step, top + 2 * step), *range(top - step, top),
                  *range(here - 1, here + WARM_CURSOR_ROWS + 1)]
        return [i for i in dict.fromkeys(wanted) if 0 <= i < self.row_count]

    def _warm(self, generation: int, order: list[int] | None = None, start: int = 0) -> None:
        """Render ahead, a few rows at a time while the screen is idle, the cells of the rows
        the next page key brings into view (without the cursor) and of the rows next to the
        cursor (also with it on them). Page down or a cursor key then finds its rows' cells
        drawn already and only puts them together (issue 16: page down drew 20 new rows of
        9 cells in the key's time). Nothing is painted; the next page key or page stops it."""
        if generation != self._warm_generation or not self.is_attached or not self.row_count:
            return
        if order is None:
            order = self._warm_rows()
        here = min(self.cursor_row, self.row_count - 1)
        end = start + WARM_ROWS
        cursor, hover, style = self.cursor_coordinate, self.hover_coordinate, self.rich_style
        self._pass = {}
        try:
            for index in order[start:end]:
                if index < self.row_count:
                    key = self._row_locations.get_key(index)
                    self._render_line_in_row(key, 0, style, cursor, hover)
                    if here - 1 <= index <= here + WARM_CURSOR_ROWS:
                        self._render_line_in_row(key, 0, style, Coordinate(index, 0), hover)
        finally:
            self._pass = None
        if end < len(order):
            self.set_timer(WARM_STEP, lambda: self._warm(generation, order, end))

    def _fixed_size(self) -> bool:
        return bool(self.columns) and not any(c.auto_width for c in self.columns.values()) \
            and not self._labelled_row_exists

    def _update_dimensions(self, new_rows) -> None:
        """DataTable measures every cell of the new rows (900 for a page) for the columns'
        widths; ours are fixed (``column_widths``) and every row is one line high, so only the
        size is set (issue 16: ~10 ms of every page flip)."""
        if not self._fixed_size():
            super()._update_dimensions(new_rows)
            return
        width = sum(c.get_render_width(self) for c in self.columns.values())
        self.virtual_size = Size(width, self._total_row_height + (self.header_height if self.show_header else 0))

    def _render_cell(self, row_index: int, column_index: int, base_style: Style, width: int,
                     cursor: bool = False, hover: bool = False):
        """A row's one-line text cell rendered straight (``one_line_cell``), not through Rich's
        Padding/Styled/render_lines — the same segments at a fraction of the cost: a new
        page renders ~300 cells (issue 16). Anything else: DataTable's own way."""
        if row_index < 0 or column_index < 0:
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        row_key = self._row_locations.get_key(row_index)
        key = (row_key, self._column_locations.get_key(column_index), base_style, cursor, hover,
               self._show_hover_cursor, self._update_count, self._pseudo_class_state)
        lines = self._cell_render_cache.get(key)
        if lines is not None:
            return lines
        cell = self._get_row_renderables(row_index).cells[column_index]
        if self.rows[row_key].height != 1 or not isinstance(cell, Text) or "\n" in cell.plain or "\t" in cell.plain:
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        component_style, post_style = self._get_styles_to_render_cell(
            False, False, row_index < self.fixed_rows or column_index < self.fixed_columns, hover, cursor,
            self.show_cursor, self._show_hover_cursor, self.cursor_foreground_priority == "css",
            self.cursor_background_priority == "css")
        pre_style = base_style + Style.from_meta({"row": row_index, "column": column_index}) + component_style
        lines = [one_line_cell(self.app.console, cell, width, self.cell_padding, pre_style, post_style)]
        self._cell_render_cache[key] = lines
        return lines

    # While the table draws (render_lines, _warm), what every line asks again and again and
    # cannot change meanwhile is worked out once: the background through all the ancestors
    # and the zebra row styles (issue 16: a fifth of a new page's first paint).
    _pass: dict | None = None

    def render_lines(self, crop):
        self._pass = {}
        try:
            return super().render_lines(crop)
        finally:
            self._pass = None

    @property
    def background_colors(self):
        cache = self._pass
        if cache is None:
            return super().background_colors
        if "background" not in cache:
            cache["background"] = super().background_colors
        return cache["background"]

    def _get_row_style(self, row_index: int, base_style: Style) -> Style:
        cache = self._pass
        if cache is None or row_index < self.fixed_rows:
            return super()._get_row_style(row_index, base_style)
        key = (row_index % 2, base_style)
        if key not in cache:
            cache[key] = super()._get_row_style(row_index, base_style)
        return cache[key]

    def watch_cursor_coordinate(self, old, new) -> None:
        super().watch_cursor_coordinate(old, new)
        if not self._filling and self.cursor_moved is not None:
            self.cursor_moved()

    def _set_hover_cursor(self, active: bool) -> None:
        """Every cursor key turns the mouse's hover cursor off, and DataTable repaints the
        hover row (row 0 when the mouse never came) each time: a line more to draw and write
        per key, far from the cursor (issue 16). Off already: nothing changes on the screen."""
        if not active and not self._show_hover_cursor:
            return
        super()._set_hover_cursor(active)

    def show_mark(self, row: TicketRow, marked: bool) -> None:
        if "mark" in self._widths:
            self.update_cell(str(row.id), "mark", mark_cell(marked))

    def _at_edge(self, forward: bool) -> bool:
        """At the first/last row: ask for the neighbouring page instead of moving."""
        if not self.row_count:
            return False
        edge = self.cursor_row >= self.row_count - 1 if forward else self.cursor_row <= 0
        if edge:
            self.post_message(self.PageEdge(forward=forward))
        return edge

    def page_step(self) -> int:
        """How many rows page down moves the cursor (DataTable's own step: the rows shown)."""
        return self.scrollable_content_region.height - (self.header_height if self.show_header else 0)

    def action_cursor_down(self) -> None:
        self.paging = False
        if not self._at_edge(forward=True):
            super().action_cursor_down()

    def action_cursor_up(self) -> None:
        self.paging = False
        if not self._at_edge(forward=False):
            super().action_cursor_up()

    def action_page_down(self) -> None:
        self.paging = True
        if not self._at_edge(forward=True):
            super().action_page_down()
        self._warm_soon()

    def action_page_up(self) -> None:
        self.paging = True
        if not self._at_edge(forward=False):
            super().action_page_up()
        self._warm_soon()

    def action_scroll_top(self) -> None:
        self.paging = True
        super().action_scroll_top()
        self._warm_soon()

    def action_scroll_bottom(self) -> None:
        self.paging = True
        super().action_scroll_bottom()
        self._warm_soon()


_NO_SEPARATOR = Text("\n")  # joins one line only: no separator ever shows


def one_line_cell(console, cell: Text, width: int, padding: int, pre_style: Style, post_style: Style) -> list[Segment]:
    """``cell`` as DataTable draws a one-line cell ``width`` wide: padded, cut (or right-aligned)
    to the room inside, then ``pre_style`` + its own styles + ``post_style``."""
    room = max(0, width - 2 * padding)
    text = cell.copy()
    overflow = text.overflow or "fold"
    if text.justify == "right":
        text.rstrip()
        text.truncate(room, overflow=overflow)
        text.pad_left(room - text.cell_len)
    else:
        text.truncate(room, overflow=overflow)
    if text.style:  # as Text.__rich_console__ joins its lines: the own style becomes the first span
        text = _NO_SEPARATOR.join([text])
    null = Style.null()
    segments = [Segment(" " * padding, null), *text.render(console, end="")]
    fill = room - text.cell_len
    if fill > 0:
        segments.append(Segment(" " * fill, null))
    segments.append(Segment(" " * padding, null))
    return list(Segment.apply_style(segments, pre_style, post_style))


def ticket_cells(row: TicketRow, now: dt.datetime, *, marked: bool, request: ExtensionRow | None) -> list:
    priority = Priority(row.priority)
    status = TicketStatus(row.status)
    flags = "".join(texts.FLAG_SYMBOL.get(f, "?") for f in row.flags)
    subject: str | Text = inert_cell(row.subject)
    if request is not None:  # the requester's view: the outcome leads the subject
        from ..extension_text import EXTENSION_SHORT, EXTENSION_STYLE

        label = EXTENSION_SHORT.get(request.status, request.status)
        subject = Text.assemble((label, EXTENSION_STYLE.get(request.status, "")), " · ", inert(row.subject))
    return [
        mark_cell(marked),
        Text(f"#{row.number}", justify="right"),
        Text(flags, style="bold yellow"),
        age_de(row.created_at, now),
        Text(texts.PRIORITY[priority], style=PRIORITY_STYLE[priority]),
        Text(texts.STATUS[status], style=STATUS_STYLE[status]),
        inert_cell(row.customer_name),
        subject,
        inert_cell(row.assignee_login),
    ]
