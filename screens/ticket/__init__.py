"""The ticket, full screen (``TicketScreen``), split by reason to change:

- ``screen``   — the frame: the head, the conversation page by page, the keys (the inbox's
  action mixins reused on the one ticket shown);
- ``entries``  — one entry of the conversation (message, internal note, system event);
- ``composer`` — the reply composer (send, keep or drop the draft);
- ``save``     — the path an attachment is saved to.
"""

from .screen import TicketScreen

__all__ = ["TicketScreen"]
