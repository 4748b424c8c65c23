"""A real SMTP peer on 127.0.0.1 for the delivery tests (aiosmtpd), on a port the OS picks."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading

from aiosmtpd.controller import Controller


class FreePortController(Controller):
    """aiosmtpd on an OS-chosen free port (port 0): the real port is read after binding."""

    def _trigger_server(self):
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class Inbox:
    """The SMTP server's handler: keeps what it accepted; ``refuse`` makes it answer 550."""

    def __init__(self) -> None:
        self.received: list[email.message.EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refuse = ""
        self.lock = threading.Lock()
        # A slow or stuck server: it keeps the mail (it will deliver it), then answers only
        # after ``delay`` seconds, or only once ``hold`` is set. ``arrived`` is set per mail.
        self.delay = 0.0
        self.hold: threading.Event | None = None
        self.arrived = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        if self.refuse:
            return self.refuse
        await asyncio.sleep(0.005)  # let parallel senders interleave
        with self.lock:
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            self.received.append(email.message_from_bytes(envelope.original_content, policy=email.policy.default))
        self.arrived.set()
        hold = self.hold
        while hold is not None and not hold.is_set():
            await asyncio.sleep(0.01)
        if self.delay:
            await asyncio.sleep(self.delay)
        return "250 Message accepted for delivery"


def closed_port() -> int:
    """A port nothing listens on (bound once, then let go)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
