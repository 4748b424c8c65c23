"""What agents and the command line type, turned into values: dates, euro amounts, durations.

The rule book's conventions: docs/rules.md#dates, docs/rules.md#money, docs/rules.md#minutes.
One set of parsers for the dialogs and the CLI alike. Pure: no database, no UI. Every
refusal is an ``InputError`` whose ``message`` is a German sentence fit to show next to
the field (a caller may show its own, field-specific sentence instead).

Digits are ASCII digits only, matched with explicit ``[0-9]``: ``str.isdigit()``, ``\\d``,
``int()`` and ``Decimal()`` also take "١٢" or "²".
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal


class InputError(ValueError):
    """Typed input that is not a value of the wanted kind; ``message`` says why, in German."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --------------------------------------------------------------------------- dates


class YearOutOfRange(InputError):
    """A well-formed date in a year the desk does not take (``9999-12-31``)."""


# 31.03.26, 31.3.26, 31.03.2026 — and, where the CLI takes it, 2026-03-31 (2026-3-1).
_DATE_DE = re.compile(r"^([0-9]{1,2})\.([0-9]{1,2})\.([0-9]{2}|[0-9]{4})$")
_DATE_ISO = re.compile(r"^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})$")

MSG_DATE_EMPTY = "Bitte ein Datum eingeben: TT.MM.JJ, z. B. 31.03.26."
MSG_DATE_FORMAT = "„{text}“ ist kein Datum: bitte TT.MM.JJ, z. B. 31.03.26."
MSG_DATE_FORMAT_ISO = "„{text}“ ist kein Datum: bitte TT.MM.JJ (z. B. 31.03.26) oder JJJJ-MM-TT."
MSG_DATE_NO_SUCH_DAY = "Den {text} gibt es nicht."
MSG_DATE_YEAR = "„{text}“: das Jahr muss zwischen {low} und {high} liegen."

# The years a desk date may have: far dates ("9999-12-31") are typos, and date arithmetic
# (a package's validity, a reminder's stage) must stay inside what ``datetime`` can hold.
MIN_YEAR, MAX_YEAR = 1900, 2199


def parse_date(text: str | None, *, allow_iso: bool = False) -> dt.date:
    """``31.03.26`` / ``31.3.26`` / ``31.03.2026`` (and ``2026-03-31`` with ``allow_iso``) → a date.

    A two-digit year is 20JJ: the desk's dates are this century's.
    """
    raw = (text or "").strip()
    if not raw:
        raise InputError(MSG_DATE_EMPTY)
    match = _DATE_DE.match(raw)
    if match:
        day, month, year = (int(g) for g in match.groups())
        if len(match.group(3)) == 2:
            year += 2000
    elif allow_iso and (match := _DATE_ISO.match(raw)):
        year, month, day = (int(g) for g in match.groups())
    else:
        raise InputError((MSG_DATE_FORMAT_ISO if allow_iso else MSG_DATE_FORMAT).format(text=raw))
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise YearOutOfRange(MSG_DATE_YEAR.format(text=raw, low=MIN_YEAR, high=MAX_YEAR))
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise InputError(MSG_DATE_NO_SUCH_DAY.format(text=raw)) from None


# --------------------------------------------------------------------------- money

# Euros with a decimal comma or point: 12, 12,5, 12,50, 12.50 — no thousands separators
# ("1.000" would be one euro or a thousand), no sign, no exponent.
_MONEY = re.compile(r"^([0-9]+)(?:[.,]([0-9]+))?$")
CENT = Decimal("0.01")

MSG_MONEY_EMPTY = "Bitte einen Betrag in Euro eingeben, z. B. 12,50."
MSG_MONEY_FORMAT = "„{text}“ ist kein Euro-Betrag: bitte z. B. 12,50 oder 12.50."
MSG_MONEY_NEGATIVE = "Der Betrag darf nicht negativ sein."
MSG_MONEY_CENTS = "Höchstens zwei Nachkommastellen (ganze Cent), z. B. 12,50."
MSG_MONEY_ZERO = "Der Betrag muss größer als 0,00 € sein."


def parse_money(text: str | None, *, allow_zero: bool = False) -> Decimal:
    """A euro amount, cents-exact: ``12``, ``12,5``, ``12,50``, ``12.50`` → ``Decimal('12.50')``.

    Refused: a sign, more than two decimals (``1.000`` is ambiguous), thousands separators,
    exponents, non-ASCII digits; zero unless ``allow_zero``.
    """
    raw = (text or "").strip()
    if not raw:
        raise InputError(MSG_MONEY_EMPTY)
    if raw.startswith("-"):
        raise InputError(MSG_MONEY_NEGATIVE)
    match = _MONEY.match(raw)
    if not match:
        raise InputError(MSG_MONEY_FORMAT.format(text=raw))
    euros, cents = match.group(1), match.group(2) or ""
    if len(cents) > 2:
        raise InputError(MSG_MONEY_CENTS)
    value = Decimal(f"{euros}.{cents.ljust(2, '0')}")
    if value == 0 and not allow_zero:
        raise InputError(MSG_MONEY_ZERO)
    return value


