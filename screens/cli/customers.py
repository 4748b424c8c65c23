"""Command-line sub-commands for master data (registered by screens.cli).

* ``deskapp customers import FILE [--format csv|json] [--dry-run] [--skip-invalid] [--json]``
* ``deskapp customers export [--format csv|json] [FILE]``
* ``deskapp package book --customer … --hours … --price … --purchased DATUM --ref SHOP-REF [--json]``
  (as the ``system`` agent, like ``deskapp order``; idempotent by ``--ref``)
* ``deskapp ticket new --queue … [--customer …] --priority … --subject … --text … [--json]``

Import and ticket act as the agent at the keyboard, resolved as for the desk. Imports
stay inside the handlers: the desk's start-up builds this parser too.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import shop_transaction
from .agents import acting_agent

EPILOG = (
    "Exit-Codes: 0 erledigt · 1 abgelehnt · 2 ungültige Eingabe (nichts geschrieben) · 3 Datenbankproblem · "
    "4 Agent unbekannt/nicht erlaubt · 5 Konflikt"
)
DB_HELP = "SQLAlchemy-URL oder Dateipfad der Datenbank"
AGENT_HELP = "Agent wählen (nur auf einer Demo-Datenbank; sonst zählt die Anmeldung)"

# User-facing text (German).
IMPORT_DONE = "Import {file}: {created} neu, {updated} geändert, {unchanged} unverändert{invalid}."
IMPORT_DRY = "Probelauf {file}: {created} neu, {updated} geändert, {unchanged} unverändert{invalid} – nichts geschrieben."
IMPORT_INVALID = ", {n} ungültig"
IMPORT_LIMITS = "Kreditlimit durch den Import geändert: {n} (Grund „Import“, im Verlauf der Karte)."
IMPORT_IGNORED = "Nicht übernommene Spalten: {columns}."
IMPORT_SKIPPED = "Übersprungen (--skip-invalid): {n} Zeile(n):"
IMPORT_WOULD_FAIL = "Ohne --skip-invalid würde der Import abgelehnt: {n} Zeile(n) ungültig:"
PROBLEM_LINE = "  Zeile {line}{column}: {reason}"
MSG_NO_FILE = "Die Datei {path} gibt es nicht."
MSG_NOT_FILE = "{path} ist keine Datei."
MSG_UNREADABLE = "Die Datei {path} ist nicht lesbar: {reason}."
MSG_EXPORT_FORMAT = "Format '{value}' gibt es nicht: csv oder json."
EXPORT_DONE = "{n} Kunden nach {path} exportiert."
MSG_PRICE = "Der Preis muss ein Euro-Betrag sein, z. B. 990 oder 990,00 (höchstens zwei Nachkommastellen)."
BOOKED = "{label} für {number} ({name}) gebucht: {price}, gekauft {purchased}, gültig bis {until} · Referenz {ref}"
ALREADY = (
    "Referenz {ref} ist schon gebucht (Paket {package}, {label}, gültig bis {until}) – nichts geändert."
)
TICKET_OPENED = "Ticket #{number} angelegt: {queue} · {priority} · {customer} · „{subject}“"
NO_CUSTOMER = "ohne Kunde"
PROGRESS_LABEL = {"check": "Prüfen", "write": "Schreiben"}
PROGRESS_MIN_BYTES = 512 * 1024  # smaller files are done before a bar is worth drawing


def register(sub) -> None:
    """Add this module's sub-commands to the top-level sub-parser action."""
    from screens.cli import _Parser

    customers = sub.add_parser("customers", help="Kundenstamm importieren und exportieren", epilog=EPILOG)
    actions = customers.add_subparsers(dest="customers_command", metavar="AKTION", parser_class=_Parser,
                                       required=True)
    imp = actions.add_parser(
        "import",
        help="Kunden aus dem Abrechnungssystem übernehmen (CSV oder JSON; Abgleich über die Kundennummer)",
        description=(
            "Legt Kunden an oder aktualisiert sie (Abgleich über die Kundennummer). CSV wie aus Excel/"
            "LibreOffice mit deutschen Einstellungen: Semikolon, UTF-8 oder Windows-1252, Dezimalkomma, "
            "TT.MM.JJJJ; Spalten Kundennummer, Name, E-Mail (mehrere durch Komma), optional Telefon, "
            "Kreditlimit, Kunde seit, ID. Alles oder nichts: eine ungültige Zeile, und nichts wird "
            "geschrieben – jede ungültige Zeile wird mit Nummer, Spalte und Grund genannt."
        ),
        epilog=EPILOG,
    )
    imp.add_argument("file", metavar="DATEI", help="Die CSV- oder JSON-Datei")
    imp.add_argument("--format", choices=["csv", "json"], help="Format (Standard: aus der Dateiendung)")
    imp.add_argument("--dry-run", action="store_true", help="Nur berichten, was sich änderte; nichts schreiben")
    imp.add_argument("--skip-invalid", action="store_true",
                     help="Gültige Zeilen übernehmen, ungültige auflisten und auslassen")
    _common(imp)
    imp.set_defaults(handler=_cmd_import)

    exp = actions.add_parser("export", help="Alle Kunden im Importformat ausgeben (verlustfrei)", epilog=EPILOG)
    exp.add_argument("file", metavar="DATEI", nargs="?", help="Zieldatei (Standard: Ausgabe auf stdout)")
    exp.add_argument("--format", help="csv oder json (Standard: aus der Dateiendung, sonst csv)")
    exp.add_argument("--db", default=argparse.SUPPRESS, help=DB_HELP)
    exp.set_defaults(handler=_cmd_export)

    package = sub.add_parser("package", help="Stundenpakete (Shop-Buchungen)", epilog=EPILOG)
    pkg_actions = package.add_subparsers(dest="package_command", metavar="AKTION", parser_class=_Parser,
                                         required=True)
    book = pkg_actions.add_parser(
        "book",
        help="Im Shop gekauftes Stundenpaket buchen (als System-Agent; dieselbe Referenz bucht nur einmal)",
        description=(
            "Bucht ein Stundenpaket, wie der Shop es meldet. Dieselbe Shop-Referenz ein zweites Mal "
            "bucht nicht noch einmal, sondern sagt es (Exit-Code 0); mit anderen Angaben ist es ein "
            "Konflikt (Exit-Code 5)."
        ),
        epilog=EPILOG,
    )
    book.add_argument("--db", default=argparse.SUPPRESS, help=DB_HELP)
    book.add_argument("--customer", required=True, help="Kundennummer oder Kunden-ID (UUID)")
    book.add_argument("--hours", required=True, help="Stunden, z. B. 10 oder 7:30")
    book.add_argument("--price", required=True, help="Preis in EUR, z. B. 990 oder 990,00")
    book.add_argument("--purchased", required=True, metavar="DATUM", help="Kaufdatum (TT.MM.JJJJ oder JJJJ-MM-TT)")
    book.add_argument("--ref", required=True, metavar="SHOP-REF", help="Buchungsreferenz des Shops")
    book.add_argument("--label", default="", help="Bezeichnung des Pakets (Standard: „Stundenpaket hh:mm Std“)")
    book.add_argument("--json", action="store_true", help="Ergebnis als ein JSON-Objekt ausgeben")
    book.set_defaults(handler=_cmd_package_book)

    ticket = sub.add_parser("ticket", help="Tickets von Hand anlegen", epilog=EPILOG)
    t_actions = ticket.add_subparsers(dest="ticket_command", metavar="AKTION", parser_class=_Parser, required=True)
    new = t_actions.add_parser(
        "new",
        help="Ticket von Hand anlegen (Anruf, Besuch) – als der angemeldete Agent",
        epilog=EPILOG,
    )
    new.add_argument("--queue", required=True, help="support, contract (Vertragsbearbeitung) oder technical (Technik)")
    new.add_argument("--customer", help="Kundennummer oder Kunden-ID (UUID); ohne: Ticket ohne Kunde")
    new.add_argument("--priority", required=True, help="low/niedrig, normal, high/hoch, urgent/dringend oder 1–4")
    new.add_argument("--subject", required=True, help="Betreff")
    new.add_argument("--text", required=True, help="Text des Tickets ('-': von stdin lesen)")
    _common(new)
    new.set_defaults(handler=_cmd_ticket_new)


