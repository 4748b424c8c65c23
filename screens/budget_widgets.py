"""Small renderables of the hour budget: the sparkline of the budget over time."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.text import Text

if TYPE_CHECKING:  # annotations only: the card loads the budget service in its worker
    from deskapp.services.budget import BudgetPoint

BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[int]) -> str:
    """One character per value, scaled to the largest; nothing left is the lowest bar."""
    top = max(values, default=0)
    if top <= 0:
        return BARS[0] * len(values)
    steps = len(BARS) - 2
    return "".join(BARS[0] if v <= 0 else BARS[1 + round(v / top * steps)] for v in values)


def trend_text(points: Sequence[BudgetPoint]) -> Text:
    """``▃▃▅▅▇▇██▇▆▅`` — one bar a month, yellow when the budget ends lower than it began."""
    if not points:
        return Text("–")
    values = [p.minutes for p in points]
    return Text(sparkline(values), style="yellow" if values[-1] < values[0] else "green")


def trend_label(points: Sequence[BudgetPoint]) -> str:
    """The row label: how many months the sparkline spans."""
    return f"Verlauf {len(points) - 1} Mon." if len(points) > 1 else "Verlauf"


__all__ = ["sparkline", "trend_label", "trend_text"]
