"""Command-line sub-commands for the conversation with the customer (registered by screens.cli).

* ``deskapp mail receive [--db URL] [--json]`` — one RFC 5322 message on standard input,
  as a mail server's pipe hands it over (docs/rules.md#mail-incoming). Exit 0: stored (or
  stored before: a duplicate). Exit 75 (EX_TEMPFAIL): not stored — the database cannot be
  reached, is locked, or anything else went wrong — so the mail server keeps the message
  and tries again; nothing is ever bounced back to a customer because the desk was busy.
* ``deskapp mail fetch [--once] [--db URL] [--json]`` — the same from an IMAP mailbox
  (``[imap]`` settings); a message leaves the folder only after it is stored.
* ``deskapp ticket show N [--json]`` — the ticket with its whole conversation.
* ``deskapp ticket attachment N IDX --out FILE`` — save an attachment of the ticket.

The receive path is a hot one (a process per message): it works on a Core connection
(``services.corerows``: no ORM, SQLModel, pydantic or ``models.tables``), and opens the
database without Alembic when the schema is already at head. ``ticket show`` and
``ticket attachment`` read the same way (``services.convrows``).
"""

from __future__ import annotations

import argparse
import json
import sys

EX_TEMPFAIL = 75
DEFAULT_LOCK_WAIT_SECONDS = 15.0

# User-facing text (German).
RECEIVED = {
    "new": "Gespeichert: neues Ticket #{number}.",
    "reopened": "Gespeichert: Ticket #{number} wieder geöffnet.",
    "unchanged": "Gespeichert: zu Ticket #{number}.",
}
DUPLICATE = "Schon gespeichert (Message-ID {message_id}): Ticket #{number}."
FOLLOWS = "Folgeticket zu #{old} (dort erledigt und die Frist ist abgelaufen)."
NOT_STORED = "Nachricht nicht gespeichert, der Mailserver versucht es erneut (Exit-Code 75): {reason}"
DB_LOCKED = "Die Datenbank ist gesperrt oder nicht erreichbar ({detail})."
UNEXPECTED = "unerwarteter Fehler ({kind}: {detail})."
SAVED = "Anhang {index} „{name}“ ({size} Bytes) gespeichert in {path}."
OUT_EXISTS = "{path} gibt es schon; bitte eine andere Datei wählen."
OUT_FAILED = "{path} kann nicht geschrieben werden: {reason}."
NO_DB = "deskapp mail receive braucht --db (oder »deskapp init«, das die Datenbank einträgt)."

DIRECTION = {"in": "Kunde", "out": "Desk"}
EVENT_LABEL = {
    "created": "angelegt", "note": "Interne Notiz", "status": "Status", "claim": "übernommen",
    "assign": "zugewiesen", "flag": "Kennzeichen", "mail": "E-Mail", "link": "Verknüpfung",
}
AUTO = "automatische Nachricht"
NOT_CUSTOMER = "Absender ist nicht der Kunde"


def _subparsers(parser: argparse.ArgumentParser):
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))


