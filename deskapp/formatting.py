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


# --------------------------------------------------------------------------- hostile text
#
# Text from outside (shop orders, imports, mails, typed arguments) may carry control
# characters: ESC starts a terminal escape sequence (colours, cursor moves, window titles,
# clipboard writes), BEL rings, CR overwrites the line, bidi overrides reorder what is
# read. Every display boundary (the CLI's output streams, the desk's widgets) shows them
# as visible placeholders instead (docs/rules.md#inert-text):
#   C0 controls and DEL → the Unicode "control pictures" (ESC → ␛, BEL → ␇, CR → ␍, DEL → ␡);
#   C1 controls (U+0080–U+009F; U+009B is a one-byte CSI) and bidi/invisible format
#   characters → ``\u009b``-style escapes (inside a JSON string that is the same character).
# Line feeds (and tabs) stay where the text may have lines (``keep_newlines``).

_BIDI_AND_FORMAT = "\u061c\u200b\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff"


def _inert_table(keep_newlines: bool) -> dict[int, str]:
    table = {code: chr(0x2400 + code) for code in range(0x20)}
    table[0x7F] = "\u2421"
    for code in range(0x80, 0xA0):
        table[code] = f"\\u{code:04x}"
    for char in _BIDI_AND_FORMAT:
        table[ord(char)] = f"\\u{ord(char):04x}"
    for code in range(0xD800, 0xE000):  # lone surrogates (undecodable bytes): not printable
        table[code] = f"\\u{code:04x}"
    if keep_newlines:
        del table[0x0A]
        del table[0x09]
    return table


_INERT_LINE = _inert_table(keep_newlines=False)
_INERT_LINES = _inert_table(keep_newlines=True)


def inert(text: object, *, keep_newlines: bool = False) -> str:
    """``text`` safe to show on a terminal: control characters as visible placeholders.

    ``"a\\x1b[31m"`` → ``"a␛[31m"``. Without ``keep_newlines`` a line feed becomes ``␊``
    (one-line places: table cells, titles). Rich markup is not escaped here: widgets that
    parse markup take ``screens.styles.inert_markup``.
    """
    if text is None:
        return ""
    text = str(text)
    if keep_newlines:
        text = text.replace("\r\n", "\n")  # a mail's line ends are line ends, not a control
        return text.translate(_INERT_LINES)
    return text.translate(_INERT_LINE)


def inert_table(*, keep_newlines: bool) -> dict[int, str]:
    """The placeholder table ``inert`` uses (a copy), for display layers that translate themselves."""
    return dict(_INERT_LINES if keep_newlines else _INERT_LINE)

