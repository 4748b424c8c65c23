"""A small, fully deterministic desk for UI tests and snapshots."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import NamedTuple

from deskapp.formatting import today_berlin
from deskapp.rules.budget import add_months
from deskapp.services import agents, budget, customers, journal, tickets
from deskapp.settings import Policy
from models.engine import write_session
from seed.people import create_roster

# A fixed moment: Tuesday 10 March 2026, 09:30 in Berlin.
NOW = dt.datetime(2026, 3, 10, 8, 30, tzinfo=dt.timezone.utc)

TODAY = today_berlin(NOW)  # Tuesday 10.03.2026
IVO_SOON = TODAY + dt.timedelta(days=20)  # 30.03.26: Ivo's first package expires

MORING_ID = uuid.UUID("7bb56b00-4e1e-4e61-ad7d-88a75b3c22e6")
CUSTOMERS = [
    (MORING_ID, "Ivo Moring"),
    (uuid.UUID("00000000-0000-4000-8000-000000000002"), "Conny Schuster"),
    (uuid.UUID("00000000-0000-4000-8000-000000000003"), "Bäckerei Frisch GmbH"),
]
CONNY_ID = CUSTOMERS[1][0]
BAECKEREI_ID = CUSTOMERS[2][0]
SUBJECTS = [
    "Postfach voll, Mails kommen zurück",
    "SSL-Zertifikat läuft ab",
    "DNS-Eintrag für shop.example.de",
    "WordPress-Update schlägt fehl",
    "Rechnung doppelt erhalten",
]


class Desk(NamedTuple):
    """A test desk: its engine and the roster's AgentRefs by login."""

    engine: object
    people: dict


def build_small_desk(engine, now: dt.datetime, *, support_tickets: int = 45) -> dict:
    """Roster, three customers, ``support_tickets`` support tickets and a few elsewhere."""
    with write_session(engine) as s:
        people = create_roster(s)
        agents.mark_demo_database(s)
        custs = [
            customers.create_customer(
                s, people["sara"], name=name, customer_id=cid, now=now - dt.timedelta(days=400),
                credit_limit=Decimal("500.00"), email=f"kunde{i}@example.de",
            )
            for i, (cid, name) in enumerate(CUSTOMERS)
        ]
        for i in range(support_tickets):
            tickets.open_ticket(
                s, people["tom"], queue="support",
                subject=f"{SUBJECTS[i % len(SUBJECTS)]} ({i + 1})",
                body=f"Guten Tag,\nbitte um Hilfe, Vorgang {i + 1}.\nViele Grüße",
                customer_id=custs[i % len(custs)].id,
                priority=2 + (1 if i % 7 == 0 else 0),
                now=now - dt.timedelta(hours=3 * (i + 1)),
            )
        for i, queue in enumerate(["contract", "technical", "admin"]):
            tickets.open_ticket(
                s, people["system"] if False else people["tom"], queue=queue,
                subject=f"Vorgang in {queue}", customer_id=custs[0].id,
                now=now - dt.timedelta(minutes=30 + i),
            )
    return {"people": people, "customers": custs}


def build_budget_desk(engine, now: dt.datetime = NOW) -> dict:
    """The small desk plus budgets.

    Ivo Moring: 10:00 bought 30.03.24 (expires 30.03.26, 05:00 used over the last year),
    40:00 bought 01.06.25 (valid until 01.06.27) — 45:00 valid.
    Conny Schuster: 05:00 expiring in 60 days. Bäckerei Frisch: 20:00 expiring in 150 days.
    """
    data = build_small_desk(engine, now)
    people, policy = data["people"], Policy()
    packages = [
        (MORING_ID, 600, add_months(IVO_SOON, -24)),
        (MORING_ID, 2400, dt.date(2025, 6, 1)),
        (CONNY_ID, 300, add_months(TODAY + dt.timedelta(days=60), -24)),
        (BAECKEREI_ID, 1200, add_months(TODAY + dt.timedelta(days=150), -24)),
    ]
    with write_session(engine) as s:
        for cid, minutes, purchased in packages:
            budget.book_package(s, people["sara"], customer_id=cid, minutes=minutes, price=Decimal("95.00") * (minutes // 60),
                                purchased_on=purchased, now=now, policy=policy)
    for days_ago, minutes in ((330, 60), (240, 90), (150, 120), (60, 30)):
        with write_session(engine) as s:
            budget.log_time(s, people["tom"], customer_id=MORING_ID, minutes=minutes,
                            now=now - dt.timedelta(days=days_ago), policy=policy, note="Wartung")
    return data


def add_budgets(engine, people) -> dict:
    """Ivo Moring: 28:00 Std left, valid until 20.03.26, an open task and a ticket about it.
    Conny Schuster: 10:00 Std left, expired on 01.02.26 — under 20 h, she must rebook."""
    policy = Policy()
    tom = people["tom"]
    with write_session(engine) as s:
        budget.book_package(s, tom, customer_id=MORING_ID, minutes=40 * 60, price=Decimal("3600.00"),
                            purchased_on=dt.date(2024, 3, 20), now=NOW, policy=policy, label="Paket 40 h")
        budget.log_time(s, tom, customer_id=MORING_ID, minutes=12 * 60, now=NOW, policy=policy)
        task = budget.create_task(s, tom, customer_id=MORING_ID, title="Relaunch Shop", estimate_minutes=60,
                                  deadline=None, now=NOW, policy=policy)
        ticket = tickets.open_ticket(s, tom, queue="support", subject="Relaunch: wie geht es weiter?",
                                     customer_id=MORING_ID, task_id=task.id, now=NOW)
        budget.book_package(s, tom, customer_id=CONNY_ID, minutes=10 * 60, price=Decimal("990.00"),
                            purchased_on=dt.date(2024, 2, 1), now=NOW, policy=policy, label="Paket 10 h")
    return {"task_id": task.id, "ticket_id": ticket.id, "ticket_number": ticket.number}


def queue_mails(engine, people, n: int, *, prefix="Hinweis") -> list[int]:
    """``n`` mails queued to Bäckerei Krume (a new customer): their outbox ids."""
    with write_session(engine) as s:
        customer = customers.create_customer(
            s, people["sara"], name="Bäckerei Krume GmbH", email="info@krume.example",
            credit_limit=Decimal("500.00"), now=NOW,
        )
        return [
            journal.log_message(
                s, customer_id=customer.id, kind="maintenance", subject=f"{prefix} {i + 1}",
                body=f"Guten Tag,\n\nNachricht Nummer {i + 1}.\n\nIhr Support-Team", now=NOW, actor=people["system"],
            ).mail_id
            for i in range(n)
        ]
