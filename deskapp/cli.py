"""The ``deskapp`` command line. Bad input: one line on stderr and a non-zero exit code.

Exit codes: 0 done · 1 refused · 2 bad input/usage · 3 database problem ·
4 agent unknown or not allowed · 5 conflict · 130 interrupted.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from typing import Sequence

from .services.errors import DeskError

EPILOG = (
    "Exit-Codes: 0 erledigt · 1 abgelehnt · 2 ungültige Eingabe · 3 Datenbankproblem · "
    "4 Agent unbekannt/nicht erlaubt · 5 Konflikt"
)


class _Parser(argparse.ArgumentParser):
    """argparse, but the error is one German line (no usage dump) and exit code 2."""

    def error(self, message: str):  # noqa: D401
        self.exit(2, f"deskapp: Fehler: {message} (Hilfe: {self.prog} --help)\n")


def _db_help(default: str) -> str:
    return f"SQLAlchemy-URL oder Dateipfad der Datenbank (Standard: {default})"


def build_parser() -> argparse.ArgumentParser:
    from .settings import default_db_path

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
    return parser


def _n(count: int) -> str:
    """German thousands separator: 100000 → 100.000."""
    return f"{count:,}".replace(",", ".")


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
        return _cmd_desk(args)
    except DeskError as exc:
        return _fail(exc.message, exc.exit_code)
    except KeyboardInterrupt:
        return 130


def _now():
    from .formatting import utcnow

    return utcnow()


def _cmd_db(args) -> int:
    from models import migrate

    from .database import open_database

    engine = open_database(args.db, migrate_schema=False)
    before = migrate.current_revision(engine)
    applied = migrate.upgrade(engine)
    head = migrate.head_revision()
    if applied:
        print(f"Schema aktualisiert: {before or 'leer'} → {head}")
    else:
        print(f"Schema ist aktuell ({head}).")
    return 0


def _cmd_seed(args) -> int:
    from .database import is_empty, open_database, wipe

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
    from .database import open_database
    from .settings import demo_db_path

    path = args.db or str(demo_db_path())
    from .database import sqlite_path
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
    from .database import open_database
    from .settings import default_db_path

    engine = open_database(args.db or str(default_db_path()))
    return _run_desk(engine, requested=args.agent or os.environ.get("DESK_AGENT"))


def _os_login() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in this environment
        return ""


def _run_desk(engine, *, requested: str | None) -> int:
    from models.engine import read_session

    from .services import agents, settings_store
    from .app import DeskApp

    with read_session(engine) as session:
        agent, notice = agents.resolve_desk_agent(session, os_login=_os_login(), requested=requested)
        policy = settings_store.load_policy(session)
    app = DeskApp(engine=engine, agent=agent, policy=policy, notice=notice)
    app.run()
    return app.return_code or 0


if __name__ == "__main__":
    sys.exit(main())
