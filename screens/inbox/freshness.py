"""The inbox kept current (a mixin of ``InboxScreen``): another desk's changes found by
polling a change token, and the list and detail read again after the agent's own change."""

from __future__ import annotations

from textual import on, work
from textual.screen import Screen

from ..messages import ChangedElsewhere, TicketsChanged


class KeepingCurrent(Screen):
    """Needs the screen's ``reload``, ``_load_detail``, ``_current_row``, ``_details``,
    ``_token``, ``current`` and ``marked``."""

    @work(thread=True, exclusive=True, group="poll", exit_on_error=False)
    def _poll(self) -> None:
        from deskapp.services import tickets
        token = self.app.read(tickets.change_token)
        if token != self._token:
            self.post_message(ChangedElsewhere())

    def on_screen_resume(self) -> None:
        self.check_for_changes()  # back from a card or dialog: catch up at once

    def check_for_changes(self) -> None:
        # Only while the inbox is on top: a card or dialog above it needs no repaint below.
        # (``is_active``, not ``is_current``: Textual counts the screen right below the top
        # one as current even under an opaque card, and each poll there repainted the card.)
        if self._token is not None and self.is_active:
            self._poll()

    @on(ChangedElsewhere)
    def _changed_elsewhere(self, _event: ChangedElsewhere) -> None:
        self._details.clear()
        self.reload()
        if self.current is not None:
            self._load_detail(self.current.row.id)

    @on(TicketsChanged)
    def _tickets_changed(self, event: TicketsChanged) -> None:
        if event.done:
            self.notify(event.done, timeout=3)
        refused = event.refused
        for message in refused[:5]:
            self.notify(message, severity="warning", timeout=8)
        if len(refused) > 5:
            self.notify(f"… und {len(refused) - 5} weitere nicht geändert.", severity="warning", timeout=8)
        if event.clear_marks:
            self.marked.clear()
        self._reload_with_detail()

    def _reload_with_detail(self) -> None:
        self._details.clear()  # our own change: what was read ahead may be stale
        self.reload()
        row = self._current_row()
        if row is not None:
            self._load_detail(row.id)