def register(sub) -> None:
    """Add ``mail receive``, ``ticket show`` and ``ticket attachment`` to the parsers that
    ``screens.cli.budget`` (``mail``) and ``screens.cli.customers`` (``ticket``) made."""
    from screens.cli import EPILOG, whole_number

    db_help = "SQLAlchemy-URL oder Dateipfad der Datenbank"
    mail_sub = _subparsers(sub.choices["mail"])
    receive = mail_sub.add_parser(
        "receive",
        help="Eine E-Mail von stdin annehmen (Pipe des Mailservers)",
        description=(
            "Liest eine E-Mail (RFC 5322) von der Standardeingabe und legt sie am passenden Ticket ab "
            "oder eröffnet ein neues Support-Ticket. Exit-Code 0: gespeichert (auch: schon vorher "
            "gespeichert). Exit-Code 75: nicht gespeichert (Datenbank nicht erreichbar oder gesperrt); "
            "der Mailserver behält die Nachricht und versucht es später erneut."
        ),
        epilog=EPILOG,
    )
    receive.add_argument("--db", default=argparse.SUPPRESS, help=db_help)
    receive.add_argument("--json", action="store_true", help="Ergebnis als ein JSON-Objekt ausgeben")
    receive.add_argument(
        "--lock-wait", type=float, default=DEFAULT_LOCK_WAIT_SECONDS, metavar="SEKUNDEN",
        help="So lange auf eine gesperrte Datenbank warten, dann Exit-Code 75 (Standard: 15)",
    )
    receive.set_defaults(handler=_cmd_mail_receive)
    register_fetch(mail_sub)

    ticket_sub = _subparsers(sub.choices["ticket"])
    show = ticket_sub.add_parser(
        "show", help="Ticket mit dem ganzen Verlauf zeigen (E-Mails, Notizen, Ereignisse)", epilog=EPILOG
    )
    show.add_argument("number", type=whole_number, metavar="N", help="Ticketnummer")
    show.add_argument("--db", default=argparse.SUPPRESS, help=db_help)
    show.add_argument("--json", action="store_true", help="Ergebnis als ein JSON-Objekt ausgeben")
    show.set_defaults(handler=_cmd_ticket_show)
    att = ticket_sub.add_parser("attachment", help="Einen Anhang des Tickets in eine Datei speichern", epilog=EPILOG)
    att.add_argument("number", type=whole_number, metavar="N", help="Ticketnummer")
    att.add_argument("index", type=whole_number, metavar="NR", help="Nummer des Anhangs (wie »ticket show« sie zeigt)")
    att.add_argument("--out", required=True, metavar="DATEI", help="Zieldatei (wird nicht überschrieben)")
    att.add_argument("--db", default=argparse.SUPPRESS, help=db_help)
    att.set_defaults(handler=_cmd_ticket_attachment)


# --------------------------------------------------------------------------- receive


def _lean_engine(url_or_path: str, lock_wait: float):
    """An engine on the database, with lock waits bounded by ``lock_wait``. At the schema
    head (read from the migration files) Alembic is not imported; otherwise the full open
    (checks, migrations) runs."""
    from sqlalchemy import event, text

    from deskapp.quickstart import head_revision, sqlite_file
    from models.engine import make_engine, normalize_url

    url = normalize_url(url_or_path)
    engine = make_engine(url)
    wait_ms = max(1, int(lock_wait * 1000))
    if engine.dialect.name == "sqlite":
        @event.listens_for(engine, "connect")
        def _lock_wait(dbapi_conn, _record):  # runs after make_engine's own hook
            dbapi_conn.execute(f"PRAGMA busy_timeout={wait_ms}")
    elif engine.dialect.name == "postgresql":
        @event.listens_for(engine, "connect")
        def _lock_wait(dbapi_conn, _record):
            with dbapi_conn.cursor() as cur:
                cur.execute(f"SET lock_timeout = {wait_ms}")
            dbapi_conn.commit()
    path = sqlite_file(url)
    if path is not None and not path.exists():
        engine.dispose()
        from screens.cli.budget import open_existing

        return open_existing(url_or_path)  # explains the missing file
    with engine.connect() as conn:
        current = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() \
            if engine.dialect.has_table(conn, "alembic_version") else []
    if current == [head_revision()]:
        return engine
    engine.dispose()
    from screens.cli.budget import open_existing

    return open_existing(url_or_path)


def _context(conn):
    """(the system agent, the policy) on a Core connection."""
    from deskapp.services import corerows

    return corerows.system_agent(conn), corerows.load_policy(conn)


def write_bind(engine):
    return engine.execution_options(desk_write=True)  # SQLite: BEGIN IMMEDIATE


