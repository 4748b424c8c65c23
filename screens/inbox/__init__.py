"""The ticket inbox (``InboxScreen``), split by reason to change:

- ``screen``      — the frame: layout, counts, polling, moving around;
- ``paging``      — keyset paging, the neighbouring pages read ahead;
- ``table``       — ``TicketTable``, one page of tickets;
- ``detail``      — ``TicketDetailPane``, the open ticket (``detail_reading`` feeds it);
- ``triage``      — claim, assign, status, close, note, flag, mark, filter;
- ``held_orders`` — release, reject, contact, retry (contract processing, Technik);
- ``extensions``  — file and decide extension requests;
- ``customer``    — the customer's card, time on its budget, the radar.
"""

from .detail import TicketDetailPane
from .screen import SOURCES, InboxScreen
from .table import TicketTable

__all__ = ["SOURCES", "InboxScreen", "TicketDetailPane", "TicketTable"]
