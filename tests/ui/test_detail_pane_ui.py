"""The inbox's keys at speed (issue 16): the detail pane always shows the ticket under the
cursor, the next page is there at once when the cursor waited at the page's edge, the
pane says when its text goes on below, and the list's title never names a new list with
the old list's rows."""

from __future__ import annotations

import threading

from deskapp.services import tickets
from screens.inbox import InboxScreen
from screens.inbox.detail import MORE_BELOW, TicketDetailPane
from screens.inbox.table import TicketTable
from tests.support.ui import make_app, settle

PAGE = 20  # tests.support.ui.TEST_PAGE_SIZE


def inbox(app) -> InboxScreen:
    screen = app.screen
    assert isinstance(screen, InboxScreen), screen
    return screen


def detail_text(app) -> str:
    return inbox(app).query_one("#detail").text  # its whole text (Tab into the pane scrolls it)


def title(app) -> str:
    return str(inbox(app).query_one("#list-title").render())


async def test_fast_keys_never_leave_another_tickets_detail_in_the_pane(desk):
    engine, data = desk
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = inbox(app)
        # No waiting for the reads between the keys: each key's ticket is in the pane with it,
        # read ahead or (not yet read) its number and subject from the list.
        for key in ["j"] * 8 + ["k"] * 3 + ["pagedown", "j", "pageup", "j", "j"]:
            await pilot.press(key)
            row = screen._current_row()
            head = detail_text(app).splitlines()[0]
            assert head.startswith(f"#{row.number} "), (key, head, row.number)
            assert row.subject in head
            assert screen.query_one(TicketDetailPane).border_title == f"Ticket #{row.number}"
        await settle(pilot)
        row = screen._current_row()
        assert screen.current is not None and screen.current.row.id == row.id
        assert "Verlauf & Notizen" in detail_text(app)  # the whole detail once it is read


async def test_the_next_and_the_previous_page_come_at_once_after_waiting_at_the_edge(desk, monkeypatch):
    engine, data = desk
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=(100, 30)) as pilot:  # the table shows fewer than its 20 rows
        await settle(pilot)
        screen = inbox(app)
        await pilot.press("ctrl+end")  # the last row: the page beyond is read meanwhile
        await settle(pilot)
        last = screen._current_row()
        reads = []
        real = tickets.list_page
        monkeypatch.setattr(tickets, "list_page", lambda *a, **k: reads.append(k) or real(*a, **k))
        await pilot.press("down")
        await pilot.pause()  # no worker waited for
        assert "21–40 von 45" in title(app)
        row = screen._current_row()
        assert row.id == screen.page.rows[0].id and row.id != last.id
        assert detail_text(app).startswith(f"#{row.number} ") and "Verlauf & Notizen" in detail_text(app)
        await pilot.press("ctrl+home")  # already on the first row: the page before is read
        await settle(pilot)
        reads.clear()
        await pilot.press("pageup")
        await pilot.pause()
        assert "1–20 von 45" in title(app)
        assert screen._current_row().id == last.id  # back on the last row of the first page
        table = screen.query_one("#tickets")
        assert table.scroll_offset.y > 0  # scrolled down to it, the cursor in sight
        await settle(pilot)
        assert reads == []  # both pages came from the read ahead


async def test_a_page_read_ahead_is_not_used_for_another_list(desk):
    engine, data = desk
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = inbox(app)
        await pilot.press("ctrl+end")
        await settle(pilot)
        await pilot.press("3", "1")  # Technik and back: the list was read anew
        await settle(pilot)
        assert screen._page_ahead == {}
        await pilot.press("ctrl+end", "down")
        await settle(pilot)
        assert "21–40 von 45" in title(app)
        assert detail_text(app).startswith(f"#{screen._current_row().number} ")


async def test_a_text_longer_than_the_pane_says_so_and_scrolls_once_focused(desk):
    engine, data = desk
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = inbox(app)
        pane = screen.query_one(TicketDetailPane)
        body = screen.query_one("#detail-body")
        assert pane.border_subtitle == MORE_BELOW
        assert body.size.height == pane.scrollable_content_region.height  # cut at the pane's edge
        await pilot.press("tab")
        await settle(pilot)
        assert app.focused is pane
        assert body.size.height > pane.scrollable_content_region.height  # the whole text
        assert pane.border_subtitle == ""  # the scrollbar shows it now
        await pilot.press("end")
        await settle(pilot)
        assert pane.scroll_offset.y > 0
        await pilot.press("shift+tab")
        await settle(pilot)
        assert app.focused is screen.query_one("#tickets")
        assert pane.scroll_offset.y == 0
        assert body.size.height == pane.scrollable_content_region.height
        assert pane.border_subtitle == MORE_BELOW
        await pilot.press("j")  # the next ticket, with the list focused again
        await settle(pilot)
        assert detail_text(app).startswith(f"#{screen._current_row().number} ")


