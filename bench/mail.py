"""The mail channel's speed (issue 14, "Speed"), ``--only mail``.

All figures on fresh SQLite databases made by ``deskapp db upgrade`` with the demo roster
(the system agent that files incoming mail is part of it), each compared with a floor or a
reference measured in the same run, interleaved with the desk's runs:

* ``deskapp mail receive`` of a typical message (a few KB of plain text and a small PDF
  attachment, a new Message-ID each time), process start to exit, beside the *floor*: a
  ``python -c`` that imports the SQLAlchemy engine, opens the same database and runs one
  SELECT — what any pipe transport into this database pays per message. Target ≤ 1.5×.
* ``deskapp mail fetch --once`` of N messages (1,000; ``--quick`` 100) from a real IMAP
  server on 127.0.0.1 (pymap, in-memory ``dict`` backend) into a fresh database, each
  message stored and then moved to the done folder, beside reading the same N raw with
  ``imaplib`` alone (login, select, one ``FETCH 1:* (RFC822)``, logout). Target ≤ 3×.
  Between runs the messages are moved back to the INBOX (untimed). Also recorded: the
  desk process's CPU per message (``extra.cpu_ms_per_message``).
* ``deskapp ticket show N --json`` of a ticket with a 200-message thread (made through
  ``mail_in.receive``, each a reply to the first), process start to exit, beside the same
  floor (info: the issue sets no number for it); and opening that ticket in the desk:
  Textual headless (``run_test``, 120×40) in this process, ``app.open_ticket`` as ``enter``
  in the inbox calls it (read, then push), until the conversation's title shows its entry
  count (the loaded screen) and the next refresh ran — info, a CPU-bound figure of this
  process. The target for opening a ticket is a ratio to the reference app, measured in a
  real terminal with the other keys (``bench/ui.py``: "open ticket", "open the 200-message
  ticket" against the reference's ticket-shaped screen).
"""

from __future__ import annotations

import asyncio
import email.utils
import imaplib
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

from .common import ROOT, Results, Target, child_env, desk_argv, log, run_desk

MS = 1000.0
IMAP_USER, IMAP_PASSWORD = "desk", "bench-imap"
THREAD = 200

FLOOR_CODE = (
    "import sys\n"
    "from sqlalchemy import create_engine, text\n"
    "engine = create_engine('sqlite:///' + sys.argv[1])\n"
    "with engine.connect() as conn:\n"
    "    conn.execute(text('SELECT version_num FROM alembic_version')).all()\n"
    "engine.dispose()\n"
)

BODY = (
    "Guten Tag,\n\n"
    "seit gestern Abend kann ich keine E-Mails mehr versenden. Beim Senden erscheint die Meldung, "
    "dass der Server die Verbindung abgelehnt hat. Empfangen funktioniert weiterhin. Ich habe das "
    "Passwort nicht geändert und auch sonst nichts an den Einstellungen verändert.\n\n"
) * 6 + "Im Anhang finden Sie einen Bildschirmausschnitt der Fehlermeldung.\n\nViele Grüße\nIvo Moring\n"


def typical_mail(message_id: str, *, subject: str = "E-Mail-Versand geht nicht",
                 reply_to: str | None = None) -> bytes:
    """A few KB of German plain text and a 2 KB PDF attachment, as a mail client sends it."""
    msg = EmailMessage()
    msg["From"] = "Ivo Moring <ivo@moring.example>"
    msg["To"] = "support@desk.example"
    msg["Subject"] = subject
    msg["Date"] = email.utils.format_datetime(email.utils.localtime())
    msg["Message-ID"] = f"<{message_id}>"
    if reply_to:
        msg["In-Reply-To"] = f"<{reply_to}>"
        msg["References"] = f"<{reply_to}>"
    msg.set_content(BODY)
    pdf = b"%PDF-1.4\n" + bytes(range(256)) * 8 + b"\n%%EOF\n"
    msg.add_attachment(pdf, maintype="application", subtype="pdf", filename="fehlermeldung.pdf")
    return msg.as_bytes()


# --------------------------------------------------------------------------- helpers