# A spreadsheet's amount (the billing system's exports): thousands dots with a decimal
# comma (1.500,50) or a plain decimal point (1500.50); a trailing € and spaces allowed.
_MONEY_GROUPED = re.compile(r"^([0-9]{1,3}(?:\.[0-9]{3})+|[0-9]+)(?:,([0-9]{1,2}))?$")
_MONEY_POINT = re.compile(r"^([0-9]+)\.([0-9]{1,2})$")


def parse_export_amount(text: str | None) -> Decimal:
    """An amount as German spreadsheets export it: ``1.500,50``, ``1500,5``, ``1500.50``,
    ``750 €``. Unlike ``parse_money`` (typed by an agent), thousands dots are read as such."""
    raw = (text or "").strip()
    value = raw.removesuffix("€").strip().replace("\u00a0", "").replace(" ", "")
    if match := _MONEY_GROUPED.match(value):
        whole, cents = match.group(1).replace(".", ""), match.group(2) or "0"
    elif match := _MONEY_POINT.match(value):
        whole, cents = match.group(1), match.group(2)
    else:
        raise InputError(MSG_MONEY_FORMAT.format(text=raw[:40]))
    return Decimal(f"{whole}.{cents.ljust(2, '0')}")


# --------------------------------------------------------------------------- durations

# Whole minutes, shown hh:mm. Bare numbers count minutes (time logged, estimates) or
# whole hours (package sizes) — two parsers with two names, one shape.
_HHMM = re.compile(r"^([0-9]{1,4}):([0-9]{2})$")
_WHOLE = re.compile(r"^[0-9]{1,6}$")

MSG_EMPTY = "Bitte eine Zeit eingeben: hh:mm (z. B. 1:30) oder {unit} (z. B. {example})."
MSG_FORMAT = "„{text}“ ist keine Zeit: bitte hh:mm (z. B. 1:30) oder {unit} (z. B. {example})."
MSG_NEGATIVE = "Die Zeit darf nicht negativ sein."
MSG_MINUTE_PART = "Nach dem Doppelpunkt stehen Minuten von 00 bis 59 (nicht {minutes})."
MSG_ZERO = "Die Zeit muss größer als 0:00 sein."

_MINUTES, _HOURS = ("ganze Minuten", "90"), ("ganze Stunden", "40")


def _minutes(text: str | None, *, allow_zero: bool, bare_factor: int, unit: str, example: str) -> int:
    raw = (text or "").strip()
    if not raw:
        raise InputError(MSG_EMPTY.format(unit=unit, example=example))
    if raw.startswith("-"):
        raise InputError(MSG_NEGATIVE)
    match = _HHMM.match(raw)
    if match:
        hours, minutes = int(match.group(1)), int(match.group(2))
        if minutes > 59:
            raise InputError(MSG_MINUTE_PART.format(minutes=match.group(2)))
        total = hours * 60 + minutes
    elif _WHOLE.match(raw):
        total = int(raw) * bare_factor
    else:
        raise InputError(MSG_FORMAT.format(text=raw, unit=unit, example=example))
    if total == 0 and not allow_zero:
        raise InputError(MSG_ZERO)
    return total


def parse_duration(text: str | None, *, allow_zero: bool = False) -> int:
    """Time spent or estimated, in whole minutes: ``1:30``, ``01:30`` or ``90`` (minutes).

    ``allow_zero`` admits ``0`` / ``0:00`` (an estimate may be empty); otherwise the time
    must be positive.
    """
    return _minutes(text, allow_zero=allow_zero, bare_factor=1, unit=_MINUTES[0], example=_MINUTES[1])


def parse_package_hours(text: str | None) -> int:
    """A package size in whole minutes: ``40`` (whole hours) or ``12:30``; always positive."""
    return _minutes(text, allow_zero=False, bare_factor=60, unit=_HOURS[0], example=_HOURS[1])


# --------------------------------------------------------------------------- whole numbers

_NUMBER = re.compile(r"^[0-9]{1,18}$")
MSG_NUMBER = "„{text}“ ist keine ganze Zahl."


def parse_whole_number(text: str | None) -> int:
    """A non-negative whole number as typed (a ticket, task or request number): ``42``."""
    raw = (text or "").strip()
    if not _NUMBER.match(raw):
        raise InputError(MSG_NUMBER.format(text=raw))
    return int(raw)


__all__ = [
    "InputError",
    "YearOutOfRange",
    "parse_date",
    "parse_duration",
    "parse_money",
    "parse_package_hours",
    "parse_whole_number",
]