def _store(engine, raw: bytes, context=None, bind=None):
    """One message in its own transaction, on a Core connection (the ORM, SQLModel and the
    models' classes are never imported here). ``context`` = (system agent, policy), read
    once per fetch pass; without it they are read in the same transaction. ``bind``: the
    engine's writing form (``write_bind``), made once per pass."""
    from sqlalchemy.exc import IntegrityError

    from deskapp.services import mail_in
    from screens.cli import _now

    bind = bind or write_bind(engine)
    for attempt in (1, 2):
        try:
            with bind.begin() as conn:
                system, policy = context if context is not None else _context(conn)
                return mail_in.receive(conn, system, raw, now=_now(), policy=policy)
        except IntegrityError:
            # The same Message-ID stored by a concurrent delivery: the next transaction
            # finds it and answers "duplicate".
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _cmd_mail_receive(args) -> int:
    raw = sys.stdin.buffer.read()
    try:
        from screens.cli import _required_db

        try:
            url = _required_db(args, "deskapp mail receive")
        except Exception:
            return _not_stored(NO_DB)
        engine = _lean_engine(url, args.lock_wait)
        try:
            result = _store(engine, raw)
        finally:
            engine.dispose()
    except KeyboardInterrupt:
        return _not_stored("abgebrochen.")
    except Exception as exc:  # never lose a message: every failure is "try again later"
        return _not_stored(_describe(exc))
    if args.json:
        print(json.dumps({
            "status": result.status,
            "ticket": result.ticket_number,
            "ticket_state": result.ticket,
            "message_id": result.message_id,
            "automatic": result.automatic,
            "sender_is_customer": result.sender_is_customer,
            "customer": result.customer_number,
            "follows_ticket": result.follows_ticket,
            "bounce_of": list(result.bounce_of),
            "bounced_tickets": list(result.bounced_tickets),
            "unreadable": result.unreadable,
        }, ensure_ascii=False))
    elif result.status == "duplicate":
        print(DUPLICATE.format(message_id=result.message_id, number=result.ticket_number))
    else:
        print(RECEIVED[result.ticket].format(number=result.ticket_number))
        if result.follows_ticket:
            print(FOLLOWS.format(old=result.follows_ticket))
    return 0


def _describe(exc: Exception) -> str:
    from deskapp.services.errors import DeskError

    if isinstance(exc, DeskError):
        return exc.message
    try:
        from sqlalchemy.exc import DBAPIError

        if isinstance(exc, DBAPIError):
            detail = str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else type(exc.orig).__name__
            return DB_LOCKED.format(detail=detail)
    except ImportError:
        pass
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return UNEXPECTED.format(kind=type(exc).__name__, detail=detail)


def _not_stored(reason: str) -> int:
    print(f"deskapp: Fehler: {NOT_STORED.format(reason=reason)}", file=sys.stderr)
    return EX_TEMPFAIL


# --------------------------------------------------------------------------- show


def _when(moment) -> str:
    from deskapp.formatting import datetime_de

    return datetime_de(moment) if moment else ""


def _cmd_ticket_show(args) -> int:
    from deskapp import texts
    from deskapp.services import convrows
    from models.enums import Priority, Queue, TicketStatus
    from screens.cli import _required_db

    url = _required_db(args, "deskapp ticket show")
    engine = _lean_engine(url, DEFAULT_LOCK_WAIT_SECONDS)  # at the schema head: without Alembic
    entries = []
    try:
        with engine.connect() as conn:  # one read transaction, Core only (services.convrows)
            detail = convrows.ticket_head_by_number(conn, args.number)
            offset = 0
            while True:
                page = convrows.conversation(conn, detail.row.id, offset=offset, limit=200)
                entries.extend(page.entries)
                offset += len(page.entries)
                if not page.entries or offset >= page.total:
                    break
    finally:
        engine.dispose()
    row = detail.row
    if args.json:
        print(json.dumps({
            "ticket": row.number, "queue": row.queue, "status": row.status, "priority": int(row.priority),
            "subject": row.subject, "customer": detail.customer_number or None,
            "customer_name": row.customer_name or None, "assignee": row.assignee_login or None,
            "created_at": row.created_at.isoformat(), "body": detail.body,
            "conversation": [_entry_json(e) for e in entries],
        }, ensure_ascii=False))
        return 0
    print(f"#{row.number} {row.subject}")
    customer = f"{detail.customer_number} {row.customer_name}" if detail.customer_number else "ohne Kunde"
    print(f"{texts.QUEUE[Queue(row.queue)]} · {texts.STATUS[TicketStatus(row.status)]} · "
          f"{texts.PRIORITY[Priority(row.priority)]} · {customer} · Bearbeiter {row.assignee_login or '–'}")
    for e in entries:
        print()
        if isinstance(e, convrows.MessageView):
            marks = [m for m, on in ((AUTO, e.is_auto), (NOT_CUSTOMER, not e.sender_is_customer and not e.is_auto)) if on]
            sender = f"{e.from_name} <{e.from_addr}>" if e.from_name else (e.from_addr or "(unbekannt)")
            print(f"── E-Mail ({DIRECTION.get(e.direction, e.direction)}) · {_when(e.sent_at or e.created_at)} · {sender}"
                  + (f" · {', '.join(marks)}" if marks else ""))
            if e.to:
                print(f"An: {e.to}")
            if e.cc:
                print(f"Cc: {e.cc}")
            print(f"Betreff: {e.subject}")
            for note in e.notes:
                print(f"Hinweis: {note}")
            print()
            print(e.text)
            for a in e.attachments:
                kept = "" if a.kept else " – nicht gespeichert"
                print(f"  Anhang {a.index}: {a.filename} ({a.content_type}, {a.size} Bytes){kept}")
        else:
            label = EVENT_LABEL.get(e.kind, e.kind)
            change = ""
            if e.kind == "status":
                change = f" {_status_word(e.old)} → {_status_word(e.new)}"
            elif e.kind == "assign":
                change = f" {e.old or '–'} → {e.new or '–'}"
            who = e.agent_login or "–"
            print(f"── {label} · {_when(e.created_at)} · {who}{change}")
            if e.text:
                print(e.text)
    return 0


