"""A large, deterministic data set for scale tests (10k customers, 100k tickets by default).

Rows go in through SQLAlchemy Core bulk inserts — ``session.execute(insert(table), rows)``
in chunks — because building an ORM object per row costs ~50 µs each (STYLE.md,
"Database habits"). The whole load is one write transaction: it lands completely or not
at all. Ticket and customer numbers continue the database's counters, and the counters
are bumped afterwards, so tickets and customers created later carry on the sequence.
On SQLite the FTS triggers of migration 0002 index every inserted ticket, so search
works at once; PostgreSQL's GIN index is an ordinary index.

Same ``seed`` and ``now`` give the same data.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import random
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Callable, Iterator, Sequence

from sqlalchemy import insert
from sqlalchemy.engine import Engine
from sqlmodel import Session

from deskapp.rules.budget import validity_end
from deskapp.services import agents, audit, contacts, counters
from deskapp.services.readmodels import AgentRef, may_work_queue
from deskapp.settings import Policy
from models.engine import write_session
from models.enums import Priority, Queue, TicketKind, TicketStatus
from models.tables import Counter, Customer, CustomerEmail, HourPackage, Ticket

from .people import ROSTER, create_roster

Progress = Callable[[str, int, int], None]

CHUNK_ROWS = 5_000
TICKET_SPAN = dt.timedelta(days=730)  # tickets are spread over the past two years
CUSTOMER_SPAN = dt.timedelta(days=1_095)  # customers are a little older than their tickets
HOURLY_RATE = Decimal("95.00")

# --------------------------------------------------------------------------- word lists

# fmt: off
FIRST_NAMES = (
    "Anna", "Ben", "Clara", "David", "Elena", "Felix", "Greta", "Hannes", "Ida", "Jonas",
    "Katrin", "Lukas", "Marie", "Niklas", "Olga", "Paul", "Quirin", "Rosa", "Stefan", "Tanja",
    "Uwe", "Vera", "Wolfgang", "Yvonne", "Zoe", "Jürgen", "Sören", "Käthe", "Björn", "Ännchen",
)
LAST_NAMES = (
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz",
    "Hoffmann", "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf", "Schröder", "Neumann",
    "Schwarz", "Zimmermann", "Braun", "Krüger", "Hofmann", "Hartmann", "Lange", "Schmitt",
    "Werner", "Krause", "Meier", "Lehmann", "Köhler", "Groß", "Jäger", "Vogel", "Fuchs", "Moring",
)
COMPANY_WORDS = (
    "Bäckerei", "Autohaus", "Zahnarztpraxis", "Kanzlei", "Weingut", "Blumenhaus", "Schreinerei",
    "Fahrschule", "Steuerbüro", "Architekturbüro", "Reisebüro", "Optik", "Metzgerei", "Tierarztpraxis",
    "Buchhandlung", "Physiotherapie", "Elektro", "Gärtnerei", "Hotel", "Café",
)
COMPANY_FORMS = ("GmbH", "KG", "e.K.", "GbR", "UG (haftungsbeschränkt)", "& Söhne", "")
TLDS = ("de", "de", "de", "com", "eu", "net", "berlin", "bayern")

# Subjects: "<topic> <problem>" with the customer's domain or mailbox where it fits.
SUBJECT_TEMPLATES = (
    "Postfach {mailbox} voll",
    "E-Mails an {mailbox} kommen nicht an",
    "Passwort für {mailbox} zurücksetzen",
    "Domain {domain} läuft aus",
    "Umzug der Domain {domain} zu uns",
    "SSL-Zertifikat für {domain} abgelaufen",
    "Website {domain} lädt sehr langsam",
    "Website {domain} nicht erreichbar",
    "Weiterleitung für {domain} einrichten",
    "Datenbank-Sicherung wiederherstellen",
    "Speicherplatz im Hosting-Paket erweitern",
    "Rechnung {month} unklar",
    "Lastschrift für {month} fehlgeschlagen",
    "Stundenkontingent nachbuchen",
    "Frage zum Restbudget",
    "Kündigung Hosting-Paket",
    "Kontaktformular verschickt keine Nachrichten",
    "WordPress-Aktualisierung fehlgeschlagen",
    "Spam-Filter zu streng",
    "DNS-Eintrag für {domain} ändern",
    "Neue Unterseite für {domain}",
    "Zugangsdaten FTP gesperrt",
    "Kreditlimit für Bestellungen erhöhen",
    "Registrierung {domain} hängt",
)
MONTHS_DE = (
    "Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September",
    "Oktober", "November", "Dezember",
)
OPENINGS = ("Guten Tag,", "Hallo zusammen,", "Sehr geehrte Damen und Herren,", "Moin,", "Hallo,")
SINCE = ("seit heute Morgen", "seit gestern", "seit letzter Woche", "seit dem Update", "seit Montag")
SYMPTOMS = (
    "bekommen wir eine Fehlermeldung",
    "funktioniert das nicht mehr",
    "passiert beim Speichern gar nichts",
    "sehen unsere Kunden eine leere Seite",
    "kommen keine Bestellungen mehr an",
    "dauert jeder Aufruf über eine Minute",
)
DETAILS = (
    "Die Fehlermeldung lautet „Zeitüberschreitung“.",
    "Im Browser erscheint eine Zertifikatswarnung.",
    "Wir haben nichts an den Einstellungen geändert.",
    "Ein Kollege hat es auf seinem Rechner ebenfalls probiert.",
    "Das Problem tritt nur auf dem Smartphone auf.",
    "Es betrifft alle Mitarbeiter im Büro.",
    "Bitte prüfen Sie auch die Weiterleitungen.",
    "Die Rechnungsnummer finden Sie im Anhang.",
    "Wir brauchen das dringend vor dem Wochenende.",
)
ASKS = (
    "Können Sie sich das bitte ansehen?",
    "Bitte melden Sie sich kurz telefonisch.",
    "Was müssen wir tun?",
    "Wie lange wird das dauern?",
    "Vielen Dank im Voraus für Ihre Hilfe.",
)
CLOSINGS = ("Viele Grüße", "Mit freundlichen Grüßen", "Beste Grüße", "Danke und Gruß")

# Weighted choices (value, weight).
QUEUE_WEIGHTS = ((Queue.SUPPORT, 60), (Queue.TECHNICAL, 20), (Queue.CONTRACT, 12), (Queue.ADMIN, 8))
PRIORITY_WEIGHTS = ((Priority.LOW, 20), (Priority.NORMAL, 55), (Priority.HIGH, 20), (Priority.URGENT, 5))
RECENT_STATUS_WEIGHTS = (
    (TicketStatus.NEW, 30), (TicketStatus.OPEN, 35), (TicketStatus.WAITING, 15), (TicketStatus.RESOLVED, 20),
)
OLD_STATUS_WEIGHTS = (
    (TicketStatus.NEW, 1), (TicketStatus.OPEN, 3), (TicketStatus.WAITING, 3), (TicketStatus.RESOLVED, 93),
)
PACKAGE_MINUTES = (600, 1_200, 1_800, 3_000, 6_000)  # 10, 20, 30, 50, 100 h
# fmt: on
LONG_THREAD = 200  # messages of the one long conversation ``deskapp seed large`` adds
LONG_THREAD_SUBJECT = "Mailversand aus dem Shop bricht ab"


@dataclass(frozen=True)
class LargeSummary:
    customers: int
    tickets: int
    packages: int
    first_ticket_number: int
    last_ticket_number: int
    first_customer_number: str
    last_customer_number: str
    seconds: float
    stage_seconds: dict[str, float]
    thread_ticket_number: int = 0  # the ticket of the long conversation (``thread``), 0 without one


# --------------------------------------------------------------------------- generation


def _picker(rng: random.Random) -> Callable[[Sequence], object]:
    """``rng.choice`` at a third of its cost: generation is a visible part of a 100k load."""
    rand = rng.random

    def pick(seq: Sequence):
        return seq[int(rand() * len(seq))]

    return pick


def _weighted_picker(rng: random.Random, pairs) -> Callable[[], object]:
    values = [v for v, _ in pairs]
    total = sum(w for _, w in pairs)
    cumulative = list(itertools.accumulate(w / total for _, w in pairs))
    cumulative[-1] = 1.0
    rand = rng.random

    def pick():
        return values[bisect.bisect_right(cumulative, rand())]

    return pick


def _ascii(text: str) -> str:
    for umlaut, plain in (
        ("ä", "ae"),
        ("ö", "oe"),
        ("ü", "ue"),
        ("ß", "ss"),
        ("Ä", "Ae"),
        ("Ö", "Oe"),
        ("Ü", "Ue"),
    ):
        text = text.replace(umlaut, plain)
    return "".join(ch for ch in text.lower() if ch.isalnum() or ch == "-")


def _customer_name(rng: random.Random) -> tuple[str, str, str, str]:
    """(name, e-mail, domain, the first name of the person who writes in)."""
    last = rng.choice(LAST_NAMES)
    first = rng.choice(FIRST_NAMES)
    if rng.random() < 0.45:
        name = f"{first} {last}"
        slug = f"{_ascii(first)}-{_ascii(last)}"
        mailbox = _ascii(first)
    else:
        trade = rng.choice(COMPANY_WORDS)
        form = rng.choice(COMPANY_FORMS)
        name = f"{trade} {last} {form}".strip()
        slug = f"{_ascii(trade)}-{_ascii(last)}"
        mailbox = "info"
    domain = f"{slug}{rng.randrange(1, 100) if rng.random() < 0.3 else ''}.{rng.choice(TLDS)}"
    return name, f"{mailbox}@{domain}", domain, first


def _customers(rng: random.Random, n: int, first_counter: int, now: dt.datetime) -> list[dict]:
    limit = Policy().default_credit_limit
    rows = []
    for i in range(n):
        name, email, domain, contact = _customer_name(rng)
        rows.append(
            {
                "id": uuid.UUID(int=rng.getrandbits(128), version=4),
                "number": f"K-{10000 + first_counter + i}",
                "name": name,
                "email": email,
                "phone": f"+49 {rng.randrange(30, 999)} {rng.randrange(100000, 9999999)}",
                "credit_limit": limit,
                "created_at": now
                - CUSTOMER_SPAN
                + dt.timedelta(seconds=rng.randrange(int(CUSTOMER_SPAN.total_seconds()))),
                "version": 1,
                "_domain": domain,  # for subjects and bodies; stripped before insert
                "_contact": contact,
            }
        )
    # Customer numbers follow the order customers came in.
    created = sorted(r["created_at"] for r in rows)
    for row, at in zip(rows, created, strict=True):
        row["created_at"] = at
    return rows


def _packages(rng: random.Random, customers: Sequence[dict], n: int, now: dt.datetime) -> list[dict]:
    validity = Policy().package_validity_months
    today = now.date()
    rows = []
    for _ in range(n):
        customer = rng.choice(customers)
        first_day = max(customer["created_at"].date(), today - dt.timedelta(days=1_000))
        purchased_on = first_day + dt.timedelta(days=rng.randrange(max(1, (today - first_day).days + 1)))
        minutes = rng.choice(PACKAGE_MINUTES)
        rows.append(
            {
                "customer_id": customer["id"],
                "label": f"Stundenpaket {minutes // 60} h",
                "minutes": minutes,
                "price": HOURLY_RATE * (minutes // 60),
                "purchased_on": purchased_on,
                "valid_until": validity_end(purchased_on, validity),
                "created_at": min(
                    now, dt.datetime.combine(purchased_on, dt.time(9, 0), tzinfo=dt.timezone.utc)
                ),
                "version": 1,
            }
        )
    return rows


def _text(pick, rand, customer: dict | None, at: dt.datetime) -> tuple[str, str]:
    domain = customer["_domain"] if customer else f"beispiel{int(rand() * 500) + 1}.de"
    mailbox = customer["email"] if customer else f"info@{domain}"
    subject = pick(SUBJECT_TEMPLATES).format(
        domain=domain, mailbox=mailbox, month=MONTHS_DE[(at.month - 2) % 12]
    )
    signer = customer["_contact"] if customer else pick(FIRST_NAMES)
    detail = pick(DETAILS)
    more = pick(DETAILS)
    more = "" if more == detail else more + " "
    body = (
        f"{pick(OPENINGS)} {pick(SINCE)} {pick(SYMPTOMS)} ({domain}). {detail} {more}"
        f"{pick(ASKS)} {pick(CLOSINGS)}, {signer}"
    )
    return subject, body


def _tickets(
    rng: random.Random,
    customers: Sequence[dict],
    roster: dict[str, AgentRef],
    n: int,
    first_number: int,
    now: dt.datetime,
) -> list[dict]:
    span = int(TICKET_SPAN.total_seconds())
    created = sorted(now - dt.timedelta(seconds=rng.randrange(span)) for _ in range(n))
    pick = _picker(rng)
    rand = rng.random
    queue_of = _weighted_picker(rng, QUEUE_WEIGHTS)
    priority_of = _weighted_picker(rng, PRIORITY_WEIGHTS)
    recent_status = _weighted_picker(rng, RECENT_STATUS_WEIGHTS)
    old_status = _weighted_picker(rng, OLD_STATUS_WEIGHTS)
    recent = now - dt.timedelta(days=30)
    workers = {
        q: [
            a.id
            for login, a in sorted(roster.items())
            if login != agents.SYSTEM_LOGIN and may_work_queue(a, q)
        ]
        for q in Queue
    }
    # Customers come sorted by creation; a ticket is written by one who existed then.
    customer_since = [c["created_at"] for c in customers]
    rows = []
    for i, at in enumerate(created):
        queue = queue_of()
        customer = None
        if rand() < 0.95:
            known = bisect.bisect_right(customer_since, at)
            if known:
                customer = customers[int(rand() * known)]
        status = recent_status() if at >= recent else old_status()
        assignee = None
        if status != TicketStatus.NEW and rand() < 0.95:
            assignee = pick(workers[queue])
        flags = []
        if rand() < 0.02:
            flags.append("flagged")
        if queue == Queue.CONTRACT and rand() < 0.05:
            flags.append("conspicuous")
        subject, body = _text(pick, rand, customer, at)
        updated = (
            at if status == TicketStatus.NEW else min(now, at + dt.timedelta(seconds=int(rand() * 604_800)))
        )
        rows.append(
            {
                "number": first_number + i,
                "queue": queue.value,
                "kind": TicketKind.GENERAL.value,
                "status": status.value,
                "priority": int(priority_of()),
                "customer_id": customer["id"] if customer else None,
                "subject": subject[:255],
                "body": body,
                "assignee_id": assignee,
                "flags": " ".join(flags),
                "order_id": None,
                "extension_request_id": None,
                "task_id": None,
                "created_at": at,
                "updated_at": updated,
                "version": 1,
            }
        )
    return rows


# --------------------------------------------------------------------------- loading


def long_thread(session: Session, system: AgentRef, customer: dict, messages: int, *,
                now: dt.datetime, seed: int = 1) -> int:
    """One ticket with a conversation of ``messages`` mails, received through the desk's own
    ``mail_in.receive`` like a real one: the customer's first mail opens the ticket, every
    further mail answers it (``In-Reply-To`` the first), an hour apart up to ``now``. The
    ticket's number."""
    from deskapp.services import mail_in, settings_store

    from .mail import raw_mail

    rng = random.Random(seed)
    pick = _picker(rng)
    policy = settings_store.load_policy(session)
    sender = f"{customer['_contact']} <{customer['email']}>"
    first_id = f"long-thread-0@{customer['_domain']}"
    number = 0
    for i in range(messages):
        when = now - dt.timedelta(hours=messages - i)
        _, text = _text(pick, rng.random, customer, when)
        quoted = "" if i == 0 else f"\n\n> {pick(DETAILS)}\n> {pick(ASKS)}"
        body = f"{text}\n\nNachricht {i + 1} von {messages} zu diesem Fall.{quoted}\n"
        raw = raw_mail(
            sender=sender, subject=LONG_THREAD_SUBJECT if i == 0 else f"Re: [#{number}] {LONG_THREAD_SUBJECT}",
            msgid=f"long-thread-{i}@{customer['_domain']}", when=when, body=body,
            headers=None if i == 0 else {"In-Reply-To": f"<{first_id}>", "References": f"<{first_id}>"},
        )
        got = mail_in.receive(session, system, raw, now=when, policy=policy)
        number = number or got.ticket_number
    return number


