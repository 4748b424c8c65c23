"""Reading an incoming e-mail (docs/rules.md#mail-content, #mail-automatic): never an error.

``parse(raw)`` turns the bytes a mail server hands over into a ``ParsedMail``: the headers
the desk threads on, the sender, the plain text to show (HTML-only mail converted to
readable text), the attachments, whether a machine sent it, and for a delivery report
the Message-IDs of the mail that bounced. Whatever the bytes are, it returns: a broken
charset or encoded word is decoded with replacement characters, headers are read raw
(compat32) and decoded only where used, and a message with nothing a mail
has (not one header line) is marked ``unreadable`` and kept whole as
text. Text never carries NUL bytes or lone surrogates, which the databases refuse.

Standard library only (``email``, ``html.parser``): no database, no services.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import email.utils
import re
from dataclasses import dataclass, field
from email.header import decode_header
from email.message import Message
from html.parser import HTMLParser

from .mailheaders import _MSGID, MAX_MESSAGE_ID, Attachment, clean, message_id_key  # noqa: F401 (also for importers)

MAX_HEADER_TEXT = 10_000  # subject and other header text kept for display
MAX_NAME = 255
MAX_REFERENCES = 100  # Message-IDs of a References header kept (the newest)
UNREADABLE_TEXT_CHARS = 200_000  # an unreadable message's raw text shown on its ticket
MAX_TEXT_CHARS = 1_000_000  # a message's text shown; the raw message keeps the rest

NOTE_RECIPIENTS = "{header}: {total} Empfänger, nur die ersten {kept} gespeichert."
NOTE_SUBJECT_LONG = "Der Betreff war zu lang und wurde gekürzt."
NOTE_HEADER_BROKEN = "Kopfzeile {header} war nicht lesbar und wurde roh übernommen."
NOTE_BODY_BROKEN = "Der Text war nicht lesbar; er wurde so gut wie möglich übernommen."
NOTE_TEXT_LONG = "Der Text war länger als 1.000.000 Zeichen und wurde gekürzt (die Originalnachricht ist vollständig)."
NOTE_HTML = "Die Nachricht enthielt nur HTML; gezeigt wird der Text daraus."

AUTO_SUBMITTED = "auto_submitted"
PRECEDENCE = "precedence"
AUTOREPLY = "autoreply"
BOUNCE = "bounce"

_TAGS_BLOCK = {
    "p", "div", "br", "tr", "li", "ul", "ol", "table", "h1", "h2", "h3", "h4", "h5", "h6",
    "blockquote", "pre", "hr", "section", "article", "header", "footer", "dt", "dd",
}
_TAGS_SKIP = {"script", "style", "head", "title"}


@dataclass(frozen=True)
class ParsedMail:
    message_id: str | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    from_addr: str
    from_name: str
    to: str
    cc: str
    subject: str
    text: str
    sent_at: dt.datetime | None
    is_auto: bool
    auto_reason: str
    bounce_of: tuple[str, ...]
    bounce_reason: str
    attachments: tuple[Attachment, ...]
    notes: tuple[str, ...]
    unreadable: bool = False

    @property
    def attachments_size(self) -> int:
        return sum(len(a.data) for a in self.attachments)


# --------------------------------------------------------------------------- text hygiene





def decode_bytes(data: bytes, charset: str | None) -> str:
    """``data`` in ``charset``; an unknown or wrong charset falls back to UTF-8 and then
    Latin-1 (which decodes anything); never raises."""
    for candidate in (charset, "utf-8"):
        if not candidate:
            continue
        try:
            return data.decode(candidate.strip().strip('"'), "strict")
        except (LookupError, UnicodeError, ValueError, TypeError):
            continue
    if charset:
        try:
            return data.decode(charset.strip().strip('"'), "replace")
        except (LookupError, ValueError, TypeError):
            pass
    return data.decode("utf-8", "replace")


def decode_header_text(raw) -> str:
    """An encoded header (RFC 2047 words in any charset) as text, one line."""
    if raw is None:
        return ""
    text = clean(str(raw))
    try:
        parts = decode_header(text)
    except Exception:  # the stdlib's own decoder is strict about malformed words
        parts = [(text, None)]
    out = []
    for chunk, charset in parts:
        out.append(decode_bytes(chunk, charset) if isinstance(chunk, bytes) else chunk)
    joined = "".join(out)
    return clean(" ".join(joined.split()))


def _cap(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit]


def message_ids(raw: str) -> tuple[str, ...]:
    keys = []
    for found in _MSGID.findall(clean(raw or "")):
        key = message_id_key(f"<{found}>")
        if key and key not in keys:
            keys.append(key)
    return tuple(keys)


# --------------------------------------------------------------------------- HTML


class _HtmlText(HTMLParser):
    """Readable text from HTML: blocks become lines, links keep their target."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0
        self.href: list[str | None] = []

    def handle_starttag(self, tag, attrs):
        if tag in _TAGS_SKIP:
            self.skip += 1
        elif tag in _TAGS_BLOCK:
            self.parts.append("\n")
        if tag == "li":
            self.parts.append("- ")
        if tag == "a":
            self.href.append(dict(attrs).get("href"))

    def handle_endtag(self, tag):
        if tag in _TAGS_SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag in _TAGS_BLOCK:
            self.parts.append("\n")
        if tag == "a" and self.href:
            href = self.href.pop()
            if href and not href.startswith(("#", "javascript:")) and href not in "".join(self.parts[-3:]):
                self.parts.append(f" <{href}>")

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(re.sub(r"\s+", " ", data))


