"""Reading incoming mail (docs/rules.md#mail-content, #mail-automatic): whatever the bytes,
``parse`` returns text the databases accept — never an exception."""

from __future__ import annotations

import pytest

from deskapp.rules import mail_parse
from deskapp.rules.mail_parse import parse
from tests.support.mails import bounce, corpus, mail


def storable(text: str) -> bool:
    """What PostgreSQL and SQLite accept as text: no NUL, valid UTF-8."""
    text.encode("utf-8")
    return "\x00" not in text


def assert_storable(p: mail_parse.ParsedMail) -> None:
    for value in (p.from_addr, p.from_name, p.to, p.cc, p.subject, p.text, p.bounce_reason, *p.notes,
                  *(a.filename for a in p.attachments), *(a.content_type for a in p.attachments),
                  p.message_id or "", *p.references, *p.in_reply_to):
        assert storable(value)
    assert p.message_id is None or len(p.message_id) <= 255
    assert len(p.from_addr) <= 255 and len(p.from_name) <= 255


@pytest.mark.parametrize("path", corpus(), ids=lambda p: p.name)
def test_every_message_of_the_cpython_corpus_reads(path):
    assert_storable(parse(path.read_bytes()))


def test_plain_text_is_preferred_over_html():
    raw = b"""From: a@example.org
Subject: x
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary=B

--B
Content-Type: text/plain; charset=utf-8

Nur Text
--B
Content-Type: text/html; charset=utf-8

<p>HTML <b>fett</b></p>
--B--
"""
    p = parse(raw)
    assert p.text == "Nur Text" and p.attachments == ()


def test_html_only_mail_becomes_readable_text():
    raw = b"""From: a@example.org
Subject: x
Content-Type: text/html; charset=iso-8859-1

<html><head><style>p{color:red}</style><script>alert(1)</script></head><body>
<p>Gr\xfc\xdfe aus <a href="https://example.org/x">unserem Shop</a></p><ul><li>eins</li><li>zwei</li></ul>
<p>Zeile&nbsp;zwei &amp; mehr</p></body></html>
"""
    p = parse(raw)
    assert "Grüße aus unserem Shop <https://example.org/x>" in p.text
    assert "- eins" in p.text and "- zwei" in p.text and "Zeile zwei & mehr" in p.text
    assert "alert" not in p.text and "color" not in p.text
    assert mail_parse.NOTE_HTML in p.notes


@pytest.mark.parametrize("charset", ["x-unknown-charset", "utf-8", "us-ascii", "iso-2022-jp", ""])
def test_a_wrong_or_unknown_charset_is_replaced_not_an_error(charset):
    raw = (b"From: a@example.org\nSubject: x\nContent-Type: text/plain; charset=\"" + charset.encode()
           + b"\"\n\nGr\xfc\xdfe \xff\xfe kaputt\n")
    p = parse(raw)
    assert_storable(p)
    assert "kaputt" in p.text


def test_encoded_words_in_every_charset_are_decoded_and_broken_ones_replaced():
    raw = (b"From: =?iso-8859-1?q?J=FCrgen_M=FCller?= <jm@example.org>\n"
           b"To: =?utf-8?b?w4TDtsOc?= <x@example.org>\n"
           b"Subject: =?koi8-r?b?8NLJ18XU?= und =?bogus-charset?q?=FF=FE?= und =?utf-8?q?=E2=82?=\n\nx\n")
    p = parse(raw)
    assert p.from_name == "Jürgen Müller" and p.from_addr == "jm@example.org"
    assert "Привет" in p.subject and "ÄöÜ" in p.to
    assert_storable(p)


def test_raw_8bit_headers_are_read_as_utf8_with_replacement():
    raw = "From: Zoë <z@example.org>\nSubject: Grüße\n\nText\n".encode("utf-8") + b"\nBad: \xff\xfe\n"
    p = parse(raw)
    assert p.subject == "Grüße" and p.from_name == "Zoë"
    p2 = parse(b"From: a@example.org\nSubject: caf\xe9 \xff\n\nx\n")
    assert_storable(p2)
    assert p2.subject.startswith("caf")


def test_nul_bytes_never_reach_the_text():
    raw = b"From: a\x00b@example.org\nSubject: nul\x00byte\n\nText mit \x00 NUL\x00\n"
    p = parse(raw)
    assert_storable(p)
    assert "NUL" in p.text and p.subject == "nulbyte"


def test_a_100_kb_header_is_kept_shortened_with_a_note():
    raw = b"From: a@example.org\nSubject: " + b"x" * 100_000 + b"\nX-Long: " + b"y " * 50_000 + b"\n\nText\n"
    p = parse(raw)
    assert len(p.subject) == mail_parse.MAX_HEADER_TEXT and mail_parse.NOTE_SUBJECT_LONG in p.notes
    assert p.text == "Text"


def test_5000_recipients_are_counted_and_the_first_ones_kept():
    to = ", ".join(f"user{i}@example.org" for i in range(5000))
    p = parse(f"From: a@example.org\nTo: {to}\nSubject: x\n\nText\n".encode(), recipients_kept=100)
    assert p.to.count("@") == 100 and p.to.startswith("user0@example.org")
    assert "An: 5.000 Empfänger, nur die ersten 100 gespeichert." in p.notes


