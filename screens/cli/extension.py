"""Command-line sub-commands for the extension features (registered by screens.cli).

``deskapp extension request`` files a budget extension request and prints the
admin-channel post; ``deskapp extension decide`` approves or rejects one. The agent is
resolved exactly as for the desk: the OS login, ``--agent``/``DESK_AGENT`` only on a demo
database. Same rules and messages as the desk (the services decide); a refusal is one
German line on stderr with the DeskError's exit code.
"""

from __future__ import annotations

import argparse
import json

from .agents import acting_agent

EPILOG = (
    "Exit-Codes: 0 erledigt · 1 abgelehnt · 2 ungültige Eingabe · 3 Datenbankproblem · "
    "4 Agent unbekannt/nicht erlaubt · 5 Konflikt (schon entschieden, inzwischen geändert)"
)
MSG_INT = "{option} braucht eine ganze Zahl, nicht '{value}'."
MSG_DECISION = "Entscheidung '{value}' gibt es nicht: approve (genehmigen) oder reject (ablehnen)."
# The decision as typed: the documented English words, and the German ones agents say.
DECISIONS = {"approve": True, "genehmigen": True, "reject": False, "ablehnen": False}
REQUESTED = "Antrag {request} gestellt · Ticket #{ticket} im Admin-Channel · {route}"
APPROVED = "Antrag {request} genehmigt: Budget gültig bis {until} · Ticket #{ticket} erledigt"
REJECTED = "Antrag {request} abgelehnt: {reason} · Ticket #{ticket} erledigt"
REBOOK_HINT = (
    " Auf der Kommandozeile: --rebooked-package N mit einem dieser Pakete: {packages}."
)
REBOOK_NONE = (
    " Auf der Kommandozeile: erst ein Paket buchen (Desk: Karte, Taste b), dann "
    "--rebooked-package N angeben."
)
REBOOK_PACKAGE = "{id} ({label}, gekauft {purchased})"
DB_HELP = "SQLAlchemy-URL oder Dateipfad der Datenbank"
REBOOKED_HELP = (
    "Unter {hours} Std Restbudget: das nachgebuchte Paket (Nummer), gekauft in den letzten {days} Tagen"
)
AGENT_HELP = "Agent wählen (nur auf einer Demo-Datenbank; sonst zählt die Anmeldung)"


def register(sub) -> None:
    """Add this module's sub-commands to the top-level sub-parser action."""
    from screens.cli import _Parser  # German one-line errors, exit code 2
    from deskapp.settings import Policy

    defaults = Policy()  # help texts name the default policy; the database's settings decide

    ext = sub.add_parser(
        "extension",
        help="Budgetverlängerung beantragen oder entscheiden (Admin-Channel)",
        epilog=EPILOG,
    )
    actions = ext.add_subparsers(dest="extension_command", metavar="AKTION", parser_class=_Parser,
                                 required=True)

    request = actions.add_parser(
        "request",
        help="Verlängerung des Restbudgets eines Kunden beantragen",
        description=(
            "Stellt einen Verlängerungsantrag (ein Paket oder alles Restbudget mit demselben Ablaufdatum) "
            "und postet ihn an die Genehmigung im Admin-Channel (bei Abwesenheit an die Vertretung)."
        ),
        epilog=EPILOG,
    )
    _common(request)
    request.add_argument("--customer", required=True, help="Kundennummer oder Kunden-ID (UUID)")
    request.add_argument(
        "--months", required=True, metavar=f"{defaults.extension_min_months}|{defaults.extension_max_months}",
        help="Verlängerung um so viele Monate",
    )
    request.add_argument("--task", metavar="N", help="Die Aufgabe (Nummer), um die es geht")
    request.add_argument(
        "--until", metavar="DATUM",
        help="Welches Budget: das mit Ablauf an diesem Tag (TT.MM.JJ; Standard: das früheste)",
    )
    request.add_argument(
        "--rebooked-package", metavar="N",
        help=REBOOKED_HELP.format(
            hours=defaults.rebooking_threshold_minutes // 60, days=defaults.rebooking_recent_days
        ),
    )
    request.set_defaults(handler=_cmd_request)

    decide = actions.add_parser(
        "decide",
        help="Verlängerungsantrag genehmigen oder ablehnen (Genehmigung / Vertretung)",
        epilog=EPILOG,
    )
    _common(decide)
    decide.add_argument("--request", required=True, metavar="N", help="Nummer des Antrags")
    # Checked by the handler (not argparse ``choices``): the refusal is one German line.
    decide.add_argument("decision", metavar="approve|reject", help="approve: genehmigen · reject: ablehnen")
    decide.add_argument("--reason", default="", help="Begründung (für reject nötig)")
    decide.set_defaults(handler=_cmd_decide)


def _common(parser) -> None:
    parser.add_argument("--db", default=argparse.SUPPRESS, help=DB_HELP)
    parser.add_argument("--agent", default=argparse.SUPPRESS, help=AGENT_HELP)
    parser.add_argument("--json", action="store_true", help="Ergebnis als ein JSON-Objekt ausgeben")


