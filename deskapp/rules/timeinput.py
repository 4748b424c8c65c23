"""Durations as agents type them: ``1:30``, ``01:30``, ``90`` (DOMAIN.md: whole minutes, ``hh:mm``).

Pure: no database, no UI. A refusal is a ``ValueError`` whose first argument is a German
sentence fit to show next to the field.
"""

from __future__ import annotations

import re

# ASCII digits only: str.isdigit() would also let "١٢" or "²" through.
_HHMM = re.compile(r"^([0-9]{1,4}):([0-9]{2})$")
_WHOLE = re.compile(r"^[0-9]{1,6}$")

MSG_EMPTY = "Bitte eine Zeit eingeben: hh:mm (z. B. 1:30) oder {unit} (z. B. {example})."
MSG_FORMAT = "„{text}“ ist keine Zeit: bitte hh:mm (z. B. 1:30) oder {unit} (z. B. {example})."
MSG_NEGATIVE = "Die Zeit darf nicht negativ sein."
MSG_MINUTE_PART = "Nach dem Doppelpunkt stehen Minuten von 00 bis 59 (nicht {minutes})."
MSG_ZERO = "Die Zeit muss größer als 0:00 sein."

_UNITS = {"minutes": ("ganze Minuten", "90"), "hours": ("ganze Stunden", "40")}


def parse_minutes(text: str | None, *, allow_zero: bool = False, bare: str = "minutes") -> int:
    """Whole minutes from ``h:mm`` / ``hh:mm`` or a bare whole number.

    ``bare`` says what a number without a colon counts: ``"minutes"`` (time logging, the
    default: ``90`` is 1:30) or ``"hours"`` (package sizes: ``40`` is 40:00).
    ``allow_zero`` admits ``0`` / ``0:00`` (an estimate may be empty); otherwise the
    amount must be positive.
    """
    if bare not in _UNITS:
        raise ValueError(f"bare must be one of {sorted(_UNITS)}")
    unit, example = _UNITS[bare]
    raw = (text or "").strip()
    if not raw:
        raise ValueError(MSG_EMPTY.format(unit=unit, example=example))
    if raw.startswith("-"):
        raise ValueError(MSG_NEGATIVE)
    match = _HHMM.match(raw)
    if match:
        hours, minutes = int(match.group(1)), int(match.group(2))
        if minutes > 59:
            raise ValueError(MSG_MINUTE_PART.format(minutes=match.group(2)))
        total = hours * 60 + minutes
    elif _WHOLE.match(raw):
        total = int(raw) * (60 if bare == "hours" else 1)
    else:
        raise ValueError(MSG_FORMAT.format(text=raw, unit=unit, example=example))
    if total == 0 and not allow_zero:
        raise ValueError(MSG_ZERO)
    return total


def parse_hours(text: str | None) -> int:
    """A package size: ``40`` (whole hours) or ``12:30``; always positive. Returns minutes."""
    return parse_minutes(text, bare="hours")


__all__ = ["parse_hours", "parse_minutes"]