def _common(parser) -> None:
    parser.add_argument("--db", default=argparse.SUPPRESS, help=DB_HELP)
    parser.add_argument("--agent", default=argparse.SUPPRESS, help=AGENT_HELP)
    parser.add_argument("--json", action="store_true", help="Ergebnis als ein JSON-Objekt ausgeben")


def _read_input(path_text: str) -> bytes:
    from deskapp.services.errors import InvalidInput

    path = Path(path_text).expanduser()
    if not path.exists():
        raise InvalidInput(MSG_NO_FILE.format(path=path))
    if not path.is_file():
        raise InvalidInput(MSG_NOT_FILE.format(path=path))
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InvalidInput(MSG_UNREADABLE.format(path=path, reason=exc.strerror or exc)) from None


def _problem_lines(problems) -> list[str]:
    return [
        PROBLEM_LINE.format(line=p.line, column=f", {p.column}" if p.column else "", reason=p.reason)
        for p in problems
    ]


def _report_json(report, *, file: str, error: str | None = None) -> str:
    return json.dumps({
        "file": file,
        "format": report.format,
        "dry_run": report.dry_run,
        "applied": report.applied,
        "rows": report.rows,
        "created": list(report.created),
        "updated": list(report.updated),
        "unchanged": list(report.unchanged),
        "invalid": [{"line": p.line, "column": p.column, "reason": p.reason} for p in report.problems],
        "limit_changes": report.limit_changes,
        "ignored_columns": list(report.ignored_columns),
        "error": error,
    }, ensure_ascii=False)


