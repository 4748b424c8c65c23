"""The headers of the desk's outgoing mail: Message-ID, the ticket tag, threading.

Pure functions (standard library only). docs/rules.md#mail-threading (the tag),
docs/rules.md#mail-replies (no header injection), docs/rules.md#mail-delivery (one
Message-ID per mail).
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass

FALLBACK_DOMAIN = "deskapp.invalid"  # RFC 2606: never a real domain
MAX_REFERENCES = 10  # Message-IDs kept in References (the first and the latest ones)
MAX_MESSAGE_ID = 255  # the column; a longer id is stored as its hash (still unique)
_DOMAIN = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*$")
_MESSAGE_ID = re.compile(r"<[^<>\s]+@[^<>\s]+>")
_MSGID = re.compile(r"<([^<>\s]+)>")



@dataclass(frozen=True)
class Attachment:
    """An attachment: its file name, content type and bytes — as the parser finds it in a
    message and as ``ticket attachment`` / the ticket screen read it back."""

    filename: str
    content_type: str
    data: bytes


# User-facing text (German).
MSG_LINE_BREAK = "{what} darf keinen Zeilenumbruch enthalten (Schutz vor eingeschleusten Kopfzeilen)."


def has_line_break(value: str) -> bool:
    """True if the value would end a header line early (CR, LF or another line separator)."""
    return any(c in value for c in "\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")


def line_break_refusal(what: str) -> str:
    return MSG_LINE_BREAK.format(what=what)


def domain_of(address: str) -> str:
    """The domain of a sender address (``Support <support@agentur.example>`` → ``agentur.example``);
    the fallback domain when there is none usable."""
    text = (address or "").strip()
    if "<" in text and text.endswith(">"):
        text = text[text.rindex("<") + 1:-1]
    domain = text.rpartition("@")[2].strip().lower()
    return domain if "@" in text and _DOMAIN.match(domain) else FALLBACK_DOMAIN


def new_message_id(domain: str) -> str:
    """A fresh, globally unique Message-ID on the desk's domain, with its angle brackets."""
    return f"<desk.{uuid.uuid4().hex}@{domain if _DOMAIN.match(domain or '') else FALLBACK_DOMAIN}>"


def ticket_tag(number: int) -> str:
    return f"[#{number}]"


def tagged_subject(subject: str, number: int, max_length: int) -> str:
    """The subject with the ticket's tag in front, exactly once; shortened to fit ``max_length``."""
    tag = ticket_tag(number)
    if tag in subject:
        return subject[:max_length]
    room = max_length - len(tag) - 1
    text = subject if len(subject) <= room else subject[: max(0, room - 1)].rstrip() + "…"
    return f"{tag} {text}"


def message_ids(value: str | None) -> list[str]:
    """The Message-IDs in a header value (``<a@b> <c@d>``), in order."""
    return _MESSAGE_ID.findall(value or "")


def references_after(earlier: list[str]) -> str:
    """The References of a new message in a thread whose messages so far are ``earlier`` (oldest
    first): the first one and the latest ones, at most ``MAX_REFERENCES`` (RFC 5322 3.6.4)."""
    if len(earlier) > MAX_REFERENCES:
        earlier = [earlier[0], *earlier[-(MAX_REFERENCES - 1):]]
    return " ".join(earlier)


__all__ = [
    "FALLBACK_DOMAIN",
    "domain_of",
    "has_line_break",
    "line_break_refusal",
    "message_ids",
    "new_message_id",
    "references_after",
    "tagged_subject",
    "ticket_tag",
]


def clean(text: str) -> str:
    """Text the databases accept: no NUL, no lone surrogates (bytes the parser could not
    decode arrive as surrogate escapes; they are decoded as UTF-8 with replacement)."""
    if not text:
        return ""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        try:
            text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        except UnicodeError:
            text = text.encode("utf-8", "replace").decode("utf-8", "replace")
    return text.replace("\x00", "")


def message_id_key(raw: str) -> str | None:
    """The Message-ID without angle brackets, as stored; a longer one than the column is
    stored as its hash (still one id per message)."""
    found = _MSGID.findall(raw or "")
    value = clean(found[0] if found else (raw or "").strip())
    value = "".join(value.split())
    if not value:
        return None
    if len(value) > MAX_MESSAGE_ID:
        return "sha256:" + hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()
    return value