def test_a_message_without_headers_is_unreadable_and_kept_as_text():
    p = parse(b"Hallo, das ist nur Text ohne Kopf.\nZweite Zeile.\n")
    assert p.unreadable and "nur Text ohne Kopf" in p.text


@pytest.mark.parametrize("raw", [b"", b"\x00\x01\x02\xff" * 100, b"\n\n\n", bytes(range(256)) * 20])
def test_empty_or_binary_garbage_is_unreadable_not_an_error(raw):
    p = parse(raw)
    assert p.unreadable
    assert_storable(p)


def test_a_message_of_headers_only_has_no_text():
    p = parse(b"From: a@example.org\nSubject: nur Kopf\nMessage-ID: <h@x>")
    assert not p.unreadable and p.subject == "nur Kopf" and p.text == "" and p.message_id == "h@x"


def test_broken_mime_structure_still_reads():
    raw = b"""From: a@example.org
Subject: kaputt
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="never-closed"

--never-closed
Content-Type: text/plain

Anfang
--never-closed
Content-Type: application/pdf; name="a.pdf"
Content-Transfer-Encoding: base64

!!!not base64!!!
"""
    p = parse(raw)
    assert "Anfang" in p.text and [a.filename for a in p.attachments] == ["a.pdf"]


def test_attachment_names_are_decoded_and_made_safe():
    raw = b"""From: a@example.org
Subject: x
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=B

--B
Content-Type: text/plain

Hallo
--B
Content-Type: application/octet-stream
Content-Disposition: attachment; filename*=utf-8''..%2F..%2Fetc%2Fpass%C3%BCwd

data
--B--
"""
    p = parse(raw)
    (att,) = p.attachments
    assert "/" not in att.filename and att.filename.endswith("passüwd") and att.data == b"data"


def test_message_ids_are_stored_without_brackets_and_long_ones_hashed():
    assert parse(mail(message_id="abc@x")).message_id == "abc@x"
    long_id = "a" * 600 + "@x"
    key = parse(mail(message_id=long_id)).message_id
    assert key.startswith("sha256:") and len(key) <= 255
    assert parse(mail(message_id=long_id)).message_id == key
    p = parse(mail(in_reply_to="r@x", references="<a@x> <b@x>\n <c@x>"))
    assert p.in_reply_to == ("r@x",) and p.references == ("a@x", "b@x", "c@x")


def test_a_delivery_report_is_automatic_and_names_the_bounced_message():
    p = parse(bounce("desk-1@desk.example"))
    assert p.is_auto and p.auto_reason == mail_parse.BOUNCE
    assert p.bounce_of == ("desk-1@desk.example",)
    assert "5.1.1" in p.bounce_reason and "user unknown" in p.bounce_reason


@pytest.mark.parametrize("headers, reason", [
    ({"Auto-Submitted": "auto-generated"}, mail_parse.AUTO_SUBMITTED),
    ({"Auto-Submitted": "auto-replied; owner=x"}, mail_parse.AUTO_SUBMITTED),
    ({"Auto-Submitted": "No"}, ""),
    ({"Precedence": "Bulk"}, mail_parse.PRECEDENCE),
    ({"Precedence": "first-class"}, ""),
    ({"X-Autoreply": "yes"}, mail_parse.AUTOREPLY),
    ({"X-Autorespond": "x"}, mail_parse.AUTOREPLY),
    ({"List-Id": "<list.example.org>"}, ""),
])
def test_automatic_mail_is_recognised_by_its_headers(headers, reason):
    p = parse(mail(headers=headers))
    assert (p.is_auto, p.auto_reason) == (bool(reason), reason)


def test_the_date_header_is_read_as_utc_and_a_broken_one_ignored():
    assert parse(mail()).sent_at.isoformat() == "2026-03-10T08:00:00+00:00"
    assert parse(b"From: a@x\nDate: gestern irgendwann\n\nx").sent_at is None


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_HEADER_NAMES = ["From", "To", "Cc", "Subject", "Message-ID", "In-Reply-To", "References", "Date",
                 "Content-Type", "Content-Transfer-Encoding", "Content-Disposition", "Auto-Submitted", "MIME-Version"]
_VALUES = st.one_of(
    st.binary(max_size=80),
    st.sampled_from([b"=?utf-8?b?w4Q=?=", b"=?x?q?=FF?=", b"multipart/mixed; boundary=B", b"base64",
                     b"text/html; charset=bogus", b"<a@b>", b"attachment; filename*=x''%FF", b"message/rfc822",
                     b"multipart/report; report-type=delivery-status; boundary=B"]),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(_HEADER_NAMES), _VALUES), max_size=12),
       st.lists(st.one_of(st.binary(max_size=120), st.just(b"--B"), st.just(b"--B--"),
                          st.just(b"Content-Type: text/html"), st.just(b"")), max_size=15))
def test_any_headers_and_body_read_without_error(headers, body_lines):
    raw = b"".join(name.encode() + b": " + value + b"\r\n" for name, value in headers) + b"\r\n" + b"\r\n".join(body_lines)
    assert_storable(parse(raw))


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=2000))
def test_any_bytes_read_without_error(raw):
    assert_storable(parse(raw))