class _Bar:
    """A plain progress bar on stderr (only on a terminal; the domain layer may not use rich)."""

    WIDTH = 30

    def __init__(self) -> None:
        self.shown = ""

    def __call__(self, stage: str, done: int, total: int) -> None:
        filled = self.WIDTH * done // total if total else self.WIDTH
        label = PROGRESS_LABEL.get(stage, stage)
        line = f"\r{label:<10} [{'#' * filled}{'.' * (self.WIDTH - filled)}] {done:>7,}/{total:,}".replace(",", ".")
        if line != self.shown:
            sys.stderr.write(line)
            sys.stderr.flush()
            self.shown = line

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\r" + " " * len(self.shown) + "\r")
            sys.stderr.flush()


def _cmd_import(args) -> int:
    from models.engine import read_session, write_session

    from screens.cli import _now, _required_db
    from screens.cli.budget import open_existing
    from deskapp.rules.customer_file import guess_format
    from deskapp.services import customer_import, settings_store
    from deskapp.services.customer_import import ImportRejected

    url = _required_db(args, "deskapp customers import")
    data = _read_input(args.file)  # a missing file is refused before the database is touched
    fmt = args.format or guess_format(args.file, data)
    customer_import.read_file(data, fmt)  # an unusable file, too
    bar = _Bar() if sys.stderr.isatty() and len(data) >= PROGRESS_MIN_BYTES and not args.json else None
    engine = open_existing(url)
    now = _now()
    try:
        scope = read_session if args.dry_run else write_session
        with scope(engine) as session:
            agent = acting_agent(session, args, engine)
            policy = settings_store.load_policy(session)
            try:
                report = customer_import.import_customers(
                    session, agent, data=data, fmt=fmt, now=now, policy=policy, dry_run=args.dry_run,
                    skip_invalid=args.skip_invalid, source=Path(args.file).name, progress=bar,
                )
            finally:
                if bar:
                    bar.close()
    except ImportRejected as exc:
        if args.json:
            print(_report_json(exc.report, file=args.file, error=exc.message))
        else:
            print(f"deskapp: Fehler: {exc.message}", file=sys.stderr)
            for line in _problem_lines(exc.report.problems):
                print(line, file=sys.stderr)
        return exc.exit_code
    finally:
        engine.dispose()

    refused = bool(report.problems) and not args.skip_invalid  # only in a dry run
    if args.json:
        print(_report_json(report, file=args.file))
        return 2 if refused else 0
    template = IMPORT_DRY if report.dry_run else IMPORT_DONE
    invalid = IMPORT_INVALID.format(n=len(report.invalid_lines)) if report.problems else ""
    print(template.format(file=Path(args.file).name, created=len(report.created), updated=len(report.updated),
                          unchanged=len(report.unchanged), invalid=invalid))
    if report.limit_changes:
        print(IMPORT_LIMITS.format(n=report.limit_changes))
    if report.ignored_columns:
        print(IMPORT_IGNORED.format(columns=", ".join(report.ignored_columns)))
    if report.problems:
        head = IMPORT_WOULD_FAIL if refused else IMPORT_SKIPPED
        print(head.format(n=len(report.invalid_lines)), file=sys.stderr)
        for line in _problem_lines(report.problems):
            print(line, file=sys.stderr)
    return 2 if refused else 0


def _cmd_export(args) -> int:
    from models.engine import read_session

    from screens.cli import _required_db
    from screens.cli.budget import open_existing
    from deskapp.services import customer_import
    from deskapp.services.errors import InvalidInput

    url = _required_db(args, "deskapp customers export")
    if args.format is not None and not args.format.strip():
        raise InvalidInput(MSG_EXPORT_FORMAT.format(value=args.format))  # given, but empty
    fmt = (args.format or ("json" if args.file and args.file.lower().endswith(".json") else "csv")).lower()
    if fmt not in ("csv", "json"):
        raise InvalidInput(MSG_EXPORT_FORMAT.format(value=args.format))
    engine = open_existing(url)
    try:
        with read_session(engine) as session:
            data = customer_import.export_customers(session, fmt=fmt)
            count = len(customer_import.customer_records(session)) if args.file else 0
    finally:
        engine.dispose()
    if not args.file:
        if sys.stdout.isatty():  # shown: placeholders (docs/rules.md#inert-text)
            print(data.decode("utf-8", errors="replace"), end="")
            return 0
        sys.stdout.flush()
        sys.stdout.buffer.write(data)  # into a pipe or file: the data exactly (lossless round trip)
        sys.stdout.buffer.flush()
        return 0
    path = Path(args.file).expanduser()
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise InvalidInput(MSG_UNREADABLE.format(path=path, reason=exc.strerror or exc)) from None
    print(EXPORT_DONE.format(n=count, path=path), file=sys.stderr)
    return 0


