"""Customer files from the billing system: reading and writing CSV and JSON.

Pure: bytes in, records and row problems out (and back). No database, no UI.

CSV as German spreadsheets export it: ``;``-separated, UTF-8 with or without BOM or
Windows-1252, decimal comma (``1.500,00``), dates ``TT.MM.JJJJ``; a header row names the
columns (German or English names, any order; unknown columns are ignored and reported).
JSON: a list of objects with the English keys of ``FIELDS``.

Whole-file problems (binary data, an endless line, the wrong separator, missing columns)
raise ``FileProblem``; everything wrong with one row becomes a ``RowProblem`` (line,
column, reason) so that every invalid row can be listed at once.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Sequence

from .inputs import InputError, parse_date, parse_export_amount
from .textcheck import control_problem, email_key, email_problem, has_control

# (field, CSV header as exported, JSON key, required)
FIELDS = (
    ("number", "Kundennummer", "number", True),
    ("name", "Name", "name", True),
    ("emails", "E-Mail", "emails", True),
    ("phone", "Telefon", "phone", False),
    ("credit_limit", "Kreditlimit", "credit_limit", False),
    ("customer_since", "Kunde seit", "customer_since", False),
    ("id", "ID", "id", False),
)
HEADER = {field: header for field, header, _, _ in FIELDS}
REQUIRED = tuple(field for field, _, _, required in FIELDS if required)
# Header names as billing systems and people write them, folded by ``_fold``.
ALIASES = {
    "number": ("kundennummer", "kundennr", "kdnr", "nummer", "number", "customernumber"),
    "name": ("name", "kundenname", "firma", "kunde", "customername"),
    "emails": ("email", "emails", "emailadresse", "emailadressen", "mail"),
    "phone": ("telefon", "telefonnummer", "tel", "phone"),
    "credit_limit": ("kreditlimit", "limit", "creditlimit"),
    "customer_since": ("kundeseit", "seit", "angelegt", "customersince"),
    "id": ("id", "uuid", "kundenid", "customerid"),
}
_BY_ALIAS = {alias: field for field, names in ALIASES.items() for alias in names}

MAX_LINE = 10_000  # characters; a customer row is a few hundred
MAX_BYTES = 200 * 1024 * 1024
MAX_NUMBER = 32
MAX_NAME = 255
MAX_PHONE = 64
MAX_EMAILS = 20

# User-facing text (German).
MSG_EMPTY = "Die Datei ist leer."
MSG_TOO_BIG = "Die Datei ist größer als 200 MB – keine Kundenliste?"
MSG_BINARY = "Die Datei ist keine Textdatei (sie enthält Binärdaten, z. B. Nullbytes) – {hint}"
MSG_UTF16 = "Die Datei ist UTF-16 kodiert; bitte als „CSV UTF-8“ oder „CSV (Trennzeichen-getrennt)“ speichern."
MSG_ENCODING = "Die Datei ist weder UTF-8 noch Windows-1252 kodiert (Byte {byte} an Stelle {pos})."
MSG_LONG_LINE = "Zeile {line} ist länger als {limit} Zeichen ({length}) – keine Kundenliste?"
MSG_NO_HEADER = "Die CSV-Datei hat keine Kopfzeile (erwartet z. B.: {header})."
MSG_SEPARATOR = (
    "Die CSV-Datei ist mit „{found}“ getrennt, erwartet wird das Semikolon „;“ (so speichern Excel und "
    "LibreOffice mit deutschen Einstellungen)."
)
MSG_MISSING = "Es fehlen Spalten: {missing}. Gefunden: {found}."
MSG_DUPLICATE_COLUMN = "Die Spalte „{column}“ steht zweimal in der Kopfzeile."
MSG_CSV_BROKEN = "Zeile {line}: die CSV-Datei ist fehlerhaft ({detail})."
MSG_JSON_BROKEN = "Zeile {line}, Spalte {col}: kein gültiges JSON ({detail})."
MSG_JSON_SHAPE = "Die JSON-Datei muss eine Liste von Kunden sein: [{\"number\": …, \"name\": …}, …]."
# The json module's messages, in German (the rest are shown as they are).
JSON_DETAIL_DE = {
    "Expecting value": "Wert erwartet",
    "Expecting ',' delimiter": "„,“ erwartet",
    "Expecting ':' delimiter": "„:“ erwartet",
    "Expecting property name enclosed in double quotes": "Feldname in doppelten Anführungszeichen erwartet",
    "Unterminated string starting at": "Text ohne schließendes Anführungszeichen",
    "Invalid control character at": "Steuerzeichen im Text",
    "Invalid \\escape": "ungültiges \\-Zeichen",
    "Extra data": "Text nach dem Ende",
}
MSG_FORMAT = "Format '{value}' gibt es nicht: csv oder json."
HINT_XLSX = "eine Excel-Arbeitsmappe bitte erst als CSV speichern."

R_FIELDS = "hat {found} Felder statt {expected}"
R_REQUIRED = "fehlt"
R_TOO_LONG = "ist länger als {limit} Zeichen"
R_NO_EMAIL = "mindestens eine E-Mail-Adresse nötig"
R_TOO_MANY_EMAILS = "höchstens {limit} E-Mail-Adressen"
R_EMAIL_TWICE = "„{value}“ steht zweimal in der Liste"
R_AMOUNT = "„{value}“ ist kein Betrag (z. B. 1.500,00)"
R_DATE = "„{value}“ ist kein Datum (TT.MM.JJJJ)"
R_ID = "„{value}“ ist keine gültige ID (UUID)"
R_TYPE_TEXT = "muss Text sein, nicht {value}"
R_TYPE_LIST = "muss eine Liste von Adressen oder ein Text sein"
R_UNKNOWN_KEY = "unbekanntes Feld"
R_NOT_OBJECT = "ist kein JSON-Objekt ({{…}})"
R_NUMBER_TWICE = "Kundennummer {number} steht mehrfach in der Datei (Zeilen {lines})"
R_ID_TWICE = "ID {id} steht mehrfach in der Datei (Zeilen {lines})"

# ``1500``, ``1500,5``, ``1.500,00``, ``1500.00`` (a point with 1–2 decimals is a decimal
# point; with three digits after it, a thousands separator), optionally with a euro sign.
_EMAIL_SPLIT = re.compile(r"[,;\s]+")


class FileProblem(ValueError):
    """The whole file is unusable; the argument is a German sentence."""


@dataclass(frozen=True)
class CustomerRecord:
    """One customer as the file states it. ``None`` means "not given" (the column is
    missing or the cell empty): the import keeps what the desk has, or uses the default."""

    number: str
    name: str
    emails: tuple[str, ...]
    phone: str | None = None
    credit_limit: Decimal | None = None
    customer_since: dt.date | None = None
    id: uuid.UUID | None = None
    line: int = 0


@dataclass(frozen=True)
class RowProblem:
    line: int
    column: str  # the column as the file names it; "" for the row as a whole
    reason: str


@dataclass(frozen=True)
class ParsedFile:
    format: str
    rows: int  # data rows read (empty rows not counted)
    records: tuple[CustomerRecord, ...]  # the valid rows
    problems: tuple[RowProblem, ...]  # every problem, in file order
    columns: frozenset[str]  # the fields the file has
    ignored_columns: tuple[str, ...] = ()

    @property
    def invalid_lines(self) -> tuple[int, ...]:
        return tuple(sorted({p.line for p in self.problems}))


# --------------------------------------------------------------------------- reading


def guess_format(name: str, data: bytes) -> str:
    low = name.lower()
    if low.endswith(".json"):
        return "json"
    if low.endswith((".csv", ".txt")):
        return "csv"
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    return "json" if head in (b"[", b"{") else "csv"


def parse(data: bytes, fmt: str) -> ParsedFile:
    if fmt not in ("csv", "json"):
        raise FileProblem(MSG_FORMAT.format(value=fmt))
    text = decode(data)
    return parse_csv(text) if fmt == "csv" else parse_json(text)


def decode(data: bytes) -> str:
    """The file's text: UTF-8 (with or without BOM), else Windows-1252; binary refused."""
    if not data.strip():
        raise FileProblem(MSG_EMPTY)
    if len(data) > MAX_BYTES:
        raise FileProblem(MSG_TOO_BIG)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise FileProblem(MSG_UTF16)
    if b"\x00" in data:
        hint = HINT_XLSX if data.startswith(b"PK\x03\x04") else "erwartet wird CSV oder JSON."
        raise FileProblem(MSG_BINARY.format(hint=hint))
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise FileProblem(MSG_ENCODING.format(byte=f"0x{data[exc.start]:02X}", pos=exc.start + 1)) from None


