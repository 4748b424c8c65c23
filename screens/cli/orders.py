"""Command-line sub-commands for real-time orders (registered by screens.cli).

* ``deskapp order --customer … --item … --amount … [--ref SHOP-REF] [--json]`` — place an
  order as the shop does. With ``--ref`` the same reference answers with the same order
  (exit code and text), however often the shop repeats it; other facts under a known
  reference are refused (exit 5).
* ``deskapp orders settle (--order N | --until DATUM [--customer …])`` — mark orders
  invoiced and paid.
* ``deskapp orders recover [--json]`` — resolve orders left ``in Ausführung`` (pending)
  through the registry's status query (docs/rules.md#order-recovery); safe from cron
  (``deskapp reminders run`` runs it too).

All run as the ``system`` agent. Imports stay inside the handlers: the desk's start-up
builds this parser too.
"""

from __future__ import annotations

import argparse
import json
import sys

EXIT_REGISTRY_FAILED = 6
EXIT_REFUSED = 1

# What the shop's customer is shown for an order (German).
ORDER_EXECUTED = "Ihre Bestellung „{item}“ über {amount} wurde ausgeführt."
ORDER_HELD = (
    "Ihre Bestellung „{item}“ über {amount} ist eingegangen. Ihre Vorgangsnummer: {process}.\n"
    "Die Bestellung überschreitet Ihr Kreditlimit für Echtzeitbestellungen; unsere "
    "Vertragsbearbeitung prüft sie und meldet sich bei Ihnen. Sie müssen nichts tun – "
    "kein Fax, kein Formular."
)
ORDER_FAILED = (
    "Ihre Bestellung „{item}“ über {amount} konnte nicht ausgeführt werden: {why} Unsere "
    "Technik kümmert sich darum (Ticket #{ticket}); Ihr Kreditlimit wird nicht belastet."
)
# What happened, in the customer's words (docs/glossary.md: say what happened, not a guess).
FAILED_UNREACHABLE = "Die Vergabestelle war nicht erreichbar."
FAILED_REFUSED = "Die Vergabestelle hat sie abgelehnt."
FAILED_OTHER = "Die Vergabestelle hat nicht verständlich geantwortet."


def failed_why(error: str) -> str:
    """The registry's error (``deskapp.services.registry`` MSG_*) as one sentence for the customer."""
    if "nicht erreichbar" in error:
        return FAILED_UNREACHABLE
    if "abgelehnt" in error or "HTTP-Fehler" in error:
        return FAILED_REFUSED if "abgelehnt" in error else FAILED_OTHER
    return FAILED_OTHER
ORDER_PENDING = (
    "Ihre Bestellung „{item}“ über {amount} ist eingegangen und in Ausführung: Die Vergabestelle "
    "hat noch nicht geantwortet. Sie müssen nichts tun; sie wird genau einmal ausgeführt."
)
ORDER_REJECTED = "Ihre Bestellung „{item}“ über {amount} (Vorgangsnummer {process}) wurde abgelehnt."
ORDER_FACTS = "Kunde {number} · Kreditlimit {limit} · Obligo {exposure} · frei {headroom}"
ORDER_ERROR = "Fehler der Vergabestelle: {error}"
ORDER_FAILED_STDERR = (
    "Vergabestelle fehlgeschlagen, Bestellung {order} nicht ausgeführt: {error} Technik-Ticket #{ticket}."
)
SETTLED_ONE = "Bestellung {order} ({item}, {amount}) als abgerechnet markiert."
SETTLED_MANY = "{count} Bestellungen bis {until} als abgerechnet markiert."
SETTLED_ONE_OF_MANY = "1 Bestellung bis {until} als abgerechnet markiert."
RECOVER_NONE = "Keine hängenden Bestellungen."
RECOVER_DONE = "Hängende Bestellungen: {executed} ausgeführt, {failed} fehlgeschlagen, {unclear} unklar."
RECOVER_LINE = "  {message}"

