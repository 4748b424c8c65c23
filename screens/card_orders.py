"""The card's order keys (a mixin of ``CardScreen``): order for the customer, change the
credit limit, settle the order under the cursor or all executed ones up to a day
(docs/rules.md#credit-limit). Dialogs live in ``screens.dialogs``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on, work
from textual.screen import Screen
from textual.widgets import DataTable

from deskapp.formatting import date_de, money, today_berlin
from deskapp.services import orders
from models.enums import OrderStatus

from .card_panes import CardTable
from .dialogs.choice import ChoiceDialog
from .dialogs.credit_limit import CreditLimitDialog
from .dialogs.order import OrderDialog, order_headline
from .dialogs.settle import SettleUntilDialog
from .messages import OrderSettled

if TYPE_CHECKING:  # annotations only
    from deskapp.services.orders import OrderView


class CardOrderActions(Screen):
    """Needs the card screen's ``card``, ``load`` and ``_after_write``."""

    @on(DataTable.RowHighlighted, "#card-orders")
    def _order_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.refresh_bindings()  # "Abrechnen" depends on the order under the cursor

    def _selected_order(self) -> OrderView | None:
        if self.card is None or not self.card.orders:
            return None
        table = self.query_one("#card-orders", CardTable)
        if not table.row_count:
            return None
        return self.card.orders[min(table.cursor_row, len(self.card.orders) - 1)]

    def action_order(self) -> None:
        card = self.card
        if card is None:
            return

        def placed(result: orders.OrderResult | None) -> None:
            if result is None:
                return
            severity = {"executed": "information", "held": "warning", "pending": "information"}.get(
                result.status, "error")
            self.notify(order_headline(result), severity=severity, timeout=8)
            self.load()

        self.app.push_screen(
            OrderDialog(customer_id=card.id, customer=f"{card.name} ({card.number})", limit=card.credit_limit,
                        exposure=card.exposure),
            placed,
        )

    def action_credit_limit(self) -> None:
        card = self.card
        if card is None:
            return

        def changed(result) -> None:
            if result is not None:
                self.notify(f"Kreditlimit von {card.name} geändert.", timeout=4)
                self.load()

        self.app.push_screen(
            CreditLimitDialog(customer_id=card.id, customer=card.name, limit=card.credit_limit), changed
        )

    def action_settle(self) -> None:
        order = self._selected_order()
        if order is None:
            return
        if order.status != OrderStatus.EXECUTED:
            self.notify("Nur ausgeführte Bestellungen können abgerechnet werden.", severity="warning")
            return

        def confirmed(value: str | None) -> None:
            if value == "yes":
                self._settle(order)

        self.app.push_screen(
            ChoiceDialog(
                f"Bestellung {order.item} über {money(order.amount)} als abgerechnet markieren?",
                [("yes", "Ja, abrechnen (berechnet und bezahlt)"), ("no", "Nein")],
            ),
            confirmed,
        )

    @work(thread=True, group="card-write", exit_on_error=False)
    def _settle(self, order: OrderView) -> None:
        app = self.app
        app.write(lambda s: orders.settle_order(s, app.agent, order_id=order.id, now=app.now()))
        self.post_message(OrderSettled(order))

    @on(OrderSettled)
    def _settled(self, event: OrderSettled) -> None:
        self._after_write(f"Bestellung {event.order.item} abgerechnet.", "information")

    def action_settle_until(self) -> None:
        card = self.card
        if card is None:
            return

        def settled(result) -> None:
            if result is None:
                return
            until, count = result
            if count:
                what = "1 Bestellung" if count == 1 else f"{count} Bestellungen"
                self._after_write(f"{what} bis {date_de(until)} abgerechnet.", "information")
            else:
                self._after_write(f"Keine ausgeführten Bestellungen bis {date_de(until)}.", "warning")

        self.app.push_screen(
            SettleUntilDialog(customer_id=card.id, customer=card.name, today=today_berlin(self.app.now())),
            settled,
        )
