"""A small, fully deterministic desk for UI tests and snapshots."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from deskapp.services import agents, customers, tickets
from models.engine import write_session
from seed.people import create_roster

# A fixed moment: Tuesday 10 March 2026, 09:30 in Berlin.
NOW = dt.datetime(2026, 3, 10, 8, 30, tzinfo=dt.timezone.utc)

MORING_ID = uuid.UUID("7bb56b00-4e1e-4e61-ad7d-88a75b3c22e6")
CUSTOMERS = [
    (MORING_ID, "Ivo Moring"),
    (uuid.UUID("00000000-0000-4000-8000-000000000002"), "Conny Schuster"),
    (uuid.UUID("00000000-0000-4000-8000-000000000003"), "Bäckerei Frisch GmbH"),
]
SUBJECTS = [
    "Postfach voll, Mails kommen zurück",
    "SSL-Zertifikat läuft ab",
    "DNS-Eintrag für shop.example.de",
    "WordPress-Update schlägt fehl",
    "Rechnung doppelt erhalten",
]


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