def html_to_text(html: str) -> str:
    parser = _HtmlText()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # html.parser is lenient; this is the last resort
        return re.sub(r"<[^>]*>", " ", html)
    lines = [" ".join(line.split()) for line in "".join(parser.parts).splitlines()]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


# --------------------------------------------------------------------------- the message


def _headers(msg: Message) -> dict[str, list[str]]:
    """Every header as raw text, by lower-cased name (never parsed by the policy, which
    may raise on a malformed one)."""
    found: dict[str, list[str]] = {}
    try:
        items = msg.raw_items() if hasattr(msg, "raw_items") else msg.items()
        for name, value in items:
            found.setdefault(clean(str(name)).strip().lower(), []).append(str(value))
    except Exception:
        pass
    return found


def _first(headers: dict[str, list[str]], name: str) -> str:
    values = headers.get(name)
    return values[0] if values else ""


def _addresses(values: list[str]) -> list[tuple[str, str]]:
    decoded = [decode_header_text(v) for v in values]
    try:
        pairs = email.utils.getaddresses(decoded)
    except Exception:
        return [("", d) for d in decoded if d]
    return [(clean(n), clean(a)) for n, a in pairs if a or n]


def _display(pairs: list[tuple[str, str]], header: str, kept: int, notes: list[str]) -> str:
    shown = [f"{n} <{a}>" if n else a for n, a in pairs[:kept]]
    if len(pairs) > kept:
        notes.append(NOTE_RECIPIENTS.format(header=header, total=f"{len(pairs):,}".replace(",", "."), kept=kept))
    return ", ".join(shown)


def _date(raw: str) -> dt.datetime | None:
    if not raw:
        return None
    try:
        when = email.utils.parsedate_to_datetime(clean(raw))
    except Exception:
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    try:
        return when.astimezone(dt.timezone.utc)
    except (OverflowError, ValueError):
        return None


def _automatic(headers: dict[str, list[str]]) -> str:
    """Why the message counts as automatic (docs/rules.md#mail-automatic), or ''."""
    auto = decode_header_text(_first(headers, "auto-submitted")).strip().lower()
    if auto and auto.split(";")[0].strip() != "no":
        return AUTO_SUBMITTED
    precedence = decode_header_text(_first(headers, "precedence")).strip().lower()
    if precedence in ("bulk", "junk", "list"):
        return PRECEDENCE
    if "x-autoreply" in headers or "x-autorespond" in headers:
        return AUTOREPLY
    return ""


def _content_type(part: Message) -> str:
    try:
        return (part.get_content_type() or "text/plain").lower()
    except Exception:
        return "application/octet-stream"


def _param(part: Message, name: str) -> str | None:
    try:
        value = part.get_param(name)
    except Exception:
        return None
    if isinstance(value, tuple):  # RFC 2231: (charset, language, value)
        try:
            value = email.utils.collapse_rfc2231_value(value)
        except Exception:
            value = str(value[-1])
    return clean(str(value)) if value is not None else None


