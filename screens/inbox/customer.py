"""The customer behind the ticket: ``u`` the card, ``t`` time on its budget, ``R`` the radar.

The dialogs and screens are ``screens.dialogs.log_time``, ``screens.card`` (through
``app.open_customer``) and ``screens.radar``.
"""

from __future__ import annotations

from textual.screen import Screen


class CustomerActions(Screen):
    """Mixin of ``InboxScreen``: the ticket under the cursor leads to its customer."""

    def action_customer(self) -> None:
        row = self._current_row()
        if row is None:
            return
        if row.customer_id is None:
            self.notify(f"#{row.number} hat keinen Kunden.", severity="warning")
            return
        self.app.open_customer(row.customer_id)

    def action_log_time(self) -> None:
        from ..dialogs.log_time import LogTimeDialog, announce_time

        row = self._current_row()
        if row is None:
            return
        if row.customer_id is None:
            self.notify(f"#{row.number} hat keinen Kunden: Zeit wird auf das Budget eines Kunden gebucht.",
                        severity="warning")
            return
        customer = row.customer_name or "Kunde"
        self.app.push_screen(
            LogTimeDialog(customer_id=row.customer_id, customer=customer, ticket_id=row.id, ticket_number=row.number),
            lambda result: announce_time(self, result, customer),
        )

    def action_radar(self) -> None:
        from ..radar import RadarScreen

        self.app.push_screen(RadarScreen())