def _template(path: Path) -> Path:
    """A fresh database at the schema head with the demo roster (the system agent)."""
    from models.engine import make_engine, write_session
    from seed.people import create_roster

    run_desk("db", "upgrade", "--db", str(path))
    engine = make_engine(path)
    try:
        with write_session(engine) as session:
            create_roster(session)
    finally:
        engine.dispose()
    return path


def _copy(template: Path, path: Path) -> Path:
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    shutil.copyfile(template, path)
    return path


def _timed(argv: list[str], *, stdin: bytes = b"", env: dict | None = None) -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    proc = subprocess.run(argv, input=stdin, capture_output=True, cwd=ROOT, env=env or child_env(), check=False)
    took = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:4])} … failed ({proc.returncode}): "
                           f"{proc.stderr.decode('utf-8', 'replace').strip()[-400:]}")
    return took, proc


def _floor(db: Path) -> float:
    return _timed([sys.executable, "-c", FLOOR_CODE, str(db)])[0]


# --------------------------------------------------------------------------- receive


def run_receive(results: Results, tmp: Path, template: Path, *, runs: int) -> Results:
    desk = results.figure("mail.receive", "deskapp mail receive, one typical mail (process start → exit)", "ms",
                          target=Target("ratio", 1.5))
    floor = results.figure("mail.floor", "floor: python + SQLAlchemy engine, open the database, one SELECT", "ms")
    db = _copy(template, tmp / "receive.sqlite3")
    raw_size = len(typical_mail("size@bench"))
    _timed(desk_argv("mail", "receive", "--db", str(db)), stdin=typical_mail("warmup@bench.example"))
    _floor(db)
    for i in range(runs):
        log(f"mail receive run {i + 1}/{runs}")
        took, _ = _timed(desk_argv("mail", "receive", "--db", str(db)), stdin=typical_mail(f"r{i}@bench.example"))
        desk.samples.append(took * MS)
        floor.samples.append(_floor(db) * MS)
    desk.reference, desk.reference_label = floor.median, floor.label
    desk.extra["message_bytes"] = raw_size
    return results


# --------------------------------------------------------------------------- fetch


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pymap() -> str:
    script = Path(sys.executable).parent / "pymap"
    return str(script) if script.exists() else shutil.which("pymap") or "pymap"