def _filename(part: Message) -> str:
    name = None
    try:
        name = part.get_filename()
    except Exception:
        name = None
    if name is None:
        name = _param(part, "name")
    name = decode_header_text(name) if name else ""
    name = name.replace("/", "_").replace("\\", "_").strip()
    return _cap(name, MAX_NAME)


def _payload(part: Message) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if isinstance(data, bytes):
        return data
    try:
        raw = part.get_payload()
    except Exception:
        return b""
    if isinstance(raw, str):
        return raw.encode("utf-8", "surrogateescape")
    return b""


def _part_text(part: Message) -> str:
    return clean(decode_bytes(_payload(part), _param(part, "charset")))


def _disposition(part: Message) -> str:
    try:
        return (part.get_content_disposition() or "").lower()
    except Exception:
        return ""


def _as_bytes(msg: Message) -> bytes:
    try:
        return msg.as_bytes(policy=email.policy.compat32)
    except Exception:
        try:
            return msg.as_string(policy=email.policy.compat32).encode("utf-8", "surrogateescape")
        except Exception:
            return b""


@dataclass
class _Walk:
    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    bounce_of: list[str] = field(default_factory=list)
    bounce_reason: list[str] = field(default_factory=list)
    report: bool = False


def _walk(part: Message, found: _Walk, depth: int = 0) -> None:
    ctype = _content_type(part)
    if depth > 50:  # a message nested absurdly deep: keep what is left as one attachment
        found.attachments.append(Attachment("teil.eml", ctype, _as_bytes(part)))
        return
    if ctype == "multipart/report":
        found.report = True
    if ctype == "message/delivery-status":
        _delivery_status(part, found)
        return
    if part.is_multipart() and ctype != "message/rfc822":
        try:
            children = part.get_payload()
        except Exception:
            children = []
        if ctype == "multipart/alternative":
            # One body: the plain part wins, else the HTML; other alternatives are dropped.
            plain = [c for c in children if _content_type(c) == "text/plain" and _disposition(c) != "attachment"]
            html = [c for c in children if _content_type(c) == "text/html" and _disposition(c) != "attachment"]
            rest = [c for c in children if c not in plain and c not in html]
            if plain:
                found.plain.append(_part_text(plain[0]))
            elif html:
                found.html.append(_part_text(html[0]))
            for child in rest:
                if child.is_multipart():
                    _walk(child, found, depth + 1)
            return
        for child in children if isinstance(children, list) else []:
            _walk(child, found, depth + 1)
        return
    if ctype in ("message/rfc822", "text/rfc822-headers"):
        inner = b""
        if ctype == "message/rfc822":
            try:
                payload = part.get_payload()
                inner_msg = payload[0] if isinstance(payload, list) and payload else None
            except Exception:
                inner_msg = None
            inner = _as_bytes(inner_msg) if inner_msg is not None else _payload(part)
        else:
            inner = _payload(part)
        if found.report:
            try:
                headers = _headers(email.message_from_bytes(inner, policy=email.policy.compat32))
                found.bounce_of.extend(message_ids(_first(headers, "message-id")))
            except Exception:
                pass
        name = _filename(part) or ("weitergeleitet.eml" if ctype == "message/rfc822" else "kopfzeilen.txt")
        found.attachments.append(Attachment(name, ctype, inner))
        return
    disposition = _disposition(part)
    filename = _filename(part)
    if ctype in ("text/plain", "text/html") and disposition != "attachment" and not filename:
        (found.plain if ctype == "text/plain" else found.html).append(_part_text(part))
        return
    found.attachments.append(Attachment(filename or _default_name(ctype, len(found.attachments) + 1), ctype, _payload(part)))


def _delivery_status(part: Message, found: _Walk) -> None:
    """A delivery report's status blocks (the parser gives them as header-only messages)."""
    try:
        blocks = part.get_payload()
    except Exception:
        blocks = None
    if isinstance(blocks, list):
        lines = [f"{name}: {decode_header_text(value)}" for block in blocks
                 for name, values in _headers(block).items() for value in values]
        text = "\n".join(lines)
    else:
        text = _part_text(part)
    for line in text.splitlines():
        key = line.split(":", 1)[0].strip().lower()
        if key in ("status", "diagnostic-code", "final-recipient", "action"):
            found.bounce_reason.append(line.strip())
    found.attachments.append(Attachment(_filename(part) or "zustellbericht.txt", "message/delivery-status",
                                        text.encode("utf-8")))