# The answer by status: text and exit code. A settled order was executed.
ANSWERS = {
    "executed": (ORDER_EXECUTED, 0),
    "settled": (ORDER_EXECUTED, 0),
    "held": (ORDER_HELD, 0),
    "pending": (ORDER_PENDING, 0),
    "failed": (ORDER_FAILED, EXIT_REGISTRY_FAILED),
    "rejected": (ORDER_REJECTED, EXIT_REFUSED),
}


def _db_help() -> str:
    return "SQLAlchemy-URL oder Dateipfad der Datenbank"


def register(sub) -> None:
    """Add this module's sub-commands to the top-level sub-parser action."""
    from screens.cli import EPILOG, _Parser

    order = sub.add_parser(
        "order",
        help="Echtzeitbestellung aufgeben (wie der Shop; läuft als System-Agent)",
        description=(
            "Eine Echtzeitbestellung gegen das Kreditlimit: ausgeführt, angehalten (Vorgangsnummer, "
            "Vertragsbearbeitung prüft) oder an der Vergabestelle gescheitert (Technik-Ticket). "
            "Mit --ref gibt dieselbe Shop-Referenz immer dieselbe Bestellung und dieselbe Antwort."
        ),
        epilog=EPILOG,
    )
    order.add_argument("--db", default=argparse.SUPPRESS, help=_db_help())
    order.add_argument("--customer", required=True, help="Kundennummer oder Kunden-ID (UUID)")
    order.add_argument("--item", required=True, help="Bestellter Artikel, z. B. die Domain example.de")
    order.add_argument(
        "--amount", required=True, help="Betrag in EUR, z. B. 12.50 (höchstens zwei Nachkommastellen)"
    )
    order.add_argument(
        "--ref", metavar="SHOP-REF",
        help="Referenz des Shops (bis 64 Zeichen): eine Wiederholung bestellt nicht noch einmal",
    )
    order.add_argument("--json", action="store_true", help="Ergebnis als ein JSON-Objekt ausgeben")
    order.set_defaults(handler=_cmd_order)

    orders_ = sub.add_parser("orders", help="Echtzeitbestellungen verwalten", epilog=EPILOG)
    orders_sub = orders_.add_subparsers(
        dest="orders_command", metavar="AKTION", parser_class=_Parser, required=True
    )
    settle = orders_sub.add_parser(
        "settle",
        help="Bestellungen als abgerechnet (berechnet und bezahlt) markieren; gibt Obligo frei",
        epilog=EPILOG,
    )
    settle.add_argument("--db", default=argparse.SUPPRESS, help=_db_help())
    which = settle.add_mutually_exclusive_group(required=True)
    which.add_argument("--order", metavar="N", help="Eine Bestellung (Nummer) abrechnen")
    which.add_argument(
        "--until", metavar="DATUM", help="Alle ausgeführten Bestellungen bis zu diesem Tag (TT.MM.JJ)"
    )
    settle.add_argument("--customer", help="Nur für diesen Kunden (Nummer oder UUID; mit --until)")
    settle.set_defaults(handler=_cmd_orders_settle)

    recover = orders_sub.add_parser(
        "recover",
        help="Hängende Bestellungen („in Ausführung“) bei der Vergabestelle nachfragen und abschließen",
        description=(
            "Fragt für jede Bestellung, die länger als order_pending_stale_minutes in Ausführung ist, "
            "die Vergabestelle nach ihrem Status: ausgeführt oder fehlgeschlagen schließt die Bestellung ab; "
            "ist der Status unklar, öffnet sich ein Technik-Ticket. Es wird nie blind erneut bestellt. "
            "Exit-Code 6, wenn ein Status unklar blieb."
        ),
        epilog=EPILOG,
    )
    recover.add_argument("--db", default=argparse.SUPPRESS, help=_db_help())
    recover.add_argument("--json", action="store_true", help="Ergebnis als ein JSON-Objekt ausgeben")
    recover.set_defaults(handler=_cmd_orders_recover)


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


def _cents(amount) -> str:
    return f"{amount:.2f}"


