"""Issue 15: a failed order tells the customer what happened (unreachable vs refused)."""

from __future__ import annotations

from deskapp.services import registry
from screens.cli.orders import FAILED_REFUSED, FAILED_UNREACHABLE, failed_why


def test_unreachable_is_not_called_a_refusal():
    for error in (registry.MSG_UNREACHABLE, registry.MSG_TIMEOUT.format(seconds=5, url="http://r"),
                  registry.MSG_REFUSED_CONN.format(url="http://r")):
        assert failed_why(error) == FAILED_UNREACHABLE


def test_a_refusal_says_so():
    assert failed_why(registry.MSG_REJECTED.format(error="Domain vergeben")) == FAILED_REFUSED
    assert failed_why(registry.MSG_SIM_REFUSED.format(item="a.de")) == FAILED_REFUSED