def _int_arg(raw: str | None, option: str) -> int | None:
    from deskapp.rules.inputs import InputError, parse_whole_number
    from deskapp.services.errors import InvalidInput

    if raw is None:
        return None
    try:
        return parse_whole_number(raw)
    except InputError:
        raise InvalidInput(MSG_INT.format(option=option, value=raw)) from None


def _months_arg(raw: str, policy) -> int:
    from deskapp.rules import extension as rules
    from deskapp.rules.inputs import InputError, parse_whole_number
    from deskapp.services.errors import InvalidInput

    try:
        months = parse_whole_number(raw)
    except InputError:
        months = raw  # not a number: months_error says what is wanted
    problem = rules.months_error(months, policy)
    if problem:
        raise InvalidInput(problem, field="months")
    return months


def _decision_arg(raw: str) -> bool:
    """True for approve, False for reject; ``InvalidInput`` for anything else."""
    from deskapp.services.errors import InvalidInput

    approve = DECISIONS.get(raw.strip().lower())
    if approve is None:
        raise InvalidInput(MSG_DECISION.format(value=raw))
    return approve


def _payload(result, *, routing_note: str = "") -> dict:
    return {
        "request": result.request_id,
        "status": str(result.status),
        "addressee": result.addressee,
        "addressee_name": result.addressee_name,
        "routing": routing_note or None,
        "valid_until": result.valid_until.isoformat(),
        "message": result.message,
        "reason": result.reason or None,
        "decided_by": result.decided_by,
        "ticket": result.ticket_number,
    }


def _cmd_request(args) -> int:
    from models.engine import write_session

    from screens.cli import _date_arg, _now, _required_db
    from screens.cli.budget import open_existing
    from deskapp.services import customers, extensions, settings_store
    from deskapp.services.errors import InvalidInput, NotFound

    url = _required_db(args, "deskapp extension request")
    until = _date_arg(args.until) if args.until else None
    task_id = _int_arg(args.task, "--task")
    rebooked = _int_arg(args.rebooked_package, "--rebooked-package")
    engine = open_existing(url)
    now = _now()
    try:
        with write_session(engine) as session:
            agent = acting_agent(session, args, engine)
            policy = settings_store.load_policy(session)
            months = _months_arg(args.months, policy)
            try:
                customer = customers.resolve(session, args.customer)
            except NotFound as exc:
                raise InvalidInput(exc.message) from None
            try:
                result = extensions.request_extension(
                    session, agent, customer_id=customer.id, valid_until=until, months=months, task_id=task_id,
                    rebooked_package_id=rebooked, now=now, policy=policy,
                )
            except InvalidInput as exc:
                # Without --rebooked-package the only rebooking refusal is "rebook first".
                if rebooked is None and exc.field == "rebooking":
                    raise InvalidInput(exc.message + _rebook_hint(session, agent, customer.id, now, policy),
                                       field=exc.field) from None
                raise
            route = extensions.extension_view(session, agent, result.request_id, now=now).routing_note
    finally:
        engine.dispose()
    if args.json:
        print(json.dumps(_payload(result, routing_note=route), ensure_ascii=False))
    else:
        print(result.message)
        print(REQUESTED.format(request=result.request_id, ticket=result.ticket_number, route=route))
    return 0


def _rebook_hint(session, agent, customer_id, now, policy) -> str:
    """How to name the rebooking on the command line, with the packages that qualify."""
    from deskapp.formatting import date_de
    from deskapp.services import extensions

    recent = extensions.draft(session, agent, customer_id, now=now, policy=policy).recent_packages
    if not recent:
        return REBOOK_NONE
    return REBOOK_HINT.format(packages=", ".join(
        REBOOK_PACKAGE.format(id=p.id, label=p.label or "–", purchased=date_de(p.purchased_on)) for p in recent
    ))


def _cmd_decide(args) -> int:
    from models.engine import write_session

    from screens.cli import _now, _required_db
    from screens.cli.budget import open_existing
    from deskapp.formatting import date_de
    from deskapp.services import extensions, settings_store

    url = _required_db(args, "deskapp extension decide")
    request_id = _int_arg(args.request, "--request")
    approve = _decision_arg(args.decision)
    engine = open_existing(url)
    now = _now()
    try:
        with write_session(engine) as session:
            agent = acting_agent(session, args, engine)
            policy = settings_store.load_policy(session)
            result = extensions.decide(
                session, agent, request_id=request_id, approve=approve, reason=args.reason, now=now, policy=policy,
            )
    finally:
        engine.dispose()
    if args.json:
        print(json.dumps(_payload(result), ensure_ascii=False))
    elif approve:
        print(APPROVED.format(request=result.request_id, until=date_de(result.valid_until),
                              ticket=result.ticket_number))
    else:
        print(REJECTED.format(request=result.request_id, reason=result.reason, ticket=result.ticket_number))
    return 0