def _chunks(rows: Sequence[dict], size: int) -> Iterator[Sequence[dict]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _bulk_insert(
    session: Session, table, rows: Sequence[dict], stage: str, progress: Progress | None
) -> None:
    stmt = insert(table)
    done = 0
    if progress:
        progress(stage, 0, len(rows))
    for chunk in _chunks(rows, CHUNK_ROWS):
        session.execute(stmt, list(chunk))
        done += len(chunk)
        if progress:
            progress(stage, done, len(rows))


def _roster(session: Session) -> dict[str, AgentRef]:
    """The demo roster: reused when present, created when the database has none."""
    existing = {login: agents.by_login(session, login) for login, _, _ in ROSTER}
    if all(ref is None for ref in existing.values()):
        return create_roster(session)
    missing = [login for login, ref in existing.items() if ref is None]
    if missing:
        raise ValueError(f"incomplete agent roster, missing: {', '.join(missing)}")
    return existing


def _counter(session: Session, name: str) -> int:
    row = session.get(Counter, name)
    return row.value if row is not None else 0


def _analyze(engine: Engine) -> None:
    """Fresh planner statistics for the loaded tables, on both backends.

    Without them PostgreSQL plans the first inbox page blind (59 ms instead of a few ms
    at 100,000 tickets) until autovacuum gets round to it, and SQLite knows nothing about
    how selective its indexes are. SQLite samples (``analysis_limit``) to stay quick.
    """
    if engine.dialect.name == "sqlite":
        with engine.begin() as conn:
            conn.exec_driver_sql("PRAGMA analysis_limit = 1000")
            conn.exec_driver_sql("ANALYZE")
        return
    # PostgreSQL: only the loaded tables (other schemas of the database are not ours).
    # VACUUM too, so the visibility map is set and the counts are index-only
    # scans (no heap fetches) at once. VACUUM cannot run inside a transaction.
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        tables = ", ".join(t.__table__.name for t in (Customer, HourPackage, Ticket))
        conn.exec_driver_sql(f"VACUUM ANALYZE {tables}")


def build_large(
    engine: Engine,
    *,
    now: dt.datetime,
    seed: int = 1,
    customers: int = 10_000,
    tickets: int = 100_000,
    packages: int | None = None,
    thread: int = 0,
    progress: Progress | None = None,
) -> LargeSummary:
    """Load ``customers`` customers, ``tickets`` tickets and hour packages in one transaction.

    ``packages`` defaults to three for every ten customers. ``progress(stage, done,
    total)`` is called once per inserted chunk (and with ``done=0`` as a stage starts).
    ``thread`` > 0 adds one more ticket whose conversation has that many mails
    (``long_thread``, the first customer's; ``deskapp seed large`` asks for ``LONG_THREAD``).
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    if customers < 0 or tickets < 0 or (packages is not None and packages < 0):
        raise ValueError("sizes must not be negative")
    now = now.astimezone(dt.timezone.utc)
    if packages is None:
        packages = customers * 3 // 10
    if customers == 0:
        packages = 0
    rng = random.Random(seed)
    started = time.perf_counter()
    stages: dict[str, float] = {}

    def lap(name: str, since: float) -> float:
        t = time.perf_counter()
        stages[name] = round(t - since, 3)
        return t

    with write_session(engine) as session:
        roster = _roster(session)
        # Synthetic data with the demo roster: agents may be chosen with --agent.
        agents.mark_demo_database(session)
        first_customer = _counter(session, "customer") + 1
        first_ticket = _counter(session, "ticket") + 1

        t = time.perf_counter()
        customer_rows = _customers(rng, customers, first_customer, now)
        package_rows = _packages(rng, customer_rows, packages, now)
        ticket_rows = _tickets(rng, customer_rows, roster, tickets, first_ticket, now)
        t = lap("generate", t)

        _bulk_insert(
            session,
            Customer.__table__,
            [{k: v for k, v in row.items() if not k.startswith("_")} for row in customer_rows],
            "customers",
            progress,
        )
        # The contact list (deskapp.services.contacts): each customer's one address.
        _bulk_insert(
            session, CustomerEmail.__table__,
            [row for c in customer_rows for row in contacts.email_rows(c["id"], [c["email"]])],
            "contacts", None,
        )
        t = lap("customers", t)
        _bulk_insert(session, HourPackage.__table__, package_rows, "packages", progress)
        t = lap("packages", t)
        _bulk_insert(session, Ticket.__table__, ticket_rows, "tickets", progress)
        t = lap("tickets", t)

        last_customer = first_customer + customers - 1
        last_ticket = first_ticket + tickets - 1
        if customers:
            counters.bump_to_at_least(session, "customer", last_customer)
        if tickets:
            counters.bump_to_at_least(session, "ticket", last_ticket)
        thread_number = 0
        if thread > 0 and customer_rows:
            thread_number = long_thread(session, roster[agents.SYSTEM_LOGIN], customer_rows[0], thread, now=now,
                                        seed=seed)
            t = lap("thread", t)
        summary = {
            "seed": seed,
            "customers": customers,
            "tickets": tickets,
            "packages": packages,
            "customer_numbers": f"K-{10000 + first_customer}..K-{10000 + last_customer}" if customers else "",
            "ticket_numbers": f"{first_ticket}..{last_ticket}" if tickets else "",
        }
        if thread_number:
            summary["thread_ticket"] = thread_number
        audit.record(
            session, roster[agents.SYSTEM_LOGIN], "seed.large", "database", "large", new=summary, now=now
        )
        session.flush()
    t = lap("commit", t)
    _analyze(engine)
    stages["analyze"] = round(time.perf_counter() - t, 3)

    return LargeSummary(
        customers=customers,
        tickets=tickets,
        packages=packages,
        first_ticket_number=first_ticket if tickets else 0,
        last_ticket_number=last_ticket if tickets else 0,
        first_customer_number=f"K-{10000 + first_customer}" if customers else "",
        last_customer_number=f"K-{10000 + last_customer}" if customers else "",
        seconds=round(time.perf_counter() - started, 3),
        stage_seconds=stages,
        thread_ticket_number=thread_number,
    )


__all__ = ["LONG_THREAD", "LargeSummary", "build_large", "long_thread"]
