"""Command-line sub-commands for the budget features (registered by screens.cli).

* ``deskapp reminders run --db URL [--today DATUM] [--dry-run] [--json]`` — the 6-, 3- and
  1-month budget reminders (safe to run from cron every hour: idempotent). The same
  hourly run also resolves orders left pending (``deskapp orders recover``,
  docs/rules.md#order-recovery); it reports them only when there were any.
* ``deskapp mail send --db URL [--json]`` — deliver the outbox over SMTP.

Both run as the ``system`` agent. Imports stay inside the handlers: the desk's start-up
builds this parser too.
"""

from __future__ import annotations

import argparse

# User-facing text (German).
REMINDERS_DONE = "Erinnerungen für {day}: {stages} – {count} verschickt."
REMINDERS_DRY = "Probelauf für {day}: {stages} – {count} {would} verschickt (nichts geändert)."
REMINDER_LINE = "  {stage:<9} {name} · {label} · {remaining} frei · gültig bis {until}"
MSG_FUTURE_TODAY = (
    "--today {day} liegt in der Zukunft: Erinnerungen werden nicht vorab verschickt "
    "(mit --dry-run ansehen)."
)
MSG_PAST_TODAY = (
    "--today {day} liegt in der Vergangenheit (heute ist der {today}): verschickt wird nur für heute, "
    "sonst gingen Erinnerungen für längst abgelaufene Budgets hinaus (mit --dry-run ansehen)."
)
MAIL_NO_SMTP = (
    "Kein SMTP-Server eingerichtet (DESK_SMTP_HOST oder [smtp] in {path}): der Postausgang ist "
    "die Endstation. {queued} in der Warteschlange; der Desk zeigt sie im Postausgang (Taste O)."
)
MAIL_DONE = "Postausgang: {sent} gesendet, {failed} fehlgeschlagen, {remaining} in der Warteschlange."
MAIL_REQUEUED = (
    "{n} Mail(s) eines abgebrochenen Laufs ohne Ergebnis: ob sie angekommen sind, ist unklar; sie werden "
    "mit derselben Message-ID erneut gesendet."
)
MAIL_FAILED = (
    "{failed} nicht zugestellt: {error} Was nicht zugestellt ist, bleibt in der Warteschlange "
    "und wird beim nächsten Lauf erneut versucht."
)
MAIL_FAILED_MIXED = (
    "{failed} nicht zugestellt: {error} Davon endgültig abgelehnt: {refused} (im Postausgang "
    "„fehlgeschlagen“); ohne Antwort des Servers: {uncertain} (Ausgang unklar, wird mit derselben "
    "Message-ID erneut gesendet); der Rest bleibt in der Warteschlange."
)
MSG_NO_DATABASE = (
    "Die Datenbank {path} gibt es nicht – Pfad vertippt? Eine neue legt »deskapp seed demo --db …« "
    "oder »deskapp db upgrade --db …« an."
)
MAIL_ONE = "1 Mail"
MAIL_MANY = "{n} Mails"
EXIT_DELIVERY_FAILED = 1


def _db_arg(parser) -> None:
    parser.add_argument("--db", default=argparse.SUPPRESS, help="SQLAlchemy-URL oder Dateipfad der Datenbank")


def register(sub) -> None:
    """Add this module's sub-commands to the top-level sub-parser action."""
    from screens.cli import EPILOG, _Parser

    reminders = sub.add_parser(
        "reminders", help="Budget-Erinnerungen 6, 3 und 1 Monat vor Ablauf verschicken", epilog=EPILOG
    )
    rem_sub = reminders.add_subparsers(dest="reminders_command", metavar="AKTION", parser_class=_Parser,
                                       required=True)
    run = rem_sub.add_parser(
        "run",
        help="Fällige Erinnerungen verschicken (idempotent; als System-Agent, z. B. stündlich per cron)",
        description=(
            "Schickt jedem Kunden mit gültigem Restbudget die fällige Erinnerung (6, 3, 1 Monat vor "
            "Ablauf eines Pakets): je Paket und Stufe genau einmal, bei mehreren fälligen Stufen nur "
            "die späteste, nach Ablauf keine. Jede Erinnerung steht im Nachrichtenlog und im Postausgang."
        ),
        epilog=EPILOG,
    )
    _db_arg(run)
    run.add_argument("--today", metavar="DATUM",
                     help="Stichtag (TT.MM.JJ oder JJJJ-MM-TT; Standard: heute in Europe/Berlin)")
    run.add_argument("--dry-run", action="store_true", help="Nur zählen, was fällig wäre; nichts schreiben")
    run.add_argument("--json", action="store_true", help="Ergebnis als ein JSON-Objekt ausgeben")
    run.set_defaults(handler=_cmd_reminders_run)

    mail = sub.add_parser("mail", help="Postausgang verwalten", epilog=EPILOG)
    mail_sub = mail.add_subparsers(dest="mail_command", metavar="AKTION", parser_class=_Parser, required=True)
    send = mail_sub.add_parser(
        "send",
        help="Postausgang per SMTP zustellen (DESK_SMTP_* oder [smtp] der Einstellungsdatei)",
        description=(
            "Stellt die Mails der Warteschlange per SMTP zu, jede mit ihrer festen Message-ID. Angenommene "
            "werden als gesendet markiert; vorübergehend abgelehnte bleiben mit ihrem Fehler in der "
            "Warteschlange, endgültig abgelehnte (5xx) sind fehlgeschlagen. Kommt nach der Übertragung "
            "keine Antwort, ist der Ausgang unklar: die Mail wird später mit derselben Message-ID erneut "
            "gesendet. Ohne SMTP-Server ist der Postausgang die Endstation. Exit-Code 1, wenn eine Mail "
            "nicht zugestellt werden konnte."
        ),
        epilog=EPILOG,
    )
    _db_arg(send)
    send.add_argument("--json", action="store_true", help="Ergebnis als ein JSON-Objekt ausgeben")
    send.set_defaults(handler=_cmd_mail_send)


