"""How the desk shows numbers, durations and dates to German-speaking agents."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from typing import TYPE_CHECKING

from .settings import TIMEZONE

if TYPE_CHECKING:
    import pendulum


def __getattr__(name: str):
    # ``BERLIN`` (pendulum's Europe/Berlin) is built on first use: importing pendulum
    # costs more than the desk's first frame may wait (see deskapp.quickstart).
    if name == "BERLIN":
        import pendulum

        globals()["BERLIN"] = zone = pendulum.timezone(TIMEZONE)
        return zone
    raise AttributeError(name)


def money(amount: Decimal | None) -> str:
    """``Decimal('1234.5')`` → ``1.234,50 €``."""
    if amount is None:
        return "–"
    sign = "-" if amount < 0 else ""
    whole, cents = f"{abs(amount):.2f}".split(".")
    groups = []
    while whole:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    return f"{sign}{'.'.join(groups)},{cents} €"


def count_de(n: int) -> str:
    """A count with the German thousands separator: ``6008`` → ``6.008`` (docs/glossary.md)."""
    return f"{n:,}".replace(",", ".")


def hhmm(minutes: int | None) -> str:
    """Whole minutes as ``hh:mm`` (``1425`` → ``23:45``)."""
    if minutes is None:
        return "–"
    sign = "-" if minutes < 0 else ""
    h, m = divmod(abs(int(minutes)), 60)
    return f"{sign}{h:02d}:{m:02d}"


def hours_label(minutes: int) -> str:
    return f"{hhmm(minutes)} Std"


def to_berlin(moment: dt.datetime) -> pendulum.DateTime:
    import pendulum

    return pendulum.instance(moment).in_timezone(TIMEZONE)


def date_de(day: dt.date | dt.datetime | None) -> str:
    """German short date, ``08.03.23``."""
    if day is None:
        return "–"
    if isinstance(day, dt.datetime):
        day = to_berlin(day).date()
    return f"{day.day:02d}.{day.month:02d}.{day.year % 100:02d}"


def datetime_de(moment: dt.datetime | None) -> str:
    if moment is None:
        return "–"
    local = to_berlin(moment)
    return f"{date_de(local.date())} {local.hour:02d}:{local.minute:02d}"


def age_de(moment: dt.datetime, now: dt.datetime) -> str:
    """Compact age for list columns: ``5 min``, ``3 Std``, ``12 T``."""
    seconds = max(0, int((now - moment).total_seconds()))
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} Std"
    days = seconds // 86400
    if days < 365:
        return f"{days} T"
    return f"{days // 365} J"


def today_berlin(now: dt.datetime) -> dt.date:
    return to_berlin(now).date()


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)