class ImapServer:
    """pymap with one user and an empty INBOX on 127.0.0.1; killed on exit."""

    def __enter__(self) -> "ImapServer":
        self.port = _free_port()
        self.proc = subprocess.Popen(
            [_pymap(), "--host", "127.0.0.1", "--port", str(self.port), "--no-tls", "dict",
             "--demo-user", IMAP_USER, "--demo-password", IMAP_PASSWORD],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.__exit__()
                    raise RuntimeError("pymap did not start") from None
                time.sleep(0.1)

    def __exit__(self, *exc) -> None:
        self.proc.kill()
        self.proc.wait()

    def connect(self) -> imaplib.IMAP4:
        conn = imaplib.IMAP4("127.0.0.1", self.port)
        conn.login(IMAP_USER, IMAP_PASSWORD)
        return conn


def _read_all_raw(server: ImapServer, count: int) -> float:
    """The reference: every message of the INBOX read raw with imaplib alone."""
    started = time.perf_counter()
    conn = imaplib.IMAP4("127.0.0.1", server.port)
    conn.login(IMAP_USER, IMAP_PASSWORD)
    conn.select("INBOX")
    typ, data = conn.fetch("1:*", "(RFC822)")
    conn.logout()
    took = time.perf_counter() - started
    got = sum(1 for item in data if isinstance(item, tuple))
    if typ != "OK" or got != count:
        raise RuntimeError(f"imaplib read {got} messages, not {count}")
    return took


def _move_back(server: ImapServer, done_folder: str, count: int) -> None:
    conn = server.connect()
    try:
        conn.select(f'"{done_folder}"')
        typ, data = conn.uid("SEARCH", None, "ALL")
        uids = (data[0] or b"").split()
        if uids:
            conn.uid("MOVE", b",".join(uids).decode(), "INBOX")
        conn.select("INBOX")
        typ, data = conn.uid("SEARCH", None, "ALL")
        if len((data[0] or b"").split()) != count:
            raise RuntimeError("the INBOX does not hold the benchmark's messages again")
    finally:
        conn.logout()


def run_fetch(results: Results, tmp: Path, template: Path, *, runs: int, count: int) -> Results:
    desk = results.figure("mail.fetch", f"deskapp mail fetch --once, {count:,} messages from IMAP (start → exit)",
                          "s", target=Target("ratio", 3))
    ref = results.figure("mail.fetch_raw", f"imaplib alone: login, select, FETCH RFC822 of the {count:,}", "s")
    settings = tmp / "settings.toml"
    done_folder = "Desk"
    with ImapServer() as server:
        settings.write_text(
            f'[imap]\nhost = "127.0.0.1"\nport = {server.port}\nsecurity = "none"\nuser = "{IMAP_USER}"\n'
            f'folder = "INBOX"\ndone_folder = "{done_folder}"\ntimeout = 30\n'
        )
        env = {**child_env(), "DESK_SETTINGS_FILE": str(settings), "DESK_IMAP_PASSWORD": IMAP_PASSWORD}
        log(f"loading {count:,} messages into pymap")
        conn = server.connect()
        try:
            for i in range(count):
                raw = typical_mail(f"f{i}@bench.example", subject=f"Anfrage {i}")
                if conn.append("INBOX", None, None, raw)[0] != "OK":
                    raise RuntimeError("pymap refused a message")
        finally:
            conn.logout()
        _read_all_raw(server, count)  # warm-up
        cpu: list[float] = []
        for i in range(runs):
            log(f"mail fetch run {i + 1}/{runs} ({count:,} messages)")
            db = _copy(template, tmp / "fetch.sqlite3")
            before = _children_cpu()
            took, proc = _timed(desk_argv("mail", "fetch", "--once", "--json", "--db", str(db)), env=env)
            cpu.append(_children_cpu() - before)
            stored = _stored(db)
            if stored != count:
                raise RuntimeError(f"mail fetch stored {stored} messages, not {count}: {proc.stdout[-300:]!r}")
            desk.samples.append(took)
            _move_back(server, done_folder, count)
            ref.samples.append(_read_all_raw(server, count))
    desk.reference, desk.reference_label = ref.median, ref.label
    desk.extra["messages"] = count
    # The desk process's own CPU (user + system), the process start included: a figure a
    # loaded machine inflates far less than wall time.
    desk.extra["cpu_ms_per_message"] = round(sorted(cpu)[len(cpu) // 2] / count * MS, 3)
    return results


def _children_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _stored(db: Path) -> int:
    import sqlite3

    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT count(*) FROM mail_message").fetchone()[0]
    finally:
        conn.close()


# --------------------------------------------------------------------------- the 200-message ticket


def _thread_db(path: Path, messages: int, per_message: list[float] | None = None) -> int:
    """``messages`` customer mails in one ticket, through ``mail_in.receive``: its number.
    ``per_message`` collects each transaction's seconds (parse, store, commit)."""
    from deskapp.formatting import utcnow
    from deskapp.services import agents, mail_in, settings_store
    from models.engine import make_engine, write_session

    engine = make_engine(path)
    number = None
    try:
        for i in range(messages):
            raw = typical_mail(f"t{i}@bench.example", subject="E-Mail-Versand geht nicht" if i == 0 else
                               f"Re: [#{number}] E-Mail-Versand geht nicht", reply_to=None if i == 0 else "t0@bench.example")
            started = time.perf_counter()
            with write_session(engine) as session:
                result = mail_in.receive(session, agents.system_agent(session), raw, now=utcnow(),
                                         policy=settings_store.load_policy(session))
            if per_message is not None:
                per_message.append(time.perf_counter() - started)
            if number is None:
                number = result.ticket_number
            elif result.ticket_number != number:
                raise RuntimeError(f"message {i} went to #{result.ticket_number}, not #{number}")
    finally:
        engine.dispose()
    return number


async def _open_ticket(db: Path, number: int) -> float:
    from deskapp.services import agents, settings_store, tickets
    from models.engine import make_engine, read_session
    from screens.app import DeskApp
    from screens.ticket import TicketScreen

    engine = make_engine(db)
    try:
        with read_session(engine) as session:
            agent = agents.by_login(session, "tom")
            policy = settings_store.load_policy(session)
            row = tickets.find_by_number(session, number)
        app = DeskApp(engine=engine, agent=agent, policy=policy, poll=False)
        async with app.run_test(size=(120, 40)) as pilot:
            for _ in range(3):
                await pilot.pause()
            while app.workers:
                await app.workers.wait_for_complete()
            started = time.perf_counter()
            app.open_ticket(row)
            while True:
                await asyncio.sleep(0.001)
                screen = app.screen
                if isinstance(screen, TicketScreen) and screen.is_mounted and screen.current is not None:
                    titles = screen.query("#conversation-title")
                    if titles and "Einträge" in str(titles.first().render()):
                        break
                if time.perf_counter() - started > 30:
                    raise RuntimeError("the ticket screen did not finish loading in 30 s")
            await pilot.pause()  # the refresh that paints the loaded screen
            took = time.perf_counter() - started
            await pilot.press("escape")
            await pilot.pause()
    finally:
        engine.dispose()
    return took


def run_thread(results: Results, tmp: Path, template: Path, *, runs: int, messages: int) -> Results:
    show = results.figure("mail.ticket_show", f"deskapp ticket show --json, {messages}-message thread "
                          "(start → exit)", "ms")
    floor = results.figure("mail.floor_show", "floor: python + SQLAlchemy engine, one SELECT (same run)", "ms")
    screen = results.figure("mail.ticket_screen", f"desk: open the {messages}-message ticket (headless, until "
                            "loaded and painted)", "ms")
    db = _copy(template, tmp / "thread.sqlite3")
    log(f"building a {messages}-message thread through mail_in.receive")
    per_message: list[float] = []
    number = _thread_db(db, messages, per_message)
    one = results.figure("mail.receive_in_process", "mail_in.receive in this process, one message of the "
                         "thread (parse, store, commit)", "ms")
    one.samples.extend(s * MS for s in per_message)
    _timed(desk_argv("ticket", "show", str(number), "--json", "--db", str(db)))
    for i in range(runs):
        log(f"ticket show run {i + 1}/{runs}")
        took, proc = _timed(desk_argv("ticket", "show", str(number), "--json", "--db", str(db)))
        show.samples.append(took * MS)
        floor.samples.append(_floor(db) * MS)
        if i == 0:
            show.extra["output_bytes"] = len(proc.stdout)
    show.reference, show.reference_label = floor.median, floor.label
    asyncio.run(_open_ticket(db, number))  # warm-up: the imports and the first CSS parse
    for i in range(runs):
        log(f"ticket screen run {i + 1}/{runs}")
        screen.samples.append(asyncio.run(_open_ticket(db, number)) * MS)
    screen.notes.append("info: the target is the ratio in a real terminal (ui: open the 200-message ticket)")
    return results


def run_mail(results: Results, *, runs: int, quick: bool, messages: int | None = None) -> None:
    count = messages or (100 if quick else 1000)
    thread = messages or THREAD
    fetch_runs = 1 if quick else max(1, min(runs, 3))
    rep = max(3, runs) if quick else max(7, 2 * runs)
    with tempfile.TemporaryDirectory(prefix="deskbench-mail-") as name:
        tmp = Path(name)
        template = _template(tmp / "template.sqlite3")
        for part, call in (
            ("receive", lambda: run_receive(results, tmp, template, runs=rep)),
            ("fetch", lambda: run_fetch(results, tmp, template, runs=fetch_runs, count=count)),
            ("thread", lambda: run_thread(results, tmp, template, runs=rep, messages=thread)),
        ):
            try:
                call()
            except Exception as exc:  # one part failing leaves the others' figures
                log(f"mail {part}: {type(exc).__name__}: {exc}")
                for fig in results.figures.values():
                    if fig.key.startswith("mail.") and not fig.samples and not fig.status:
                        fig.status = f"error: {type(exc).__name__}: {exc}"[:200]
