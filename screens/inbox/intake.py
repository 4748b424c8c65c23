"""``N``: a ticket opened by hand (``screens.dialogs.new_ticket``); the inbox then stands on it.

Mixin of ``InboxScreen`` (its ``source`` and ``show_ticket``).
"""

from __future__ import annotations

from textual.screen import Screen

MSG_OPENED = "Ticket #{number} angelegt."


class IntakeActions(Screen):
    """The inbox's way to open a ticket by hand."""

    def action_new_ticket(self) -> None:
        from ..dialogs.new_ticket import NewTicketDialog

        kind, name = self.source.split(":")

        def opened(row) -> None:
            if row is None:
                return
            self.notify(MSG_OPENED.format(number=row.number), timeout=4)
            # Its queue, the cursor on it (navigation.show_ticket finds it by number).
            self.show_ticket(row.id)

        self.app.push_screen(NewTicketDialog(queue=name if kind == "queue" else None), opened)