def _status_word(code: str) -> str:
    from deskapp import texts
    from models.enums import TicketStatus

    try:
        return texts.STATUS[TicketStatus(code)]
    except ValueError:
        return code or "–"


def _entry_json(e) -> dict:
    from deskapp.services import convrows

    if isinstance(e, convrows.MessageView):
        return {
            "type": "message", "direction": e.direction, "message_id": e.message_id, "from": e.from_addr,
            "from_name": e.from_name, "to": e.to, "cc": e.cc, "subject": e.subject, "text": e.text,
            "date": (e.sent_at or e.created_at).isoformat(), "received_at": e.created_at.isoformat(),
            "automatic": e.is_auto, "auto_reason": e.auto_reason or None,
            "sender_is_customer": e.sender_is_customer, "unreadable": e.unreadable, "notes": list(e.notes),
            "attachments": [
                {"index": a.index, "filename": a.filename, "content_type": a.content_type, "size": a.size,
                 "kept": a.kept}
                for a in e.attachments
            ],
        }
    return {
        "type": "note" if e.kind == "note" else "event", "kind": e.kind, "agent": e.agent_login or None,
        "text": e.text, "old": e.old, "new": e.new, "at": e.created_at.isoformat(),
    }


def _cmd_ticket_attachment(args) -> int:
    from pathlib import Path

    from deskapp.services import convrows
    from deskapp.services.errors import InvalidInput
    from screens.cli import _required_db

    url = _required_db(args, "deskapp ticket attachment")
    out = Path(args.out).expanduser()
    if out.exists():
        raise InvalidInput(OUT_EXISTS.format(path=out))
    engine = _lean_engine(url, DEFAULT_LOCK_WAIT_SECONDS)
    try:
        with engine.connect() as conn:  # Core only (services.convrows)
            found = convrows.attachment(conn, convrows.ticket_head_by_number(conn, args.number).row.id, args.index)
    finally:
        engine.dispose()
    try:
        with out.open("xb") as fh:
            fh.write(found.data)
    except FileExistsError:
        raise InvalidInput(OUT_EXISTS.format(path=out)) from None
    except OSError as exc:
        raise InvalidInput(OUT_FAILED.format(path=out, reason=exc.strerror or exc)) from None
    print(SAVED.format(index=args.index, name=found.filename, size=len(found.data), path=out))
    return 0


# --------------------------------------------------------------------------- fetch

FETCH_DONE = "Postfach {folder}: {stored} gespeichert, {duplicates} schon vorhanden."
FETCH_NO_IMAP = (
    "Kein IMAP-Server eingerichtet ([imap] host in {path} oder DESK_IMAP_HOST); "
    "ohne ihn bringt der Mailserver die Nachrichten per »deskapp mail receive«."
)
FETCH_NOT_STORED = (
    "Abgebrochen, die Nachricht bleibt im Postfach und wird beim nächsten Lauf erneut geholt: {reason}"
)
DEFAULT_FETCH_INTERVAL = 60.0


