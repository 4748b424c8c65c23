"""Search, filter reset and the agent's saved views in the inbox.

* ``/`` and ``:search`` set the list's search (the filter language of
  deskapp/rules/filterlang.py); a search looks in every queue (docs/rules.md#ticket-search);
* ``esc`` (after the marks) puts the list back to its queue or view: search and filter
  gone in one key; a queue or view switch leaves the search, the ``f`` filter stays and the
  list's title says so;
* saved views (docs/rules.md#saved-views) are a second list in the sidebar with live
  counts: ``enter`` there or ``:view NAME`` shows one, ``S`` / ``:save NAME`` saves the
  current list, ``:rename``, ``:delete`` (``D`` on the highlighted view).

Mixin of ``InboxScreen`` (its ``filter``, ``source``, ``reload`` and the sidebar).
"""

from __future__ import annotations

from dataclasses import replace

from rich.text import Text
from textual import on, work
from textual.screen import Screen
from textual.widgets import Input, OptionList
from textual.widgets.option_list import Option

from deskapp.services import filters

from ..messages import TicketsChanged
from .commandline import query_of
from .table import TicketTable

SAVED_PREFIX = "saved:"
# The longest the screen holds its frames for the first page of another list (``hold_frames``).
HOLD_FRAMES_SECONDS = 0.3


def plain_filter(source: str, saved: dict[str, str]) -> filters.TicketFilter:
    """What ``source`` lists with nothing narrowed."""
    kind, _, name = source.partition(":")
    if kind == "queue":
        return filters.TicketFilter(queue=name)
    if kind == "view":
        return filters.TicketFilter(queue=None, view=name)
    return filters.TicketFilter(queue=None, search=saved.get(name, ""))


def view_prompt(name: str, count: int | None) -> Text:
    line = Text(f"{name[:19]:<19}")
    line.append("" if count is None else f"{count:>6}", style="dim")
    return line