async def test_the_title_names_no_rows_of_the_list_before_while_a_queue_loads(desk, monkeypatch):
    engine, data = desk
    app = make_app(engine, data["people"]["tom"])
    go = threading.Event()
    real = tickets.page_around

    def held(*args, **kwargs):
        go.wait(10)
        return real(*args, **kwargs)

    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert "Support · 1–20 von 45" in title(app)
        monkeypatch.setattr(tickets, "page_around", held)
        await pilot.press("3")
        for _ in range(5):
            await pilot.pause()
        assert "Technik" in title(app) and "1–20" not in title(app)
        go.set()
        await settle(pilot)
        assert "Technik · 1–1 von 1" in title(app)


async def test_the_tables_cells_look_exactly_as_datatable_draws_them(desk):
    """TicketTable draws its one-line cells itself (one_line_cell, issue 16): every character
    and its style as DataTable's own rendering, with and without the cursor, cut or not."""
    from rich.segment import Segment
    from textual.widgets import DataTable

    from screens.inbox.table import TicketTable

    def chars(lines):
        return [[(ch, seg.style) for seg in line for ch in seg.text] for line in lines]

    engine, data = desk
    for size in ((80, 24), (160, 48)):
        app = make_app(engine, data["people"]["tom"])
        async with app.run_test(size=size) as pilot:
            await settle(pilot)
            await pilot.press("space", "j")  # a marked row as well
            await settle(pilot)
            table = inbox(app).query_one(TicketTable)
            base = table.rich_style
            for row in range(table.row_count):
                for column, spec in enumerate(table.ordered_columns):
                    width = spec.get_render_width(table)
                    for cursor in (False, True):
                        style = table._get_row_style(row, base)
                        table._cell_render_cache.clear()
                        own = TicketTable._render_cell(table, row, column, style, width, cursor, False)
                        table._cell_render_cache.clear()
                        theirs = DataTable._render_cell(table, row, column, style, width, cursor, False)
                        assert chars(own) == chars(theirs), (size, row, column, cursor)
                        assert all(isinstance(s, Segment) for line in own for s in line)


async def test_rows_drawn_ahead_look_as_rows_drawn_at_the_key(desk):
    """The table draws its page's cells while idle (TicketTable._warm, issue 16): page down
    and the cursor then show exactly what drawing them at the key shows."""
    from screens.inbox.table import TicketTable

    def lines(table):
        return [[(seg.text, seg.style) for seg in strip] for strip in table.render_lines(table.size.region)]

    engine, data = desk
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=(100, 24)) as pilot:  # fewer rows shown than the page has
        await settle(pilot)
        table = inbox(app).query_one(TicketTable)
        await pilot.pause(0.5)  # the page's cells drawn ahead
        assert len(table._cell_render_cache) > table.size.height * len(table.ordered_columns)
        for key in ("pagedown", "j", "j", "pageup", "j"):
            await pilot.press(key)
            await pilot.pause()
            ahead = lines(table)
            for cache in (table._cell_render_cache, table._row_render_cache, table._line_cache):
                cache.clear()
            table._styles_cache.clear()
            assert lines(table) == ahead, key


async def test_the_unfocused_pane_shows_the_first_lines_of_the_whole_text(desk):
    engine, data = desk
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        pane = inbox(app).query_one(TicketDetailPane)
        body = inbox(app).query_one("#detail-body")
        rows = body.size.height
        shown = [strip.text.rstrip() for strip in body.render_lines(body.size.region)]
        whole = pane.text.splitlines()
        assert len(whole) > rows and pane.border_subtitle == MORE_BELOW
        assert shown == [line.rstrip()[: body.size.width] for line in whole[:rows]]


async def test_end_and_home_move_the_cursor_to_the_last_and_first_row_of_the_page(desk):
    """Found on a walk: End only scrolled the table, so page down after it stayed on the page."""
    engine, data = desk
    app = make_app(engine, data["people"]["tom"])
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = inbox(app)
        table = screen.query_one(TicketTable)
        for last, first in (("end", "home"), ("G", "g")):
            await pilot.press(last)
            await settle(pilot)
            assert table.cursor_row == table.row_count - 1
            await pilot.press(first)
            await settle(pilot)
            assert table.cursor_row == 0
        await pilot.press("end", "pagedown")  # the last row, then the next page
        await settle(pilot)
        assert "21–40 von 45" in title(app)

