"""Why a greyed key on the customer card is greyed (docs/rules.md#greyed-keys).

Mixin of ``CardScreen`` (its ``card`` and ``_selected_order``); ``DeskApp.run_action``
shows the answer when a greyed key is pressed.
"""

from __future__ import annotations

from textual.screen import Screen

from deskapp import texts

from .greyed import only_roles

LOADING = "Die Kundenkarte wird noch geladen."


class CardReasons(Screen):
    def why_greyed(self, action: str) -> str | None:
        agent = self.app.agent
        if self.card is None:
            return LOADING
        if agent.is_system and action in ("tasks", "log_time", "order", "extension", "file_entry"):
            return "Der Systemagent bestellt nicht, erfasst keine Zeit und beantragt nichts."
        if action == "book_package":
            from deskapp.services.budget import BOOKING_ROLES

            return only_roles("Stundenpakete buchen", BOOKING_ROLES)
        if action == "edit_customer":
            from deskapp.services.customers import MASTER_ROLES

            return only_roles("Stammdaten bearbeiten", MASTER_ROLES)
        if action == "credit_limit":
            from deskapp.services.orders import CONTRACT_ROLES

            return only_roles("Das Kreditlimit ändern", CONTRACT_ROLES)
        if action in ("settle", "settle_until"):
            from deskapp.services.orders import SETTLE_ROLES

            if not (agent.roles & SETTLE_ROLES):
                return only_roles("Abrechnen", SETTLE_ROLES)
            order = self._selected_order()
            if order is None:
                return "Keine Bestellung unter dem Cursor (Tab wechselt in die Bestellungen)."
            status = texts.ORDER_STATUS.get(order.status, order.status)
            return f"Abgerechnet werden nur ausgeführte Bestellungen; diese ist {status}."
        return None


__all__ = ["CardReasons"]