class SavedViews(Screen):
    """Mixin of ``InboxScreen``."""

    saved: dict[str, str]  # view name -> its query, as last loaded
    _frames_held = None  # (the batch being held, its timer) while a list's first page is read

    # -- one frame for another list ----------------------------------------------------

    def hold_frames(self) -> None:
        """Paint the switch to another list (search, filter, their reset) once, with its rows.

        The key's own changes — the focus leaving the search field, the dialog closing, the
        title's "…" — would each be a frame of their own before the page's, and the table
        is drawn in full for each (its focus restyles every row). Until the page is shown
        (``release_frames``), a failure or ``HOLD_FRAMES_SECONDS``, the app computes no
        frame; the keys typed meanwhile act as ever.
        """
        if self._frames_held is not None:
            batch, timer = self._frames_held
            timer.stop()
        else:
            batch = self.app.batch_update()
            batch.__enter__()
        self._frames_held = (batch, self.set_timer(HOLD_FRAMES_SECONDS, self._frames_held_too_long))

    def _frames_held_too_long(self) -> None:
        self._update_title()  # the page may be here without its count
        self.release_frames()

    def release_frames(self) -> None:
        held, self._frames_held = self._frames_held, None
        if held is not None:
            batch, timer = held
            timer.stop()
            batch.__exit__(None, None, None)

    # -- search and reset --------------------------------------------------------------

    def apply_search(self, text: str) -> None:
        """Show what ``text`` (the ``/`` language) finds; empty: the search is gone."""
        text = text.strip()
        self.filter = replace(self.filter, search=text)
        box = self.query_one("#search", Input)
        box.value = text
        box.display = bool(text)
        self.marked.clear()
        self.hold_frames()
        self.query_one(TicketTable).focus()
        self.reload(first=True, keep=False, sidebar=False)

    def filter_narrowed(self) -> bool:
        return self.filter != plain_filter(self.source, self.saved)

    def reset_filter(self) -> None:
        """Search and filter gone in one go: the list as its queue or view shows it."""
        if not self.filter_narrowed():
            return
        self.filter = plain_filter(self.source, self.saved)
        box = self.query_one("#search", Input)
        box.value = ""
        box.display = False
        self.marked.clear()
        self.hold_frames()
        self.query_one(TicketTable).focus()
        self.notify("Suche und Filter zurückgesetzt.", timeout=2)
        self.reload(first=True, keep=False, sidebar=False)

    def action_toggle_search_scope(self) -> None:
        """``ctrl+t``: the search in every queue, or only in the queue shown."""
        if not self.filter.search:
            self.notify("Erst suchen (/), dann mit Strg+T auf diese Queue beschränken.", timeout=4)
            return
        self.filter = replace(self.filter, search_in_queue=not self.filter.search_in_queue)
        self.reload(first=True, keep=False, sidebar=False)

    def action_toggle_closed(self) -> None:
        """``ctrl+d``: closed tickets in the list too, or again the open ones only."""
        shows_all = tuple(sorted(self.filter.statuses)) == tuple(sorted(filters.ALL_STATUSES))
        statuses = filters.ACTIVE_STATUSES if shows_all else filters.ALL_STATUSES
        self.filter = replace(self.filter, statuses=statuses)
        self.notify("Nur offene Tickets." if shows_all else "Mit erledigten Tickets.", timeout=2)
        self.reload(first=True, keep=False, sidebar=False)

    def filter_as_query(self) -> str:
        return query_of(self.filter)

    # -- saved views -------------------------------------------------------------------

    def saved_view_name(self) -> str | None:
        kind, _, name = self.source.partition(":")
        return name if kind + ":" == SAVED_PREFIX else None

    def source_label(self) -> str:
        name = self.saved_view_name()
        if name is not None:
            return f"Ansicht „{name}“"
        from .navigation import SOURCES

        return dict(SOURCES).get(self.source, self.source)

    def show_saved_view(self, name: str) -> None:
        if name not in self.saved:
            self.notify(f"Keine Ansicht „{name}“. :save NAME speichert die aktuelle Liste.", severity="warning",
                        timeout=6)
            return
        self.source = SAVED_PREFIX + name
        self.filter = plain_filter(self.source, self.saved)
        box = self.query_one("#search", Input)
        box.value = ""
        box.display = False
        self.marked.clear()
        self.query_one("#sources", OptionList).highlighted = None
        names = list(self.saved)
        self.query_one("#saved-views", OptionList).highlighted = names.index(name)
        self.reload(first=True, keep=False, sidebar=False)

    def show_saved_views(self, rows) -> None:
        """The sidebar's second list, from ``views.list_views(counts=True)``."""
        self.saved = {r.name: r.query for r in rows}
        box = self.query_one("#saved-views", OptionList)
        highlighted = box.highlighted
        box.clear_options()
        box.add_options([Option(view_prompt(r.name, r.count), id=SAVED_PREFIX + r.name) for r in rows])
        box.display = bool(rows)
        self.query_one("#saved-views-title").display = bool(rows)
        # With views below them, the queues keep one line each; without, the whole height.
        from .navigation import SOURCES

        self.query_one("#sources", OptionList).styles.height = len(SOURCES) if rows else "1fr"
        if highlighted is not None and rows:
            box.highlighted = min(highlighted, len(rows) - 1)

    def views_changed(self, old: str, new: str | None) -> None:
        """After a rename or delete: the list shown follows its view (or leaves it)."""
        if self.saved_view_name() != old:
            return
        if new is None:
            self.action_source("queue:support")
        else:
            self.source = SAVED_PREFIX + new
            self.saved[new] = self.saved.pop(old, "")

    def action_save_view(self) -> None:
        """``S``: the command line, ready to name the list shown as a view."""
        self.open_command(":save ")

    def action_delete_view(self) -> None:
        """``D`` on a view in the sidebar (or while one is shown): delete it."""
        box = self.query_one("#saved-views", OptionList)
        name = None
        if box.has_focus and box.highlighted is not None:
            name = box.get_option_at_index(box.highlighted).id.removeprefix(SAVED_PREFIX)
        name = name or self.saved_view_name()
        if not name:
            self.notify("Keine eigene Ansicht gewählt.", timeout=3)
            return
        self.open_command(f':delete "{name}"')

    @on(OptionList.OptionSelected, "#saved-views")
    def _saved_view_selected(self, event: OptionList.OptionSelected) -> None:
        self.show_saved_view(event.option.id.removeprefix(SAVED_PREFIX))
        self.query_one(TicketTable).focus()

    @work(thread=True, exclusive=True, group="views", exit_on_error=False)
    def load_saved_views(self) -> None:
        from deskapp.services import views

        app = self.app
        rows = app.read(lambda s: views.list_views(s, app.agent, counts=True))
        app.call_from_thread(self.show_saved_views, rows)

    @on(TicketsChanged)
    def _views_may_have_changed(self, _event: TicketsChanged) -> None:
        self.load_saved_views()  # a saved view's count or name may differ now