def _price_arg(raw: str):
    from deskapp.rules.inputs import InputError, parse_money
    from deskapp.services.errors import InvalidInput

    try:
        return parse_money(raw)
    except InputError:
        raise InvalidInput(MSG_PRICE, field="price") from None


def _hours_arg(raw: str) -> int:
    from deskapp.rules.inputs import InputError, parse_package_hours
    from deskapp.services.errors import InvalidInput

    try:
        return parse_package_hours(raw)
    except InputError as exc:
        raise InvalidInput(exc.message, field="hours") from None


def _cmd_package_book(args) -> int:
    """A shop booking: as the ``system`` agent, in one transaction, once per reference."""
    from screens.cli import _date_arg, _required_db
    from deskapp.formatting import date_de, hours_label, money
    from deskapp.services import shop

    url = _required_db(args, "deskapp package book")
    minutes = _hours_arg(args.hours)  # bad input is refused before the database is touched
    price = _price_arg(args.price)
    purchased = _date_arg(args.purchased)
    ref = shop.validate_ref(args.ref)
    result = shop_transaction(url, args.customer, lambda session, system, customer, policy, now: (
        shop.book_shop_package(
            session, system, customer_id=customer.id, minutes=minutes, price=price, purchased_on=purchased,
            shop_ref=ref, now=now, policy=policy, label=args.label,
        )
    ))
    p = result.package
    if result.created:
        message = BOOKED.format(label=p.label, number=result.customer.number, name=result.customer.name,
                                price=money(p.price), purchased=date_de(p.purchased_on),
                                until=date_de(p.valid_until), ref=ref)
    else:
        message = ALREADY.format(ref=ref, package=p.id, label=p.label, until=date_de(p.valid_until))
    if args.json:
        print(json.dumps({
            "status": "booked" if result.created else "already_booked",
            "package": p.id,
            "ref": ref,
            "customer": result.customer.number,
            "customer_id": str(result.customer.id),
            "customer_name": result.customer.name,
            "label": p.label,
            "minutes": p.booked_minutes,
            "hours": hours_label(p.booked_minutes),
            "price": f"{p.price:.2f}",
            "purchased_on": p.purchased_on.isoformat(),
            "valid_until": p.valid_until.isoformat(),
            "message": message,
        }, ensure_ascii=False))
    else:
        print(message)
    return 0


def _cmd_ticket_new(args) -> int:
    from models.engine import write_session

    from deskapp import texts
    from screens.cli import _now, _required_db
    from screens.cli.budget import open_existing
    from deskapp.services import customers, ticket_intake
    from deskapp.services.errors import InvalidInput, NotFound

    url = _required_db(args, "deskapp ticket new")
    text = sys.stdin.read() if args.text == "-" else args.text
    queue = ticket_intake.parse_queue(args.queue)  # bad input before the database is touched
    priority = ticket_intake.parse_priority(args.priority)
    engine = open_existing(url)
    now = _now()
    try:
        with write_session(engine) as session:
            agent = acting_agent(session, args, engine)
            customer = None
            if args.customer:
                try:
                    customer = customers.resolve(session, args.customer)
                except NotFound as exc:
                    raise InvalidInput(exc.message) from None
            row = ticket_intake.open_by_hand(
                session, agent, queue=queue, subject=args.subject, text=text, priority=priority,
                customer_id=customer.id if customer else None, now=now,
            )
    finally:
        engine.dispose()
    if args.json:
        print(json.dumps({
            "ticket": row.number,
            "id": row.id,
            "queue": row.queue,
            "priority": int(row.priority),
            "status": row.status,
            "customer": customer.number if customer else None,
            "customer_id": str(customer.id) if customer else None,
            "subject": row.subject,
            "created_by": agent.login,
        }, ensure_ascii=False))
    else:
        who = f"{customer.number} {customer.name}" if customer else NO_CUSTOMER
        print(TICKET_OPENED.format(number=row.number, queue=texts.QUEUE[queue], priority=texts.PRIORITY[priority],
                                   customer=who, subject=row.subject))
    return 0
