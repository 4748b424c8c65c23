"""The Textual application: screens, global bindings, the command palette.

The engine, the agent at the keyboard, the policy and the clock are injected, so tests
build the app with their own database and a frozen clock.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Callable, TypeVar

from sqlalchemy.engine import Engine
from textual.app import App
from textual.binding import Binding

from models.engine import read_session, write_session

from .formatting import utcnow
from .services.readmodels import AgentRef
from .settings import Policy

T = TypeVar("T")


class DeskApp(App):
    TITLE = "deskapp"
    SUB_TITLE = "Support-Desk"
    BINDINGS = [
        Binding("ctrl+u", "customer_search", "Kunde suchen", id="customer_search"),
        Binding("question_mark", "help", "Hilfe", id="help"),
        Binding("q", "quit", "Beenden", id="quit"),
    ]

    def __init__(
        self,
        *,
        engine: Engine,
        agent: AgentRef,
        policy: Policy | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
        notice: str = "",
        poll: bool = True,
    ) -> None:
        super().__init__()
        self.engine = engine
        self.agent = agent
        self.policy = policy or Policy()
        self.clock = clock
        self.notice = notice
        self.poll = poll
        self.sub_title = f"{agent.display_name} ({agent.login})"

    # -- database access for thread workers (never call on the UI thread) ----------

    def read(self, fn: Callable[..., T]) -> T:
        with read_session(self.engine) as session:
            return fn(session)

    def write(self, fn: Callable[..., T]) -> T:
        with write_session(self.engine) as session:
            return fn(session)

    def now(self) -> dt.datetime:
        return self.clock()

    # -- screens ------------------------------------------------------------------

    def on_mount(self) -> None:
        from screens.inbox import InboxScreen

        self.push_screen(InboxScreen())
        if self.notice:
            self.notify(self.notice, timeout=6)

    def open_customer(self, customer_id: uuid.UUID) -> None:
        from screens.card import CardScreen

        def back(ticket_id: int | None) -> None:
            # enter on one of the card's open tickets: show that ticket in the inbox.
            from screens.inbox import InboxScreen

            if ticket_id is not None and isinstance(self.screen, InboxScreen):
                self.screen.show_ticket(ticket_id)

        self.push_screen(CardScreen(customer_id), back)

    def action_customer_search(self) -> None:
        from screens.customer_search import CustomerSearchScreen

        def chosen(customer_id: uuid.UUID | None) -> None:
            if customer_id is not None:
                self.open_customer(customer_id)

        self.push_screen(CustomerSearchScreen(), chosen)

    def get_system_commands(self, screen):
        """The palette offers every action of the current screen by its German name."""
        from functools import partial

        from textual.app import SystemCommand

        seen: set[str] = set()
        for binding in [*screen.BINDINGS, *self.BINDINGS]:
            if not isinstance(binding, Binding) or not binding.description:
                continue
            if binding.action in seen or binding.action in ("back", "focus_next", "quit"):
                continue
            seen.add(binding.action)
            target = self if binding in self.BINDINGS else screen
            action_name = binding.action.split("(")[0]
            if target is screen and not screen.check_action(action_name, ()):
                continue  # not applicable here (e.g. Freigeben on an ordinary ticket)
            yield SystemCommand(
                binding.description,
                f"Taste: {binding.key_display or binding.key}",
                partial(target.run_action, binding.action),
            )
        yield SystemCommand("Beenden", "deskapp schließen (Taste q)", self.exit)
        yield from (c for c in super().get_system_commands(screen) if c.title in ("Theme", "Keys"))

    def action_help(self) -> None:
        from screens.help import HelpScreen

        self.push_screen(HelpScreen(self.screen))