def _default_name(ctype: str, n: int) -> str:
    ext = {"text/plain": "txt", "text/html": "html", "image/png": "png", "image/jpeg": "jpg",
           "image/gif": "gif", "application/pdf": "pdf"}.get(ctype, "bin")
    return f"anhang-{n}.{ext}"


def parse(raw: bytes, *, recipients_kept: int = 100) -> ParsedMail:
    """The message in ``raw``; never raises (see the module doc)."""
    try:
        return _parse(raw, recipients_kept=recipients_kept)
    except Exception:  # the last line of defence: keep the bytes as an unreadable message
        return unreadable(raw)


def unreadable(raw: bytes) -> ParsedMail:
    """A message the desk cannot read: its bytes as text, nothing else."""
    text = clean(raw[: UNREADABLE_TEXT_CHARS * 4].decode("utf-8", "replace"))[:UNREADABLE_TEXT_CHARS]
    return ParsedMail(
        message_id=None, in_reply_to=(), references=(), from_addr="", from_name="", to="", cc="",
        subject="", text=text, sent_at=None, is_auto=False, auto_reason="", bounce_of=(),
        bounce_reason="", attachments=(), notes=(), unreadable=True,
    )


def _parse(raw: bytes, *, recipients_kept: int) -> ParsedMail:
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogateescape")
    # compat32: the headers are read raw (``_headers``) and decoded only where used, so
    # the modern policy's header objects (most of a parse's time) are never built.
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    headers = _headers(msg)
    if not headers:
        return unreadable(raw)
    notes: list[str] = []

    from_pairs = _addresses(headers.get("from", []) or headers.get("sender", []))
    from_name, from_addr = from_pairs[0] if from_pairs else ("", "")
    from_addr = _cap(from_addr.strip(), 255)
    to = _display(_addresses(headers.get("to", [])), "An", recipients_kept, notes)
    cc = _display(_addresses(headers.get("cc", [])), "Cc", recipients_kept, notes)
    subject = decode_header_text(_first(headers, "subject"))
    if len(subject) > MAX_HEADER_TEXT:
        subject = subject[:MAX_HEADER_TEXT]
        notes.append(NOTE_SUBJECT_LONG)

    found = _Walk()
    try:
        _walk(msg, found)
    except Exception:
        notes.append(NOTE_BODY_BROKEN)
        found = _Walk(plain=[clean(raw.split(b"\n\n", 1)[-1].decode("utf-8", "replace"))])
    if found.plain:
        text = "\n\n".join(t.strip("\n") for t in found.plain if t.strip())
    elif found.html:
        text = "\n\n".join(html_to_text(h) for h in found.html)
        notes.append(NOTE_HTML)
    else:
        text = ""
    text = clean(text.replace("\r\n", "\n").replace("\r", "\n"))
    if len(text) > MAX_TEXT_CHARS:
        text = text[:MAX_TEXT_CHARS]
        notes.append(NOTE_TEXT_LONG)

    auto_reason = _automatic(headers)
    bounce_of: tuple[str, ...] = ()
    if found.report:
        auto_reason = BOUNCE
        bounce_of = tuple(dict.fromkeys(found.bounce_of))
    references = message_ids(" ".join(headers.get("references", [])))[-MAX_REFERENCES:]
    return ParsedMail(
        message_id=message_id_key(_first(headers, "message-id")),
        in_reply_to=message_ids(_first(headers, "in-reply-to")),
        references=references,
        from_addr=from_addr,
        from_name=_cap(from_name, MAX_NAME),
        to=to,
        cc=cc,
        subject=subject,
        text=text,
        sent_at=_date(_first(headers, "date")),
        is_auto=bool(auto_reason),
        auto_reason=auto_reason,
        bounce_of=bounce_of,
        bounce_reason=clean("; ".join(found.bounce_reason))[:1000],
        attachments=tuple(
            Attachment(clean(a.filename) or "anhang", _cap(clean(a.content_type), 255), a.data)
            for a in found.attachments
        ),
        notes=tuple(notes),
    )


__all__ = ["Attachment", "ParsedMail", "clean", "decode_header_text", "html_to_text", "message_id_key",
           "message_ids", "parse", "unreadable"]
