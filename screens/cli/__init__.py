"""The ``deskapp`` command line. Bad input: one line on stderr and a non-zero exit code.

Exit codes: 0 done · 1 refused · 2 bad input/usage · 3 database problem (missing, locked,
unreadable setting) · 4 agent unknown or not allowed · 5 conflict · 6 registry failed (order
kept, technical ticket opened) · 7 unexpected error (details in the log file) · 130 interrupted.
Every command runs inside one error boundary (``screens.cli.boundary``): no traceback on
the terminal, control characters in what is printed shown as placeholders.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import os
import sys
from typing import Sequence

from deskapp.services.errors import DeskError

EPILOG = (
    "Exit-Codes: 0 erledigt · 1 abgelehnt · 2 ungültige Eingabe · 3 Datenbankproblem "
    "(fehlt, gesperrt, Einstellung unlesbar) · 4 Agent unbekannt/nicht erlaubt · 5 Konflikt · "
    "6 Vergabestelle fehlgeschlagen · 7 unerwarteter Fehler (Einzelheiten in der Logdatei) · "
    "75 Mail nicht gespeichert, später erneut (mail receive/fetch) · 130 abgebrochen"
)

MSG_NEEDS_DB = "{command} braucht --db (SQLAlchemy-URL oder Dateipfad der Datenbank)."
MSG_BAD_DATE = "'{value}' ist kein Datum (TT.MM.JJ oder JJJJ-MM-TT)."


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
    "screens.cli.orders",
    "screens.cli.mail",  # after budget (``mail``) and customers (``ticket``): adds to their parsers
)


def _db_help(default: str) -> str:
    return f"SQLAlchemy-URL oder Dateipfad der Datenbank (Standard: {default})"


def build_parser(*, commands: bool = True) -> argparse.ArgumentParser:
    """The whole command line; ``commands=False`` leaves out the sub-commands of
    ``COMMAND_MODULES`` (the desk's own start needs none of them, see ``parse_args``)."""
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

    # Sub-commands that live in their own modules: each ``register(sub)`` adds its parsers
    # and sets ``handler`` (a function ``args -> exit code``) as a parser default.
    if commands:
        for module in COMMAND_MODULES:
            importlib.import_module(module).register(sub)
    return parser


DESK_OPTIONS = ("--db", "--agent")


def desk_start(argv: Sequence[str]) -> bool:
    """Whether ``argv`` starts the desk: no command, only ``--db``/``--agent`` and their values."""
    args = iter(argv)
    for arg in args:
        if arg in DESK_OPTIONS:
            if next(args, None) is None:
                return False  # argparse says what is missing
        elif not arg.startswith(tuple(f"{option}=" for option in DESK_OPTIONS)):
            return False
    return True


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """The parsed command line. Starting the desk parses with the sub-commands left out:
    importing and registering the seven command modules cost ~25 ms before the first frame,
    and a command line without a command word parses the same without them."""
    return build_parser(commands=not desk_start(argv)).parse_args(argv)


def _n(count: int) -> str:
    """German thousands separator: 100000 → 100.000."""
    return f"{count:,}".replace(",", ".")


# Set once the full-screen desk has run: the process may then end without the
# interpreter's teardown (module and thread cleanup costs ~0.3–0.8 s after the terminal
# is already restored; every transaction is committed by then).
_DESK_RAN = False


def _one_mail(argv: Sequence[str]) -> bool:
    """``deskapp mail receive …``: a process per message that a mail server starts."""
    words = [a for a in argv[:4] if not a.startswith("-")]
    return words[:2] == ["mail", "receive"]


def entry() -> None:
    """The ``deskapp`` console script.

    ``mail receive`` is a process per message (the pipe transport's hot path,
    docs/rules.md#mail-incoming): it runs without the cyclic garbage collector (one
    message, a bounded amount of memory; the collector's passes over SQLAlchemy's and
    the models' import-time objects cost ~10 % of the start) and ends without the
    interpreter's teardown (~0.2 s of module cleanup once the message is committed or
    refused with exit 75).
    """
    lean = _one_mail(sys.argv[1:])
    if lean:
        import gc

        gc.disable()
    code = main()
    if _DESK_RAN or lean:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


def _fail(message: str, code: int) -> int:
    from deskapp.formatting import inert

    print(f"deskapp: Fehler: {inert(message, keep_newlines=True)}", file=sys.stderr)
    return code


# Commands that may create their database; every other one refuses a missing file (a typo
# in --db must not leave directories and an empty database behind). ``mail receive`` and
# ``mail fetch`` check themselves: every failure is 75 there (the mail server tries again).
CREATES_DATABASE = frozenset({"init", "seed", "demo", "db"})
MSG_NOTHING_CREATED = " – oder ist der Pfad vertippt? Nichts wurde angelegt."


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; every failure is an exit code and one German line (``boundary``)."""
    from screens.cli.boundary import guarded

    return guarded(_main, sys.argv[1:] if argv is None else argv)


def _require_existing_db(args) -> None:
    """A command that works on a desk: its SQLite file must exist (exit 3, nothing created)."""
    from deskapp.database import DatabaseProblem, sqlite_path
    from deskapp.settings import configured_db_url, desk_db_target
    from models.engine import normalize_url

    if args.command is None:
        target = desk_db_target(args.db)
    else:
        target = getattr(args, "db", None) or configured_db_url()
    if target is None:
        return  # the command says itself that it needs --db
    try:
        path = sqlite_path(normalize_url(target))
    except Exception:  # an unparsable URL: open_database says so
        return
    try:
        missing = path is not None and not path.exists()
    except OSError:  # a name the file system refuses (too long, …): no such desk either
        missing = True
    if missing:
        from screens.cli.agents import MSG_NO_DATABASE, shown_target

        raise DatabaseProblem(
            MSG_NO_DATABASE.format(path=path, target=shown_target(normalize_url(target))) + MSG_NOTHING_CREATED
        )


def _main(argv: list[str]) -> int:
    from screens.cli.boundary import raw_output

    args = parse_args(argv)
    checks_itself = args.command == "mail" and getattr(args, "mail_command", None) in ("receive", "fetch")
    if args.command is not None and args.command not in CREATES_DATABASE and not checks_itself:
        _require_existing_db(args)  # the desk checks after its lean start (no SQLAlchemy yet)
    if args.command in (None, "demo", "seed"):
        raw_output()  # the desk and the progress bars draw with escape sequences themselves
    try:
        if args.command == "demo":
            return _cmd_demo(args)
        if args.command == "seed":
            return _cmd_seed(args)
        if args.command == "db":
            return _cmd_db(args)
        if getattr(args, "handler", None) is not None:
            return args.handler(args)
        return _cmd_desk(args)
    except DeskError as exc:
        return _fail(exc.message, exc.exit_code)


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

    from seed.large import LONG_THREAD, build_large

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

        summary = build_large(engine, now=_now(), thread=LONG_THREAD, progress=report)
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
    refusal = _not_a_demo_database(file)
    if refusal:
        return _fail(refusal, 1)
    file.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        candidate = file.with_name(file.name + suffix)
        if candidate.exists():
            candidate.unlink()
    engine = open_database(str(file))
    from seed.demo import build_demo

    build_demo(engine, now=_now())
    return _run_desk(engine, requested=args.agent or os.environ.get("DESK_AGENT"))


MSG_DEMO_NOT_DEMO = (
    "{path} ist keine Demo-Datenbank{why}; deskapp demo legt die Demo neu an und würde sie löschen. "
    "Nichts wurde gelöscht. Bitte eine andere Datei angeben (oder ohne --db: {default})."
)


def _not_a_demo_database(file) -> str | None:
    """Why ``deskapp demo`` must not delete ``file``; None if it is missing or a demo database.

    A demo database is marked by ``desk_meta`` ``demo = 1`` (set by ``seed demo``/``demo``);
    the file is read with the standard library, read-only, before anything is touched.
    """
    import sqlite3

    from deskapp.settings import demo_db_path

    if not file.exists() and not file.is_symlink():
        return None
    why = ""
    if not file.is_file():
        why = " (keine Datei)"
    else:
        try:
            with file.open("rb") as fh:
                if fh.read(16) != b"SQLite format 3\x00":
                    why = " (keine SQLite-Datei)"
        except OSError as exc:
            why = f" (nicht lesbar: {exc.strerror})"
    if not why:
        try:
            conn = sqlite3.connect(f"{file.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
            try:
                row = conn.execute("SELECT value FROM desk_meta WHERE key = 'demo'").fetchone()
            finally:
                conn.close()
            if row is not None and row[0] == "1":
                return None
        except sqlite3.Error:
            pass
    return MSG_DEMO_NOT_DEMO.format(path=file, why=why, default=demo_db_path())


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

    _require_existing_db(args)
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


def _date_arg(raw: str) -> dt.date:
    """``TT.MM.JJ``, ``TT.MM.JJJJ`` or ``JJJJ-MM-TT``, or ``InvalidInput``."""
    from deskapp.rules.inputs import InputError, YearOutOfRange, parse_date
    from deskapp.services.errors import InvalidInput

    try:
        return parse_date(raw, allow_iso=True)
    except YearOutOfRange as exc:
        raise InvalidInput(exc.message) from None
    except InputError:
        raise InvalidInput(MSG_BAD_DATE.format(value=raw)) from None


MSG_NUMBER = "{option} braucht eine Nummer (ganze Zahl, z. B. 42), nicht »{value}«."


def whole_number(raw: str) -> int:
    """An argparse ``type`` for a record number (not ``int``: it takes "١٢" and any size)."""
    from deskapp.rules.inputs import InputError, parse_whole_number

    try:
        return parse_whole_number(raw)
    except InputError:
        raise argparse.ArgumentTypeError(f"»{raw[:40]}« ist keine Nummer (ganze Zahl, z. B. 42)") from None


def _number_arg(raw: str, option: str) -> int:
    """A record number as typed (``--order 42``): ASCII digits, at most 18; else ``InvalidInput``."""
    from deskapp.rules.inputs import InputError, parse_whole_number
    from deskapp.services.errors import InvalidInput

    try:
        return parse_whole_number(raw)
    except InputError:
        raise InvalidInput(MSG_NUMBER.format(option=option, value=raw[:40])) from None


def shop_customer(session, ref: str):
    """The customer a shop request names; one the desk does not know is bad input (exit 2)."""
    from deskapp.services import customers
    from deskapp.services.errors import InvalidInput, NotFound

    try:
        return customers.resolve(session, ref)
    except NotFound as exc:
        raise InvalidInput(exc.message) from None


def shop_transaction(url: str, customer_ref: str, work):
    """One write transaction as the ``system`` agent, as the shop's commands run:
    ``work(session, system, customer, policy, now)``'s result, the engine closed after."""
    from deskapp.database import open_database
    from deskapp.services import agents, settings_store
    from models.engine import write_session

    engine = open_database(url)
    now = _now()
    try:
        with write_session(engine) as session:
            system = agents.system_agent(session)
            customer = shop_customer(session, customer_ref)
            return work(session, system, customer, settings_store.load_policy(session), now)
    finally:
        engine.dispose()


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