def _cmd_order(args) -> int:
    """Place a real-time order as the shop does: as the ``system`` agent (two transactions)."""
    from models.tables import Order

    from deskapp.formatting import money
    from deskapp.services import orders
    from deskapp.services.errors import InvalidInput
    from deskapp.services.registry import registry_from_settings
    from screens.cli import _required_db, shop_transaction

    url = _required_db(args, "deskapp order")
    amount = _amount_arg(args.amount)  # bad input is refused before the database is touched
    item = args.item.strip()
    if not item or len(item) > orders.MAX_ITEM:
        raise InvalidInput(orders.MSG_ITEM)
    ref = orders.validate_shop_ref(args.ref) if args.ref is not None else None

    def place(session, system, customer, policy, now):
        result = orders.place_order(
            session, system, customer_id=customer.id, item=item, amount=amount, now=now,
            policy=policy, registry=registry_from_settings(policy, now=now), shop_ref=ref,
        )
        return result, (session.get(Order, result.order_id).error if result.status == "failed" else "")

    result, error = shop_transaction(url, args.customer, place)

    facts = {
        "item": result.item, "amount": money(result.amount), "process": result.process_number,
        "ticket": result.ticket_number, "why": failed_why(error or ""),
    }
    shown, code = ANSWERS[result.status]
    message = shown.format(**facts)
    if args.json:
        print(json.dumps({
            "status": result.status,
            "order": result.order_id,
            "shop_ref": ref,
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
    if result.status == "failed" and not args.json:
        print("deskapp: Fehler: " + ORDER_FAILED_STDERR.format(
            order=result.order_id, error=error, ticket=result.ticket_number
        ), file=sys.stderr)
    return code


def _cmd_orders_settle(args) -> int:
    """Mark orders invoiced and paid (as the ``system`` agent, like the billing run)."""
    from models.engine import write_session

    from deskapp.database import open_database
    from deskapp.formatting import date_de, money
    from deskapp.services import agents, customers, orders
    from deskapp.services.errors import InvalidInput, NotFound
    from screens.cli import _date_arg, _now, _number_arg, _required_db

    url = _required_db(args, "deskapp orders settle")
    if args.customer and args.order is not None:
        raise InvalidInput("--customer gilt nur zusammen mit --until.")
    until = _date_arg(args.until) if args.until else None
    order_id = _number_arg(args.order, "--order") if args.order is not None else None  # ASCII, ≤ 18 digits
    engine = open_database(url)
    now = _now()
    try:
        with write_session(engine) as session:
            system = agents.system_agent(session)
            if until is None:
                view = orders.settle_order(session, system, order_id=order_id, now=now)
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


def recover(engine, *, now):
    """``orders.recover_pending`` as the ``system`` agent with the registry the settings name."""
    from models.engine import write_session

    from deskapp.services import agents, orders, settings_store
    from deskapp.services.registry import registry_from_settings

    with write_session(engine) as session:
        system = agents.system_agent(session)
        policy = settings_store.load_policy(session)
        return orders.recover_pending(session, system, now=now, policy=policy,
                                      registry=registry_from_settings(policy, now=now))


def recover_summary(report) -> str:
    if not report.orders:
        return RECOVER_NONE
    return RECOVER_DONE.format(
        executed=report.count("executed"), failed=report.count("failed"), unclear=report.count("unclear"),
    )


def _cmd_orders_recover(args) -> int:
    from screens.cli import _now, _required_db
    from screens.cli.budget import open_existing

    url = _required_db(args, "deskapp orders recover")
    engine = open_existing(url)
    try:
        report = recover(engine, now=_now())
    finally:
        engine.dispose()
    if args.json:
        print(json.dumps({
            "executed": report.count("executed"), "failed": report.count("failed"),
            "unclear": report.count("unclear"),
            "orders": [
                {"order": o.order_id, "order_ref": o.order_ref, "outcome": o.outcome, "ticket": o.ticket_number,
                 "message": o.message}
                for o in report.orders
            ],
        }, ensure_ascii=False))
    else:
        print(recover_summary(report))
        for o in report.orders:
            print(RECOVER_LINE.format(message=o.message))
    return EXIT_REGISTRY_FAILED if report.count("unclear") else 0