def register_fetch(mail_sub) -> None:
    from screens.cli import EPILOG

    fetch = mail_sub.add_parser(
        "fetch",
        help="E-Mails aus dem IMAP-Postfach holen ([imap] der Einstellungsdatei)",
        description=(
            "Holt die Nachrichten aus dem IMAP-Postfach und legt jede wie »mail receive« ab. Eine "
            "Nachricht verlässt das Postfach (verschoben nach done_folder, sonst als gelesen markiert) "
            "erst, wenn sie gespeichert ist. Passwort: DESK_IMAP_PASSWORD. Exit-Code 75: Server oder "
            "Datenbank nicht erreichbar; nichts ging verloren."
        ),
        epilog=EPILOG,
    )
    fetch.add_argument("--db", default=argparse.SUPPRESS, help="SQLAlchemy-URL oder Dateipfad der Datenbank")
    fetch.add_argument("--once", action="store_true", help="Einmal holen und enden (für cron)")
    fetch.add_argument("--interval", type=float, default=DEFAULT_FETCH_INTERVAL, metavar="SEKUNDEN",
                       help="Ohne --once: so lange zwischen zwei Abrufen warten (Standard: 60)")
    fetch.add_argument("--lock-wait", type=float, default=DEFAULT_LOCK_WAIT_SECONDS, metavar="SEKUNDEN",
                       help="So lange auf eine gesperrte Datenbank warten (Standard: 15)")
    fetch.add_argument("--json", action="store_true", help="Ergebnis als ein JSON-Objekt ausgeben")
    fetch.set_defaults(handler=_cmd_mail_fetch)


def _fetch_pass(engine, config, imap: "ImapWorker | None" = None) -> tuple[list, str | None]:
    """One pass over the folder, a batch (``[imap] batch`` messages) at a time: the batch
    is read from the server, then stored in one transaction with a savepoint per message
    (each message all or nothing), committed, and only then taken out of the folder in
    one command (docs/rules.md#mail-fetch-batch). A message that cannot be stored rolls
    back its savepoint only; the batch's stored ones before it are committed and leave the
    folder, it and the rest stay. Returns the results and, when a message could not be
    stored, why. ``imap``: the pass's IMAP session, already started."""
    results = []
    imap = imap or ImapWorker(config)
    try:
        try:  # the system agent and the policy once per pass, not once per message
            with engine.connect() as conn:
                context = _context(conn)
        except Exception as exc:
            return results, _describe(exc)
        bind = write_bind(engine)
        batch = imap.first()
        while batch is not None:
            stored, failure = _store_batch(bind, batch, context)
            results.extend(result for _uid, result in stored)
            uids = [uid for uid, _result in stored]  # committed: these leave the folder
            if failure is not None:
                imap.finish(uids)
                return results, failure
            batch = imap.after(uids)
    finally:
        imap.close()
    return results, None


class ImapWorker:
    """The pass's IMAP session (``Mailbox``) in a thread of its own, one batch ahead: it
    logs in and reads the first batch while the process opens the database, and reads the
    next batch while this one is stored; it moves a batch's messages when told they are
    committed (``after``/``finish``), never before. At most two batches are in memory
    (the one stored, the one read ahead). A server problem comes out of ``first``,
    ``after`` or ``finish`` as the ``MailboxError`` it was."""

    def __init__(self, config):
        import queue
        import threading

        self._ready: queue.Queue = queue.Queue(maxsize=1)  # ("batch", list) | ("end", None) | ("error", exc)
        self._orders: queue.Queue = queue.Queue()  # (uids, last) to move, or None: stop
        self._config = config
        self._worker = threading.Thread(target=self._run, name="imap", daemon=True)
        self._worker.start()

    def _run(self) -> None:
        from deskapp.services.mailbox import Mailbox

        try:
            with Mailbox(self._config) as box:
                batches = box.batches(box.pending())
                batch = next(batches, None)
                while batch is not None:
                    self._ready.put(("batch", batch))
                    following = next(batches, None)  # read ahead while this batch is stored
                    order = self._orders.get()
                    if order is None:
                        return
                    uids, last = order
                    box.done(uids)
                    if last:
                        break
                    batch = following
            self._ready.put(("end", None))
        except BaseException as exc:  # handed to the storing thread
            self._ready.put(("error", exc))

    def _next(self):
        kind, value = self._ready.get()
        if kind == "error":
            raise value
        return value  # a batch, or None at the end

    def first(self):
        """The first batch of ``(uid, raw)``, or None when nothing waits."""
        return self._next()

    def after(self, uids: list[bytes]):
        """Move ``uids`` (committed) out of the folder; then the next batch, or None."""
        self._orders.put((uids, False))
        return self._next()

    def finish(self, uids: list[bytes]) -> None:
        """Move ``uids`` (committed) out of the folder and end the session."""
        self._orders.put((uids, True))
        self._next()

    def close(self) -> None:
        """End the session (nothing more is moved); waits for the thread."""
        import queue

        self._orders.put(None)
        while self._worker.is_alive():  # a worker blocked on the full queue gets through
            try:
                self._ready.get(timeout=0.05)
            except queue.Empty:
                pass
        self._worker.join()