def _fold(header: str) -> str:
    return re.sub(r"[\s\-_.]+", "", header.strip().lower())


def _check_lines(text: str) -> None:
    start = 0
    line = 1
    while True:
        end = text.find("\n", start)
        length = (len(text) if end < 0 else end) - start
        if length > MAX_LINE:
            raise FileProblem(MSG_LONG_LINE.format(line=line, limit=f"{MAX_LINE:,}".replace(",", "."),
                                                   length=f"{length:,}".replace(",", ".")))
        if end < 0:
            return
        start = end + 1
        line += 1


def parse_csv(text: str) -> ParsedFile:
    _check_lines(text)
    lines = text.splitlines(keepends=True)
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    example = ";".join(HEADER.values())
    if first is None:
        raise FileProblem(MSG_EMPTY)
    header_line = lines[first]
    if ";" not in header_line:
        for sep, shown in (("\t", "Tabulator"), (",", ","), ("|", "|")):
            if sep in header_line:
                raise FileProblem(MSG_SEPARATOR.format(found=shown))
    reader = csv.reader(io.StringIO(text), delimiter=";", strict=True)
    try:
        header: list[str] = []
        while not any(cell.strip() for cell in header):
            header = next(reader)
        columns: dict[int, str] = {}
        names: list[str] = [h.strip() for h in header]
        ignored: list[str] = []
        for pos, name in enumerate(names):
            field = _BY_ALIAS.get(_fold(name))
            if field is None:
                if name:
                    ignored.append(name)
                continue
            if field in columns.values():
                raise FileProblem(MSG_DUPLICATE_COLUMN.format(column=name))
            columns[pos] = field
        missing = [HEADER[f] for f in REQUIRED if f not in columns.values()]
        if missing:
            if not columns:
                raise FileProblem(MSG_NO_HEADER.format(header=example))
            raise FileProblem(MSG_MISSING.format(missing=", ".join(missing),
                                                 found=", ".join(n for n in names if n) or "keine"))
        shown = {field: names[pos] for pos, field in columns.items()}
        # Most files hold no control character at all: then one search here spares a
        # search per field below (a row spanning lines is checked field by field).
        clean = not has_control(text)
        records: list[CustomerRecord] = []
        problems: list[RowProblem] = []
        rows = 0
        line = reader.line_num + 1
        for cells in reader:
            start, line = line, reader.line_num + 1
            if not any(c.strip() for c in cells):
                continue
            rows += 1
            if len(cells) != len(names):
                extra_empty = len(cells) > len(names) and not any(c.strip() for c in cells[len(names):])
                if not extra_empty:
                    problems.append(RowProblem(start, "", R_FIELDS.format(found=len(cells), expected=len(names))))
                    continue
            values = {field: cells[pos] for pos, field in columns.items()}
            record, row_problems = _record(values, shown, start, json_types=False,
                                           check_control=not clean or line - start > 1)
            if row_problems:
                problems.extend(row_problems)
            else:
                records.append(record)
    except csv.Error as exc:
        raise FileProblem(MSG_CSV_BROKEN.format(line=reader.line_num, detail=exc)) from None
    except StopIteration:
        raise FileProblem(MSG_NO_HEADER.format(header=example)) from None
    return _finish("csv", rows, records, problems, frozenset(columns.values()), shown, tuple(ignored))


