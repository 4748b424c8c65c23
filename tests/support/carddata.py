"""Ivo Moring's card: a customer with packages, tasks, tickets, orders, messages and a file,
inserted straight into the tables (no write service involved)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from models.enums import OrderStatus, Priority, Queue, TaskStatus, TicketStatus
from models.tables import (
    Customer,
    CustomerFileEntry,
    HourPackage,
    MessageLogEntry,
    Order,
    Task,
    Ticket,
    TimeEntry,
)

IVO = uuid.UUID("7bb56b00-4e1e-4e61-ad7d-88a75b3c22e6")
EMPTY = uuid.UUID("00000000-0000-4000-8000-000000000001")
D = dt.date


def at(day: dt.date, hour: int = 9) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=dt.timezone.utc)


def customer(cid: uuid.UUID, number: str, name: str, *, limit: str = "500.00") -> Customer:
    return Customer(
        id=cid,
        number=number,
        name=name,
        email=f"{number.lower()}@kunde.example",
        phone="+49 30 1234567",
        credit_limit=Decimal(limit),
        created_at=at(D(2023, 1, 10)),
    )


def build_ivo(session, people, now: dt.datetime) -> None:
    """Ivo Moring on 10.03.2026 (see the numbers in ``test_budget_numbers``).

    Packages: P1 40:00 bought 20.03.24, valid until 20.03.26, 10:00 used;
              P2 20:00 bought 01.06.25, valid until 01.06.27;
              P3 10:00 bought 15.01.23, expired 15.01.25, 01:40 used.
    Open tasks: 02:00 due 15.03.26 (5 days before P1's expiry: the workaround),
                01:00 due 01.09.26 (blocks in P2), 00:30 without a deadline.
    Orders: executed 120,00 + held 300,50 count; settled/failed/rejected do not.
    """
    tom = people["tom"]
    session.add(customer(IVO, "K-10042", "Ivo Moring"))
    session.add(customer(EMPTY, "K-10001", "Anna Leer", limit="250.00"))
    session.flush()
    p1 = HourPackage(
        id=101, customer_id=IVO, label="Paket 40 h", minutes=2400, price=Decimal("3600.00"),
        purchased_on=D(2024, 3, 20), valid_until=D(2026, 3, 20), created_at=at(D(2024, 3, 20)),
    )
    p2 = HourPackage(
        id=102, customer_id=IVO, label="Paket 20 h", minutes=1200, price=Decimal("1900.00"),
        purchased_on=D(2025, 6, 1), valid_until=D(2027, 6, 1), created_at=at(D(2025, 6, 1)),
    )
    p3 = HourPackage(
        id=103, customer_id=IVO, label="Paket 10 h", minutes=600, price=Decimal("990.00"),
        purchased_on=D(2023, 1, 15), valid_until=D(2025, 1, 15), created_at=at(D(2023, 1, 15)),
    )
    session.add_all([p1, p2, p3])
    session.flush()
    session.add_all(
        [
            TimeEntry(customer_id=IVO, package_id=101, agent_id=tom.id, minutes=400, created_at=at(D(2025, 2, 1))),
            TimeEntry(customer_id=IVO, package_id=101, agent_id=tom.id, minutes=200, created_at=at(D(2025, 9, 1))),
            TimeEntry(customer_id=IVO, package_id=103, agent_id=tom.id, minutes=100, created_at=at(D(2024, 5, 1))),
        ]
    )
    session.add_all(
        [
            Task(id=201, customer_id=IVO, title="Migration Mailserver", estimate_minutes=120,
                 deadline=D(2026, 3, 15), created_at=at(D(2026, 2, 1))),
            Task(id=202, customer_id=IVO, title="Relaunch Shop", estimate_minutes=60,
                 deadline=D(2026, 9, 1), created_at=at(D(2026, 2, 2))),
            Task(id=203, customer_id=IVO, title="Backup prüfen", estimate_minutes=30,
                 created_at=at(D(2026, 2, 3))),
            Task(id=204, customer_id=IVO, title="Erledigt", estimate_minutes=600,
                 deadline=D(2026, 4, 1), status=TaskStatus.DONE, created_at=at(D(2026, 1, 3))),
        ]
    )
    orders = [
        ("ivo-moring.de", "120.00", OrderStatus.EXECUTED, None),
        ("ivo-moring.shop", "300.50", OrderStatus.HELD, "VG-2026-000007"),
        ("ivo.example", "999.00", OrderStatus.SETTLED, None),
        ("ivo.fail", "50.00", OrderStatus.FAILED, None),
        ("ivo.reject", "10.00", OrderStatus.REJECTED, "VG-2026-000003"),
    ]
    for i, (item, amount, status, pn) in enumerate(orders):
        session.add(
            Order(
                customer_id=IVO, item=item, amount=Decimal(amount), status=status, process_number=pn,
                placed_by_id=tom.id, created_at=now - dt.timedelta(days=10 - i),
            )
        )
    tickets = [
        (1001, TicketStatus.NEW, Priority.NORMAL, "Mail kommt nicht an", 3),
        (1002, TicketStatus.OPEN, Priority.URGENT, "Shop offline", 1),
        (1003, TicketStatus.WAITING, Priority.NORMAL, "Rechnung unklar", 2),
        (1004, TicketStatus.RESOLVED, Priority.URGENT, "Alt und erledigt", 0),
    ]
    for number, status, prio, subject, days in tickets:
        session.add(
            Ticket(
                number=number, queue=Queue.SUPPORT, status=status, priority=prio, customer_id=IVO,
                subject=subject, created_at=now - dt.timedelta(days=days), updated_at=now,
            )
        )
    session.add(
        Ticket(number=1005, queue=Queue.SUPPORT, status=TicketStatus.NEW, priority=Priority.URGENT,
               customer_id=EMPTY, subject="Fremder Kunde", created_at=now, updated_at=now)
    )
    session.add_all(
        [
            MessageLogEntry(customer_id=IVO, kind="reminder_1", subject="Ihr Stundenbudget läuft ab",
                            body="Erinnerung: 1 Monat", created_at=at(D(2026, 2, 20))),
            MessageLogEntry(customer_id=IVO, kind="order_held", subject="Bestellung VG-2026-000007",
                            body="Ihre Bestellung wird geprüft.", created_at=at(D(2026, 3, 5))),
            CustomerFileEntry(customer_id=IVO, agent_id=tom.id, text="Kunde ruft oft freitags an.",
                              created_at=at(D(2025, 11, 3))),
            CustomerFileEntry(customer_id=IVO, agent_id=None, text="Verlängerung abgelehnt.",
                              created_at=at(D(2026, 1, 12))),
        ]
    )


def ivo_desk(path, now: dt.datetime, extra=None):
    """A migrated SQLite file at ``path`` with the roster and Ivo Moring's card data
    (``build_ivo``); ``extra(session, people)`` adds more in the same transaction.
    Returns a ``tests.support.deskdata.Desk``; the caller disposes of its engine."""
    from models.engine import write_session
    from seed.people import create_roster
    from tests.support.deskdata import Desk
    from tests.support.schema import migrated_sqlite_engine

    engine = migrated_sqlite_engine(path)
    with write_session(engine) as s:
        people = create_roster(s)
    with write_session(engine) as s:
        build_ivo(s, people, now)
        if extra is not None:
            extra(s, people)
    return Desk(engine, people)
