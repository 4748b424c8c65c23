"""Text that comes from outside (import files, the command line): what may not be in it.

Pure: no database, no UI. Control characters (C0, DEL, C1) and the invisible Unicode
direction overrides are refused, not silently dropped: a name that reads differently in
the terminal than in the database is worse than a refusal.
"""

from __future__ import annotations

import re

# C0 controls except the ones a multi-line text may hold, DEL, C1, and the bidi
# embeddings/overrides/isolates (U+202A–U+202E, U+2066–U+2069) that reorder what is shown.
_CONTROL_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_CONTROL_TEXT = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

MSG_CONTROL = "enthält ein Steuerzeichen (U+{code:04X})"

# An e-mail address as the desk needs it: one @, something before it, a domain with a dot
# after it, no spaces. Deliverability is the mail server's business.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
MAX_EMAIL = 254
MSG_EMAIL_NO_AT = "„{value}“ ist keine E-Mail-Adresse (es fehlt das @)"
MSG_EMAIL_SHAPE = "„{value}“ ist keine E-Mail-Adresse (erwartet: name@domain.de)"
MSG_EMAIL_LONG = "Die E-Mail-Adresse ist länger als 254 Zeichen"


def control_problem(value: str, *, multiline: bool = False) -> str:
    """'' if ``value`` is clean, else a German reason naming the first bad character."""
    found = (_CONTROL_TEXT if multiline else _CONTROL_LINE).search(value)
    return MSG_CONTROL.format(code=ord(found.group())) if found else ""


def has_control(text: str) -> bool:
    """Whether a whole file's text holds any character ``control_problem`` refuses,
    line ends apart."""
    return _CONTROL_LINE.search(text.replace("\r", "").replace("\n", "")) is not None


def email_problem(value: str, *, check_control: bool = True) -> str:
    """'' if ``value`` looks like an e-mail address, else a German reason."""
    if len(value) > MAX_EMAIL:
        return MSG_EMAIL_LONG
    if "@" not in value:
        return MSG_EMAIL_NO_AT.format(value=value)
    if not _EMAIL.match(value):
        return MSG_EMAIL_SHAPE.format(value=value)
    return control_problem(value) if check_control else ""


def email_key(address: str) -> str:
    """What addresses are matched on: case does not matter (``Info@X.de`` = ``info@x.de``)."""
    return address.strip().lower()