def parse_json(text: str) -> ParsedFile:
    items = _json_items(text)
    shown = {field: key for field, _, key, _ in FIELDS}
    by_key = {key: field for field, _, key, _ in FIELDS} | {"email": "emails"}
    records: list[CustomerRecord] = []
    problems: list[RowProblem] = []
    present: set[str] = set()
    for line, item in items:
        if not isinstance(item, dict):
            problems.append(RowProblem(line, "", R_NOT_OBJECT))
            continue
        values: dict[str, object] = {}
        row_problems = []
        for key, value in item.items():
            field = by_key.get(key)
            if field is None:
                row_problems.append(RowProblem(line, str(key), R_UNKNOWN_KEY))
                continue
            values[field] = value
            present.add(field)
        record, more = _record(values, shown, line, json_types=True)
        row_problems.extend(more)
        if row_problems:
            problems.extend(row_problems)
        else:
            records.append(record)
    return _finish("json", len(items), records, problems, frozenset(present), shown, ())


def _json_items(text: str) -> list[tuple[int, object]]:
    """The top-level list's items with the line each starts on."""
    decoder = json.JSONDecoder(parse_float=Decimal)
    ws = re.compile(r"\s*")
    pos = ws.match(text, 0).end()
    line, counted = 1, 0

    def line_at(i: int) -> int:
        nonlocal line, counted
        line += text.count("\n", counted, i)
        counted = i
        return line

    def broken(exc: json.JSONDecodeError):
        detail = JSON_DETAIL_DE.get(exc.msg, exc.msg)
        return FileProblem(MSG_JSON_BROKEN.format(line=exc.lineno, col=exc.colno, detail=detail))

    if pos >= len(text) or text[pos] != "[":
        if pos < len(text) and text[pos] == "{":
            raise FileProblem(MSG_JSON_SHAPE)
        try:
            decoder.decode(text)
        except json.JSONDecodeError as exc:
            raise broken(exc) from None
        raise FileProblem(MSG_JSON_SHAPE)
    pos = ws.match(text, pos + 1).end()
    items: list[tuple[int, object]] = []
    if pos < len(text) and text[pos] == "]":
        pos += 1
    else:
        while True:
            start = line_at(pos)
            try:
                item, pos = decoder.raw_decode(text, pos)
            except json.JSONDecodeError as exc:
                raise broken(exc) from None
            items.append((start, item))
            pos = ws.match(text, pos).end()
            if pos < len(text) and text[pos] == ",":
                pos = ws.match(text, pos + 1).end()
                continue
            if pos < len(text) and text[pos] == "]":
                pos += 1
                break
            err = json.JSONDecodeError("erwartet „,“ oder „]“", text, min(pos, len(text)))
            raise broken(err)
    if text[pos:].strip():
        raise broken(json.JSONDecodeError("Text nach dem Ende der Liste", text, pos))
    return items


