"""The registry (Vergabestelle) that executes real-time orders such as domain registrations.

The desk talks to it through ``Registry``; the real adapter is not part of the desk yet,
``SimulatedRegistry`` stands in for it in the demo and in tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable


class RegistryError(Exception):
    """The registry refused the order or could not be reached. The message is German."""


@runtime_checkable
class Registry(Protocol):
    def register(self, item: str, customer_number: str) -> None:
        """Execute the order; raise ``RegistryError`` when it cannot be done."""


@dataclass
class SimulatedRegistry:
    """Accepts everything except ``fail_items``; ``unreachable`` fails every call."""

    fail_items: set[str] = field(default_factory=set)
    unreachable: bool = False
    registered: list[tuple[str, str]] = field(default_factory=list)

    def register(self, item: str, customer_number: str) -> None:
        if self.unreachable:
            raise RegistryError("Die Vergabestelle ist nicht erreichbar (Zeitüberschreitung).")
        if item in self.fail_items:
            raise RegistryError(f"Die Vergabestelle hat die Registrierung von {item} abgelehnt.")
        self.registered.append((item, customer_number))


__all__ = ["Registry", "RegistryError", "SimulatedRegistry"]
