"""Raw e-mails for the incoming-mail tests, built as a mail server would hand them over."""

from __future__ import annotations

from pathlib import Path

CORPUS = Path(__file__).resolve().parent.parent / "data" / "mail" / "cpython"


def corpus() -> list[Path]:
    """The CPython e-mail test corpus (PSF licence), copied from Lib/test/test_email/data."""
    return sorted(CORPUS.glob("msg_*.txt"))


def mail(
    *,
    subject: str = "Postfach voll",
    sender: str = "Ivo Moring <ivo@moring.example>",
    to: str = "support@desk.example",
    message_id: str | None = "m1@moring.example",
    in_reply_to: str | None = None,
    references: str | None = None,
    body: str = "Guten Tag,\nmein Postfach ist voll.\nViele Grüße",
    headers: dict[str, str] | None = None,
) -> bytes:
    lines = [f"From: {sender}", f"To: {to}", f"Subject: {subject}", "Date: Tue, 10 Mar 2026 09:00:00 +0100"]
    if message_id:
        lines.append(f"Message-ID: <{message_id}>")
    if in_reply_to:
        lines.append(f"In-Reply-To: <{in_reply_to}>")
    if references:
        lines.append(f"References: {references}")
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    lines += ["MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit"]
    return ("\r\n".join(lines) + "\r\n\r\n" + body.replace("\n", "\r\n") + "\r\n").encode("utf-8")


def bounce(original_message_id: str, *, message_id: str = "bounce1@mx.desk.example") -> bytes:
    """A delivery status report (RFC 3464) for the desk's mail ``original_message_id``."""
    return f"""From: Mail Delivery System <MAILER-DAEMON@mx.desk.example>
To: support@desk.example
Subject: Undelivered Mail Returned to Sender
Message-ID: <{message_id}>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain; charset=us-ascii

This is the mail system. Your message could not be delivered.

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.desk.example

Final-Recipient: rfc822; ivo@moring.example
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 user unknown

--B
Content-Type: text/rfc822-headers

From: support@desk.example
To: ivo@moring.example
Subject: [#1] Ihr Postfach
Message-ID: <{original_message_id}>

--B--
""".replace("\n", "\r\n").encode("ascii")


def attachment_mail(size: int, *, message_id: str = "att@moring.example", filename: str = "rechnung.pdf") -> bytes:
    """A mail with one base64 attachment of ``size`` bytes (deterministic content)."""
    import base64

    data = bytes(i % 251 for i in range(size))
    encoded = base64.encodebytes(data).decode("ascii").replace("\n", "\r\n")
    return f"""From: ivo@moring.example
To: support@desk.example
Subject: Rechnung anbei
Message-ID: <{message_id}>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="X"

--X
Content-Type: text/plain; charset=utf-8

Anbei die Rechnung.
--X
Content-Type: application/pdf
Content-Disposition: attachment; filename="{filename}"
Content-Transfer-Encoding: base64

{encoded}
--X--
""".replace("\n", "\r\n").replace("\r\r\n", "\r\n").encode("ascii")


def attachment_bytes(size: int) -> bytes:
    return bytes(i % 251 for i in range(size))