def _finish(fmt, rows, records, problems, columns, shown, ignored) -> ParsedFile:
    """Duplicate numbers and ids make every occurrence invalid: which one is right is unknown."""
    for key, label, template in (("number", "number", R_NUMBER_TWICE), ("id", "id", R_ID_TWICE)):
        lines: dict[object, list[int]] = {}
        for rec in records:
            value = getattr(rec, key)
            if value is not None:
                lines.setdefault(value, []).append(rec.line)
        twice = {value: ls for value, ls in lines.items() if len(ls) > 1}
        if not twice:
            continue
        keep = []
        for rec in records:
            ls = twice.get(getattr(rec, key))
            if ls is None:
                keep.append(rec)
                continue
            text = template.format(**{label: getattr(rec, key), "lines": ", ".join(map(str, ls))})
            problems.append(RowProblem(rec.line, shown[key], text))
        records = keep
    problems.sort(key=lambda p: p.line)
    return ParsedFile(fmt, rows, tuple(records), tuple(problems), columns, ignored)


def _record(
    values: dict, shown: dict, line: int, *, json_types: bool, check_control: bool = True
) -> tuple[CustomerRecord | None, list]:
    problems: list[RowProblem] = []

    def bad(field: str, reason: str) -> None:
        problems.append(RowProblem(line, shown[field], reason))

    def text(field: str, limit: int, *, required: bool) -> str | None:
        raw = values.get(field)
        if raw is None:
            if required:
                bad(field, R_REQUIRED)
            return None
        if json_types and not isinstance(raw, str):
            if field == "number" and isinstance(raw, int) and not isinstance(raw, bool):
                raw = str(raw)
            else:
                bad(field, R_TYPE_TEXT.format(value=json.dumps(raw, default=str)))
                return None
        value = raw.strip()
        if not value:
            if required:
                bad(field, R_REQUIRED)
            return "" if field == "phone" else None
        if len(value) > limit:
            bad(field, R_TOO_LONG.format(limit=limit))
            return None
        if check_control:
            problem = control_problem(value)
            if problem:
                bad(field, problem)
                return None
        return value

    number = text("number", MAX_NUMBER, required=True)
    name = text("name", MAX_NAME, required=True)
    phone = text("phone", MAX_PHONE, required=False) if "phone" in values else None
    emails = _emails(values.get("emails"), bad, json_types=json_types, check_control=check_control)
    limit = _amount(values.get("credit_limit"), bad)
    since = _date(values.get("customer_since"), bad)
    cid = _uuid(values.get("id"), bad)
    if problems:
        return None, problems
    return CustomerRecord(number, name, emails, phone, limit, since, cid, line), []