def _store_batch(bind, batch: list[tuple[bytes, bytes]], context) -> tuple[list, str | None]:
    """``batch`` (uid, raw) in one transaction, a savepoint per message; the messages are
    read before the transaction opens, so SQLite's write lock covers the stores alone.
    Returns the (uid, result) pairs committed and, if one failed, why (it and the rest of
    the batch are not stored). A transaction that cannot begin or commit stores none."""
    from sqlalchemy.exc import IntegrityError

    from deskapp.services import mail_in
    from screens.cli import _now

    system, policy = context
    parsed = [mail_in.parse(raw, policy) for _uid, raw in batch]
    done: list[tuple[bytes, object]] = []
    failure = None
    try:
        with bind.begin() as conn:
            for (uid, raw), mail in zip(batch, parsed):
                try:
                    for attempt in (1, 2):
                        try:
                            with conn.begin_nested():
                                result = mail_in.receive(conn, system, raw, now=_now(), policy=policy, parsed=mail)
                            break
                        except IntegrityError:
                            # The same Message-ID stored by a concurrent delivery: the next
                            # savepoint finds it and answers "duplicate".
                            if attempt == 2:
                                raise
                except Exception as exc:  # it stays in the folder; the next run tries again
                    failure = _describe(exc)
                    break
                done.append((uid, result))
    except Exception as exc:  # BEGIN or COMMIT failed: nothing of this batch is stored
        return [], _describe(exc)
    return done, failure


def _cmd_mail_fetch(args) -> int:
    import time

    from deskapp.services.mailbox import MailboxError, imap_config
    from deskapp.services.errors import InvalidInput
    from deskapp.settings import settings_file_path
    from screens.cli import _required_db

    config = imap_config()
    if config is None:
        raise InvalidInput(FETCH_NO_IMAP.format(path=settings_file_path()))
    url = _required_db(args, "deskapp mail fetch")
    imap = ImapWorker(config)  # the server's login and first batch while the database opens
    try:
        engine = _lean_engine(url, args.lock_wait)
    except Exception as exc:
        imap.close()
        return _not_stored(_describe(exc))
    try:
        while True:
            try:
                results, failure = _fetch_pass(engine, config, imap)
                imap = None
            except MailboxError as exc:
                print(f"deskapp: Fehler: {exc.message}", file=sys.stderr)
                return EX_TEMPFAIL
            _report_fetch(args, config, results)
            if failure is not None:
                print(f"deskapp: Fehler: {FETCH_NOT_STORED.format(reason=failure)}", file=sys.stderr)
                return EX_TEMPFAIL
            if args.once:
                return 0
            time.sleep(max(1.0, args.interval))
    except KeyboardInterrupt:
        return 0
    finally:
        if imap is not None:
            imap.close()
        engine.dispose()


def _report_fetch(args, config, results) -> None:
    duplicates = sum(1 for r in results if r.status == "duplicate")
    if args.json:
        print(json.dumps({
            "folder": config.folder,
            "stored": len(results) - duplicates,
            "duplicates": duplicates,
            "messages": [
                {"status": r.status, "ticket": r.ticket_number, "ticket_state": r.ticket, "message_id": r.message_id}
                for r in results
            ],
        }, ensure_ascii=False), flush=True)
    else:
        print(FETCH_DONE.format(folder=config.folder, stored=len(results) - duplicates, duplicates=duplicates),
              flush=True)
