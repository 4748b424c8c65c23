"""The ``deskapp`` command line. Bad input: one line on stderr and a non-zero exit code.

Exit codes: 0 done · 1 refused · 2 bad input/usage · 3 database problem ·
4 agent unknown or not allowed · 5 conflict · 6 registry failed (order kept, technical
ticket opened) · 130 interrupted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import sys
from typing import Sequence

from deskapp.services.errors import DeskError

EPILOG = (
    "Exit-Codes: 0 erledigt · 1 abgelehnt · 2 ungültige Eingabe · 3 Datenbankproblem · "
    "4 Agent unbekannt/nicht erlaubt · 5 Konflikt · 6 Vergabestelle fehlgeschlagen"
)
EXIT_REGISTRY_FAILED = 6

# What the shop's customer is shown for an order (German).
ORDER_EXECUTED = "Ihre Bestellung „{item}“ über {amount} wurde ausgeführt."
ORDER_HELD = (
    "Ihre Bestellung „{item}“ über {amount} ist eingegangen. Ihre Vorgangsnummer: {process}.\n"
    "Die Bestellung überschreitet Ihr Kreditlimit für Echtzeitbestellungen; unsere "
    "Vertragsbearbeitung prüft sie und meldet sich bei Ihnen. Sie müssen nichts tun – "
    "kein Fax, kein Formular."
)
ORDER_FAILED = (
    "Ihre Bestellung „{item}“ über {amount} konnte nicht ausgeführt werden: Die Vergabestelle "
    "hat sie nicht angenommen. Unsere Technik kümmert sich darum (Ticket #{ticket}); Ihr "
    "Kreditlimit wird nicht belastet."
)
ORDER_FACTS = "Kunde {number} · Kreditlimit {limit} · Obligo {exposure} · frei {headroom}"
ORDER_ERROR = "Fehler der Vergabestelle: {error}"
ORDER_FAILED_STDERR = (
    "Vergabestelle fehlgeschlagen, Bestellung {order} nicht ausgeführt: {error} Technik-Ticket #{ticket}."
)
MSG_NEEDS_DB = "{command} braucht --db (SQLAlchemy-URL oder Dateipfad der Datenbank)."
MSG_BAD_DATE = "'{value}' ist kein Datum (TT.MM.JJ oder JJJJ-MM-TT)."
SETTLED_ONE = "Bestellung {order} ({item}, {amount}) als abgerechnet markiert."
SETTLED_MANY = "{count} Bestellungen bis {until} als abgerechnet markiert."
SETTLED_ONE_OF_MANY = "1 Bestellung bis {until} als abgerechnet markiert."


# argparse's own messages in German (argparse looks them up through gettext's ``_``).
ARGPARSE_DE = {
    "usage: ": "Aufruf: ",
    "positional arguments": "Argumente",
    "options": "Optionen",
    "show this help message and exit": "diese Hilfe zeigen und beenden",
    "the following arguments are required: %s": "diese Angaben fehlen: %s",
    "unrecognized arguments: %s": "unbekannte Angaben: %s",
    "expected one argument": "erwartet einen Wert",
    "invalid choice: %(value)r (choose from %(choices)s)": "ungültige Wahl: %(value)r (möglich: %(choices)s)",
    "argument %(argument_name)s: %(message)s": "Angabe %(argument_name)s: %(message)s",
    "not allowed with argument %s": "nicht zusammen mit %s erlaubt",
    "one of the arguments %s is required": "eine dieser Angaben ist nötig: %s",
    "invalid %(type)s value: %(value)r": "ungültiger Wert (%(type)s): %(value)r",
    "ambiguous option: %(option)s could match %(matches)s": "mehrdeutige Option: %(option)s passt zu %(matches)s",
}


def _german(message: str) -> str:
    return ARGPARSE_DE.get(message, message)


argparse._ = _german  # type: ignore[attr-defined]


class _Parser(argparse.ArgumentParser):
    """argparse, but the error is one German line (no usage dump) and exit code 2."""

    def error(self, message: str):  # noqa: D401
        self.exit(2, f"deskapp: Fehler: {message} (Hilfe: {self.prog} --help)\n")


# Modules with more sub-commands (see build_parser).
COMMAND_MODULES = (
    "screens.cli.budget",
    "screens.cli.extension",
    "screens.cli.agents",
    "screens.cli.settings",
    "screens.cli.customers",
    "screens.cli.mail",  # after budget (``mail``) and customers (``ticket``): adds to their parsers
)


def _db_help(default: str) -> str:
    return f"SQLAlchemy-URL oder Dateipfad der Datenbank (Standard: {default})"


def build_parser() -> argparse.ArgumentParser:
    from deskapp.settings import default_db_path

    parser = _Parser(
        prog="deskapp",
        description="Der Support-Desk im Terminal. Ohne Befehl startet der Desk.",
        epilog=EPILOG,
    )
    parser.add_argument("--db", help=_db_help(str(default_db_path())))
    parser.add_argument("--agent", help="Agent wählen (nur auf einer Demo-Datenbank; sonst zählt die Anmeldung)")
    sub = parser.add_subparsers(dest="command", metavar="BEFEHL", parser_class=_Parser)

    demo = sub.add_parser("demo", help="Frische Demo-Datenbank anlegen und den Desk starten", epilog=EPILOG)
    demo.add_argument("--agent", help="Agent der Demo (tom, lena, sara, kai, isabel, rebekka)")
    demo.add_argument("--db", help="Datei der Demo-Datenbank (wird neu angelegt)")

    seed = sub.add_parser("seed", help="Datenbank mit Demo- oder Lastdaten füllen", epilog=EPILOG)
    seed.add_argument("kind", choices=["demo", "large"], help="demo: ~50 Kunden; large: 10.000 Kunden, 100.000 Tickets")
    seed.add_argument("--db", required=True, help=_db_help("–"))
    seed.add_argument("--force", action="store_true", help="Eine nicht leere Datenbank vorher leeren")

    db = sub.add_parser("db", help="Datenbankschema verwalten", epilog=EPILOG)
    db_sub = db.add_subparsers(dest="db_command", metavar="AKTION", parser_class=_Parser, required=True)
    upgrade = db_sub.add_parser("upgrade", help="Schema auf den neuesten Stand bringen (Alembic)")
    upgrade.add_argument("--db", required=True, help=_db_help("–"))

    order = sub.add_parser(
        "order",
        help="Echtzeitbestellung aufgeben (wie der Shop; läuft als System-Agent)",
        description=(
            "Eine Echtzeitbestellung gegen das Kreditlimit: ausgeführt, angehalten (Vorgangsnummer, "
            "Vertragsbearbeitung prüft) oder an der Vergabestelle gescheitert (Technik-Ticket)."
        ),
        epilog=EPILOG,
    )
    order.add_argument("--db", default=argparse.SUPPRESS, help=_db_help("–"))
    order.add_argument("--customer", required=True, help="Kundennummer oder Kunden-ID (UUID)")
    order.add_argument("--item", required=True, help="Bestellter Artikel, z. B. die Domain example.de")
    order.add_argument(
        "--amount", required=True, help="Betrag in EUR, z. B. 12.50 (höchstens zwei Nachkommastellen)"
    )
    order.add_argument("--json", action="store_true", help="Ergebnis als ein JSON-Objekt ausgeben")

    orders_ = sub.add_parser("orders", help="Echtzeitbestellungen verwalten", epilog=EPILOG)
    orders_sub = orders_.add_subparsers(
        dest="orders_command", metavar="AKTION", parser_class=_Parser, required=True
    )
    settle = orders_sub.add_parser(
        "settle",
        help="Bestellungen als abgerechnet (berechnet und bezahlt) markieren; gibt Obligo frei",
        epilog=EPILOG,
    )
    settle.add_argument("--db", default=argparse.SUPPRESS, help=_db_help("–"))
    which = settle.add_mutually_exclusive_group(required=True)
    which.add_argument("--order", type=int, metavar="N", help="Eine Bestellung (Nummer) abrechnen")
    which.add_argument(
        "--until", metavar="DATUM", help="Alle ausgeführten Bestellungen bis zu diesem Tag (TT.MM.JJ)"
    )
    settle.add_argument("--customer", help="Nur für diesen Kunden (Nummer oder UUID; mit --until)")

    # Sub-commands that live in their own modules: each ``register(sub)`` adds its parsers
    # and sets ``handler`` (a function ``args -> exit code``) as a parser default.
    for module in COMMAND_MODULES:
        importlib.import_module(module).register(sub)
    return parser


def _n(count: int) -> str:
    """German thousands separator: 100000 → 100.000."""
    return f"{count:,}".replace(",", ".")


# Set once the full-screen desk has run: the process may then end without the
# interpreter's teardown (module and thread cleanup costs ~0.3–0.8 s after the terminal
# is already restored; every transaction is committed by then).
_DESK_RAN = False


def entry() -> None:
    """The ``deskapp`` console script."""
    code = main()
    if _DESK_RAN:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


def _fail(message: str, code: int) -> int:
    print(f"deskapp: Fehler: {message}", file=sys.stderr)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "demo":
            return _cmd_demo(args)
        if args.command == "seed":
            return _cmd_seed(args)
        if args.command == "db":
            return _cmd_db(args)
        if args.command == "order":
            return _cmd_order(args)
        if args.command == "orders":
            return _cmd_orders_settle(args)
        if getattr(args, "handler", None) is not None:
            return args.handler(args)
        return _cmd_desk(args)
    except DeskError as exc:
        return _fail(exc.message, exc.exit_code)
    except KeyboardInterrupt:
        return 130


def _now():
    from deskapp.formatting import utcnow

    return utcnow()


def _cmd_db(args) -> int:
    from models import migrate

    from deskapp.database import open_database

    engine = open_database(args.db, migrate_schema=False)
    before = migrate.current_revision(engine)
    applied = migrate.upgrade(engine)
    head = migrate.head_revision()
    from screens.cli.agents import grant_group_privileges

    grant_group_privileges(engine)  # PostgreSQL: tables a migration added get their grants
    if applied:
        print(f"Schema aktualisiert: {before or 'leer'} → {head}")
    else:
        print(f"Schema ist aktuell ({head}).")
    return 0


def _cmd_seed(args) -> int:
    from deskapp.database import is_empty, open_database, wipe

    engine = open_database(args.db)
    if not is_empty(engine):
        if not args.force:
            return _fail("Die Datenbank ist nicht leer; mit --force wird sie vorher geleert.", 1)
        wipe(engine)
    if args.kind == "demo":
        from seed.demo import build_demo

        summary = build_demo(engine, now=_now())
        print(
            f"Demo-Daten angelegt: {_n(summary.customers)} Kunden, {_n(summary.tickets)} Tickets, "
            f"{_n(summary.packages)} Stundenpakete, {_n(summary.orders)} Bestellungen."
        )
    else:
        _seed_large(engine)
    return 0


def _seed_large(engine) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from seed.large import build_large

    labels = {"customers": "Kunden", "tickets": "Tickets", "packages": "Stundenpakete"}
    with Progress(
        TextColumn("{task.description:<14}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        transient=False,
    ) as progress:
        bars: dict[str, int] = {}

        def report(stage: str, done: int, total: int) -> None:
            if stage not in bars:
                bars[stage] = progress.add_task(labels.get(stage, stage), total=total)
            progress.update(bars[stage], completed=done)

        summary = build_large(engine, now=_now(), progress=report)
    print(
        f"Lastdaten angelegt: {_n(summary.customers)} Kunden, {_n(summary.tickets)} Tickets, "
        f"{_n(summary.packages)} Stundenpakete in {summary.seconds:.1f} s."
    )


def _cmd_demo(args) -> int:
    from deskapp.database import open_database
    from deskapp.settings import demo_db_path

    path = args.db or str(demo_db_path())
    from deskapp.database import sqlite_path
    from models.engine import normalize_url

    file = sqlite_path(normalize_url(path))
    if file is None:
        return _fail("deskapp demo braucht eine Datei für die Demo-Datenbank.", 2)
    file.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        candidate = file.with_name(file.name + suffix)
        if candidate.exists():
            candidate.unlink()
    engine = open_database(str(file))
    from seed.demo import build_demo

    build_demo(engine, now=_now())
    return _run_desk(engine, requested=args.agent or os.environ.get("DESK_AGENT"))


def _cmd_desk(args) -> int:
    from deskapp import quickstart
    from deskapp.settings import desk_db_target

    target = desk_db_target(args.db)
    requested = args.agent or os.environ.get("DESK_AGENT")
    # The lean start: an SQLite database at the schema head shows its first page before
    # SQLAlchemy is imported; anything else takes the full path, which explains problems.
    quick = quickstart.prepare(target, os_login=_os_login(), requested=requested)
    if quick is not None:
        return _run_quick(target, quick)
    from deskapp.database import open_database

    engine = open_database(target)
    return _run_desk(engine, requested=requested)


def _run_quick(target: str, quick) -> int:
    from screens.app import DeskApp
    from deskapp.settings import Policy

    def engine_factory():
        # Runs in the first worker, after the first frame; quickstart saw the schema at head.
        from models.engine import make_engine, normalize_url

        return make_engine(normalize_url(target))

    app = DeskApp(
        engine_factory=engine_factory,
        first_page=quick.first_page,
        agent=quick.agent,
        policy=Policy().with_overrides(quick.overrides),
        notice=quick.notice,
    )
    app.run_and_leave()
    global _DESK_RAN
    _DESK_RAN = True
    return app.return_code or 0


def _required_db(args, command: str) -> str:
    """``--db``, else the database ``deskapp init`` recorded in the settings file."""
    from deskapp.services.errors import InvalidInput
    from deskapp.settings import configured_db_url

    url = getattr(args, "db", None) or configured_db_url()
    if not url:
        raise InvalidInput(MSG_NEEDS_DB.format(command=command))
    return url


def _amount_arg(raw: str):
    """The ``--amount`` as Decimal, or ``InvalidInput`` (sign, exponent, NaN, >2 decimals)."""
    from deskapp.rules.inputs import InputError, parse_money
    from deskapp.services import orders
    from deskapp.services.errors import InvalidInput

    try:
        amount = parse_money(raw)
    except InputError:
        raise InvalidInput(orders.MSG_AMOUNT, field="amount") from None
    return orders.validate_amount(amount)


def _date_arg(raw: str) -> dt.date:
    """``TT.MM.JJ``, ``TT.MM.JJJJ`` or ``JJJJ-MM-TT``, or ``InvalidInput``."""
    from deskapp.rules.inputs import InputError, parse_date
    from deskapp.services.errors import InvalidInput

    try:
        return parse_date(raw, allow_iso=True)
    except InputError:
        raise InvalidInput(MSG_BAD_DATE.format(value=raw)) from None


def _cents(amount) -> str:
    return f"{amount:.2f}"


def shop_customer(session, ref: str):
    """The customer a shop request names; one the desk does not know is bad input (exit 2)."""
    from deskapp.services import customers
    from deskapp.services.errors import InvalidInput, NotFound

    try:
        return customers.resolve(session, ref)
    except NotFound as exc:
        raise InvalidInput(exc.message) from None


def _cmd_order(args) -> int:
    """Place a real-time order as the shop does: as the ``system`` agent, in one transaction."""
    from models.engine import write_session
    from models.tables import Order

    from deskapp.database import open_database
    from deskapp.formatting import money
    from deskapp.services import agents, customers, orders, settings_store
    from deskapp.services.errors import InvalidInput, NotFound
    from deskapp.services.registry import registry_from_settings

    url = _required_db(args, "deskapp order")
    amount = _amount_arg(args.amount)  # bad input is refused before the database is touched
    item = args.item.strip()
    if not item or len(item) > orders.MAX_ITEM:
        raise InvalidInput(orders.MSG_ITEM)
    engine = open_database(url)
    now = _now()
    try:
        with write_session(engine) as session:
            system = agents.system_agent(session)
            customer = shop_customer(session, args.customer)
            policy = settings_store.load_policy(session)
            result = orders.place_order(
                session, system, customer_id=customer.id, item=item, amount=amount, now=now,
                policy=policy, registry=registry_from_settings(policy, now=now),
            )
            error = session.get(Order, result.order_id).error if result.status == "failed" else ""
    finally:
        engine.dispose()

    facts = {
        "item": result.item, "amount": money(result.amount), "process": result.process_number,
        "ticket": result.ticket_number,
    }
    shown = {"executed": ORDER_EXECUTED, "held": ORDER_HELD, "failed": ORDER_FAILED}[result.status]
    message = shown.format(**facts)
    if args.json:
        print(json.dumps({
            "status": result.status,
            "order": result.order_id,
            "process_number": result.process_number,
            "ticket": result.ticket_number,
            "customer": result.customer.number,
            "customer_id": str(result.customer.id),
            "customer_name": result.customer.name,
            "item": result.item,
            "amount": _cents(result.amount),
            "limit": _cents(result.limit),
            "exposure": _cents(result.exposure),
            "headroom": _cents(result.headroom),
            "conspicuous": list(result.conspicuous_reasons),
            "error": error or None,
            "message": message,
        }, ensure_ascii=False))
    else:
        print(message)
        print(ORDER_FACTS.format(
            number=result.customer.number, limit=money(result.limit), exposure=money(result.exposure),
            headroom=money(result.headroom),
        ))
        if error:
            print(ORDER_ERROR.format(error=error))
    if result.status == "failed":
        if not args.json:
            print("deskapp: Fehler: " + ORDER_FAILED_STDERR.format(
                order=result.order_id, error=error, ticket=result.ticket_number
            ), file=sys.stderr)
        return EXIT_REGISTRY_FAILED
    return 0


def _cmd_orders_settle(args) -> int:
    """Mark orders invoiced and paid (as the ``system`` agent, like the billing run)."""
    from models.engine import write_session

    from deskapp.database import open_database
    from deskapp.formatting import date_de, money
    from deskapp.services import agents, customers, orders
    from deskapp.services.errors import InvalidInput, NotFound

    url = _required_db(args, "deskapp orders settle")
    if args.customer and args.order is not None:
        raise InvalidInput("--customer gilt nur zusammen mit --until.")
    until = _date_arg(args.until) if args.until else None
    engine = open_database(url)
    now = _now()
    try:
        with write_session(engine) as session:
            system = agents.system_agent(session)
            if until is None:
                view = orders.settle_order(session, system, order_id=args.order, now=now)
            else:
                customer_id = None
                if args.customer:
                    try:
                        customer_id = customers.resolve(session, args.customer).id
                    except NotFound as exc:
                        raise InvalidInput(exc.message) from None
                count = orders.settle_orders_until(
                    session, system, customer_id=customer_id, until=until, now=now
                )
    finally:
        engine.dispose()
    if until is None:
        print(SETTLED_ONE.format(order=view.id, item=view.item, amount=money(view.amount)))
        return 0
    template = SETTLED_ONE_OF_MANY if count == 1 else SETTLED_MANY
    print(template.format(count=count, until=date_de(until)))
    return 0


def _os_login() -> str:
    """The login name of the process's real user id.

    Not ``getpass.getuser()``: it reads ``USER``/``LOGNAME`` first, so anyone could be
    anyone by setting a variable. The password database entry of ``os.getuid()`` is who
    the operating system says is running this.
    """
    import pwd

    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:  # a uid without an entry (some containers)
        return ""


def _keyboard_login(session) -> str:
    """Who is at the keyboard: on PostgreSQL the database role, on SQLite the OS login."""
    from deskapp.services import db_roles

    if db_roles.is_postgres(session):
        return db_roles.session_role(session)
    return _os_login()


def _run_desk(engine, *, requested: str | None) -> int:
    from models.engine import read_session

    from deskapp.services import agents, settings_store
    from screens.app import DeskApp

    with read_session(engine) as session:
        from screens.cli.agents import require_agents

        require_agents(session, engine)  # a database without agents: say how to set it up
        agent, notice = agents.resolve_desk_agent(session, os_login=_keyboard_login(session), requested=requested)
        policy = settings_store.load_policy(session)
    app = DeskApp(engine=engine, agent=agent, policy=policy, notice=notice)
    app.run_and_leave()
    global _DESK_RAN
    _DESK_RAN = True
    return app.return_code or 0