def _emails(raw, bad, *, json_types: bool, check_control: bool) -> tuple[str, ...]:
    if raw is None:
        bad("emails", R_NO_EMAIL)
        return ()
    if isinstance(raw, str):
        parts = [p for p in _EMAIL_SPLIT.split(raw.strip()) if p]
    elif json_types and isinstance(raw, list) and all(isinstance(a, str) for a in raw):
        parts = [a.strip() for a in raw if a.strip()]
    else:
        bad("emails", R_TYPE_LIST)
        return ()
    if not parts:
        bad("emails", R_NO_EMAIL)
        return ()
    if len(parts) > MAX_EMAILS:
        bad("emails", R_TOO_MANY_EMAILS.format(limit=MAX_EMAILS))
        return ()
    seen: set[str] = set()
    ok = True
    for address in parts:
        key = email_key(address)
        problem = email_problem(address, check_control=check_control)
        if problem:
            bad("emails", problem)
            ok = False
        elif key in seen:
            bad("emails", R_EMAIL_TWICE.format(value=address))
            ok = False
        seen.add(key)
    return tuple(parts) if ok else ()


def parse_amount(raw: str) -> Decimal | None:
    """German (``1.500,50``) or plain (``1500.50``) amount, a trailing € allowed; None if not one."""
    try:
        return parse_export_amount(raw)
    except InputError:
        return None


def _amount(raw, bad) -> Decimal | None:
    if raw is None:
        return None
    if isinstance(raw, bool):
        bad("credit_limit", R_AMOUNT.format(value=raw))
        return None
    if isinstance(raw, (int, Decimal)):
        return Decimal(raw)
    if not isinstance(raw, str):
        bad("credit_limit", R_AMOUNT.format(value=raw))
        return None
    if not raw.strip():
        return None
    amount = parse_amount(raw)
    if amount is None:
        bad("credit_limit", R_AMOUNT.format(value=raw.strip()[:40]))
    return amount


def _date(raw, bad) -> dt.date | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, str):
        try:
            return parse_date(raw, allow_iso=True)
        except InputError:
            pass
    bad("customer_since", R_DATE.format(value=str(raw)[:40]))
    return None


def _uuid(raw, bad) -> uuid.UUID | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    try:
        return uuid.UUID(raw.strip())
    except (ValueError, AttributeError, TypeError):
        bad("id", R_ID.format(value=str(raw)[:60]))
        return None


# --------------------------------------------------------------------------- writing


def amount_de(amount: Decimal) -> str:
    """``1500.00`` → ``1500,00`` (no thousands separator: any spreadsheet reads it back)."""
    return f"{amount:.2f}".replace(".", ",")


def format_csv(records: Sequence[CustomerRecord]) -> bytes:
    """The CSV a German spreadsheet reads: UTF-8 with BOM, ``;``, CRLF, decimal comma."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(HEADER.values())
    for r in records:
        writer.writerow([
            r.number, r.name, ", ".join(r.emails), r.phone or "",
            amount_de(r.credit_limit) if r.credit_limit is not None else "",
            r.customer_since.strftime("%d.%m.%Y") if r.customer_since else "",
            str(r.id) if r.id else "",
        ])
    return b"\xef\xbb\xbf" + out.getvalue().encode("utf-8")


def format_json(records: Sequence[CustomerRecord]) -> bytes:
    """A JSON list, one customer per line (diffs and line numbers stay readable)."""
    lines = [
        json.dumps({
            "number": r.number, "name": r.name, "emails": list(r.emails), "phone": r.phone or "",
            "credit_limit": f"{r.credit_limit:.2f}" if r.credit_limit is not None else None,
            "customer_since": r.customer_since.isoformat() if r.customer_since else None,
            "id": str(r.id) if r.id else None,
        }, ensure_ascii=False)
        for r in records
    ]
    body = ",\n".join(f"  {line}" for line in lines)
    return (f"[\n{body}\n]\n" if lines else "[]\n").encode("utf-8")


def format_file(records: Sequence[CustomerRecord], fmt: str) -> bytes:
    if fmt == "csv":
        return format_csv(records)
    if fmt == "json":
        return format_json(records)
    raise FileProblem(MSG_FORMAT.format(value=fmt))