def open_existing(url_or_path: str):
    """``open_database`` for jobs that need a desk: a missing SQLite file is refused (exit 3)
    instead of created — a cron line with a typo must not leave an empty database behind."""
    from models.engine import normalize_url

    from deskapp.database import DatabaseProblem, open_database, sqlite_path

    path = sqlite_path(normalize_url(url_or_path))
    if path is not None and not path.exists():
        raise DatabaseProblem(MSG_NO_DATABASE.format(path=path))
    return open_database(url_or_path)


def _count(n: int, one: str, many: str) -> str:
    return one if n == 1 else many.format(n=n)


def _cmd_reminders_run(args) -> int:
    import json

    from models.engine import read_session

    from screens.cli import _date_arg, _now, _required_db
    from deskapp.formatting import date_de, hours_label, today_berlin
    from deskapp.services import settings_store
    from deskapp.services.errors import InvalidInput
    from deskapp.services.reminders import count_label, per_stage_label, run_reminders, stage_label
    from screens.cli.orders import recover as recover_orders, recover_summary

    url = _required_db(args, "deskapp reminders run")
    now = _now()
    today = _date_arg(args.today) if args.today else today_berlin(now)
    if today > today_berlin(now) and not args.dry_run:
        raise InvalidInput(MSG_FUTURE_TODAY.format(day=date_de(today)))
    if today < today_berlin(now) and not args.dry_run:
        raise InvalidInput(MSG_PAST_TODAY.format(day=date_de(today), today=date_de(today_berlin(now))))
    engine = open_existing(url)
    try:
        with read_session(engine) as session:
            policy = settings_store.load_policy(session)
        report = run_reminders(engine, policy=policy, today=today, now=now, dry_run=args.dry_run)
        recovered = None if args.dry_run else recover_orders(engine, now=now)
    finally:
        engine.dispose()

    if args.json:
        print(json.dumps({
            "sent": report.sent,
            "per_stage": {str(stage): n for stage, n in report.per_stage.items()},
            "dry_run": report.dry_run,
            "today": today.isoformat(),
            "reminders": [
                {
                    "package": item.package_id, "customer_id": str(item.customer_id),
                    "customer_name": item.customer_name, "stage": item.stage,
                    "valid_until": item.valid_until.isoformat(), "remaining_minutes": item.remaining_minutes,
                    "message_log_id": item.message_log_id, "mail_id": item.mail_id,
                }
                for item in report.items
            ],
            **({"orders_recovered": {o.order_ref: o.outcome for o in recovered.orders}}
               if recovered is not None and recovered.orders else {}),
        }, ensure_ascii=False))
        return 0
    template = REMINDERS_DRY if report.dry_run else REMINDERS_DONE
    print(template.format(day=date_de(today), stages=per_stage_label(report), count=count_label(report.sent),
                          would="würde" if report.sent == 1 else "würden"))
    for item in report.items:
        print(REMINDER_LINE.format(
            stage=stage_label(item.stage), name=item.customer_name, label=item.label,
            remaining=hours_label(item.remaining_minutes), until=date_de(item.valid_until),
        ))
    if recovered is not None and recovered.orders:
        print(recover_summary(recovered))
    return 0


def _cmd_mail_send(args) -> int:
    import json

    from models.engine import read_session

    from screens.cli import _fail, _now, _required_db
    from deskapp.services import mail, settings_store
    from deskapp.settings import settings_file_path

    url = _required_db(args, "deskapp mail send")
    config = mail.load_smtp_config()  # a bad setting is refused before the database is touched
    engine = open_existing(url)
    try:
        if config is None:
            with read_session(engine) as session:
                queued = mail.outbox_counts(session)["queued"]
            if args.json:
                print(json.dumps({"configured": False, "sent": 0, "failed": 0, "remaining": queued,
                                  "requeued": 0, "refused": 0, "uncertain": 0, "error": None}))
            else:
                print(MAIL_NO_SMTP.format(path=settings_file_path(), queued=_count(queued, MAIL_ONE, MAIL_MANY)))
            return 0
        with read_session(engine) as session:
            policy = settings_store.load_policy(session)
        report = mail.deliver_outbox(engine, config, now=_now(), policy=policy)
    finally:
        engine.dispose()
    if args.json:
        print(json.dumps({
            "configured": True, "sent": report.sent, "failed": report.failed, "remaining": report.remaining,
            "requeued": report.requeued, "refused": report.refused, "uncertain": report.uncertain,
            "error": report.error or None,
        }, ensure_ascii=False))
    else:
        if report.requeued:
            print(MAIL_REQUEUED.format(n=report.requeued))
        print(MAIL_DONE.format(sent=report.sent, failed=report.failed, remaining=report.remaining))
    if report.failed:
        if not args.json:
            text = MAIL_FAILED_MIXED if report.refused or report.uncertain else MAIL_FAILED
            error = report.error if report.error.endswith(".") else report.error + "."
            _fail(text.format(failed=_count(report.failed, MAIL_ONE, MAIL_MANY), error=error,
                              refused=report.refused, uncertain=report.uncertain),
                  EXIT_DELIVERY_FAILED)
        return EXIT_DELIVERY_FAILED
    return 0
