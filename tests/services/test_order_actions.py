"""Which order decision a ticket offers (``orders.order_action_applies``), without a database."""

from __future__ import annotations

import pytest

from deskapp.services import orders
from models.enums import OrderStatus, TicketKind


@pytest.mark.parametrize("action", ["release", "reject", "contact"])
def test_held_order_decisions_apply_to_a_held_order_on_its_ticket(action):
    assert orders.order_action_applies(action, ticket_kind=TicketKind.HELD_ORDER, order_status=OrderStatus.HELD)


@pytest.mark.parametrize("action", ["release", "reject", "contact"])
@pytest.mark.parametrize("status", [s for s in OrderStatus if s != OrderStatus.HELD])
def test_a_decided_order_offers_no_decision(action, status):
    assert not orders.order_action_applies(action, ticket_kind=TicketKind.HELD_ORDER, order_status=status)


@pytest.mark.parametrize("action", orders.ORDER_ACTIONS)
@pytest.mark.parametrize("kind", [k for k in TicketKind if k not in (TicketKind.HELD_ORDER, TicketKind.REGISTRY_FAILURE)])
def test_other_tickets_offer_no_order_action(action, kind):
    for status in OrderStatus:
        assert not orders.order_action_applies(action, ticket_kind=kind, order_status=status)


def test_retry_applies_to_a_failed_order_on_its_registry_failure_ticket_only():
    applies = orders.order_action_applies
    assert applies("retry", ticket_kind=TicketKind.REGISTRY_FAILURE, order_status=OrderStatus.FAILED)
    assert not applies("retry", ticket_kind=TicketKind.REGISTRY_FAILURE, order_status=OrderStatus.EXECUTED)
    assert not applies("retry", ticket_kind=TicketKind.HELD_ORDER, order_status=OrderStatus.FAILED)
    # A held order on a registry-failure ticket (retried, held again) waits for no decision there.
    assert not applies("release", ticket_kind=TicketKind.REGISTRY_FAILURE, order_status=OrderStatus.HELD)


def test_an_unknown_action_is_a_programming_error():
    with pytest.raises(ValueError):
        orders.order_action_applies("approve", ticket_kind=TicketKind.HELD_ORDER, order_status=OrderStatus.HELD)
