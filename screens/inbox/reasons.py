"""Why a greyed inbox key is greyed (docs/rules.md#greyed-keys).

Mixin of ``InboxScreen``: ``DeskApp.run_action`` asks ``why_greyed`` when a key whose
``check_action`` answers ``None`` is pressed, and shows the answer as a notice.
"""

from __future__ import annotations

from textual.screen import Screen

from ..greyed import NO_ROW


class GreyedReasons(Screen):
    def why_greyed(self, action: str) -> str | None:
        agent = self.app.agent
        if action in ("log_time", "new_ticket") and agent.is_system:
            return "Der Systemagent erfasst keine Zeit und legt keine Tickets an."
        if action in ("approve", "deny"):
            from ..extension_text import extension_refusal

            request = self._extension_shown()
            return extension_refusal(request) if request is not None else None
        if action == "extension":
            row = self._current_row()
            if row is None:
                return NO_ROW
            return (f"#{row.number} gehört zu keinem Kunden: eine Verlängerung wird auf der "
                    "Kundenkarte beantragt (Strg+U sucht den Kunden).")
        if self.page is not None and not self.page.rows:
            return NO_ROW
        return None


__all__ = ["GreyedReasons"]
