"""Budget reminders (docs/rules.md#budget-reminders): the 6-, 3- and 1-month mails.

``run_reminders`` is the job (``deskapp reminders run``, the palette, cron every hour):

* A package gets a reminder while its valid, unblocked remainder is above zero
  (``services.budget.load_budget``); "today" is the calendar day in Europe/Berlin.
* Stages come from ``Policy.reminder_stages``; which one is due is
  ``rules.reminders.stage_to_send``: only the latest due stage, nothing after expiry.
* Each reminder is a message-log entry with its queued e-mail
  (``services.journal.log_message``) and a ``ReminderSent`` row, written together in one
  transaction per customer, as the ``system`` agent, audited.
* Idempotent, also under parallel runs: the customer row is locked (PostgreSQL
  ``FOR UPDATE``; SQLite's ``BEGIN IMMEDIATE``) and what was already sent is read again
  under that lock; the unique key ``(package_id, stage_months)`` of ``reminder_sent`` is
  the backstop (an ``IntegrityError`` rolls back that package's savepoint and skips it).
  A crash leaves either the whole reminder or nothing.

**Decision — extensions** (docs/rules.md#reminder-after-extension). The rule book says
"one reminder per package and stage, ever" (docs/rules.md#budget-reminders), and
``reminder_sent`` is keyed by package and stage only. When an extension moves a
package's ``valid_until`` on, the stages are computed against the new date, but a stage
is never sent twice and never after a later (smaller) stage of the same package: a
package reminded 3 months before its old date gets, after a 2-month extension, only the
1-month reminder of the new date (if it had not had that one yet). A package that
already had its 1-month reminder gets none for the new date; the approval mail of the
extension names the new date.

Packages are read in keyset-paged batches by id, limited in SQL to those whose validity
ends within the largest stage; tickets are never read.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from models.engine import read_session, write_session
from models.tables import Customer, HourPackage, ReminderSent

from ..formatting import date_de, hours_label, today_berlin, utcnow
from ..rules import reminders as rules
from ..settings import Policy
from . import agents, audit, journal
from .budget import load_budget
from .customers import lock_customer
from .readmodels import AgentRef

BATCH = 500

# User-facing text (German): the reminder mail.
SUBJECT = "Erinnerung: Ihr Stundenbudget läuft am {until} ab"
BODY = (
    "Guten Tag {name},\n\n"
    "Ihr Stundenpaket „{label}“ ist nur noch bis {until} gültig ({when}). Davon sind noch "
    "{remaining} frei. Was bis dahin weder genutzt noch für eine Aufgabe eingeplant ist, "
    "verfällt.\n\n"
    "Sprechen Sie uns gern an, wenn Sie Aufgaben einplanen möchten oder Fragen zu Ihrem "
    "Budget haben.\n\n"
    "Mit freundlichen Grüßen\n"
    "Ihr Support-Team"
)
STAGE_ONE = "1 Monat"
STAGE_MANY = "{months} Monate"
COUNT_ONE = "1 Erinnerung"
COUNT_MANY = "{n} Erinnerungen"
WHEN_TODAY = "heute ist der letzte Tag"
WHEN_ONE_DAY = "noch 1 Tag"
WHEN_DAYS = "noch {days} Tage"


def kind_for(stage: int) -> str:
    """The message-log kind of a reminder stage (``reminder_6``)."""
    return f"reminder_{stage}"


@dataclass(frozen=True)
class ReminderItem:
    """One reminder sent (or, in a dry run, one that would be sent)."""

    package_id: int
    customer_id: uuid.UUID
    customer_name: str
    label: str
    stage: int
    valid_until: dt.date
    remaining_minutes: int
    message_log_id: int | None = None
    mail_id: int | None = None  # None: dry run, or the customer has no e-mail address


@dataclass(frozen=True)
class ReminderReport:
    sent: int
    per_stage: dict[int, int]
    items: tuple[ReminderItem, ...] = field(default=())
    today: dt.date | None = None
    dry_run: bool = False


def reminder_text(*, name: str, label: str, valid_until: dt.date, remaining: int, today: dt.date) -> tuple[str, str]:
    """Subject and body of a reminder mail."""
    days = (valid_until - today).days
    when = WHEN_TODAY if days <= 0 else WHEN_ONE_DAY if days == 1 else WHEN_DAYS.format(days=days)
    until = date_de(valid_until)
    body = BODY.format(
        name=name, label=label or "Stundenpaket", until=until, when=when, remaining=hours_label(remaining)
    )
    return SUBJECT.format(until=until), body


def stage_label(months: int) -> str:
    """``1 Monat`` / ``6 Monate``."""
    return STAGE_ONE if months == 1 else STAGE_MANY.format(months=months)


def count_label(n: int) -> str:
    """``1 Erinnerung`` / ``3 Erinnerungen``."""
    return COUNT_ONE if n == 1 else COUNT_MANY.format(n=n)


def per_stage_label(report: ReminderReport) -> str:
    """``6 Monate: 2, 3 Monate: 1, 1 Monat: 0``."""
    return ", ".join(f"{stage_label(stage)}: {n}" for stage, n in report.per_stage.items())


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class _Candidate:
    package_id: int
    customer_id: uuid.UUID
    valid_until: dt.date


def _candidate_batch(
    session: Session, *, today: dt.date, horizon: dt.date, after_id: int, limit: int,
    customer_id: uuid.UUID | None = None,
) -> list[_Candidate]:
    """Packages whose validity ends between today and the horizon, by id after ``after_id``."""
    stmt = (
        select(HourPackage.id, HourPackage.customer_id, HourPackage.valid_until)
        .where(HourPackage.id > after_id, HourPackage.valid_until >= today, HourPackage.valid_until <= horizon)
        .order_by(HourPackage.id)
        .limit(limit)
    )
    if customer_id is not None:
        stmt = stmt.where(HourPackage.customer_id == customer_id)
    return [_Candidate(pid, cid, until) for pid, cid, until in session.execute(stmt).all()]


def _stage_pending(session: Session, batch: list[_Candidate], *, today: dt.date, policy: Policy) -> list[_Candidate]:
    """The candidates with a stage to send by the calendar and what was sent (one query);
    their budget is looked at only for these."""
    sent = _sent_stages(session, [c.package_id for c in batch])
    stages = policy.reminder_stages
    return [
        c for c in batch
        if rules.stage_to_send(c.valid_until, today, stages, sent.get(c.package_id, ())) is not None
    ]


def _sent_stages(session: Session, package_ids: list[int]) -> dict[int, set[int]]:
    sent: dict[int, set[int]] = defaultdict(set)
    if package_ids:
        rows = session.execute(
            select(ReminderSent.package_id, ReminderSent.stage_months).where(
                ReminderSent.package_id.in_(package_ids)
            )
        ).all()
        for package_id, stage in rows:
            sent[package_id].add(stage)
    return sent


def _due_for_customer(
    session: Session, customer_id: uuid.UUID, package_ids: list[int], *, today: dt.date, policy: Policy
) -> list[tuple[HourPackage, int, int]]:
    """``(package, stage, valid unblocked minutes)`` for each reminder due now."""
    packages = session.execute(
        select(HourPackage).where(HourPackage.id.in_(package_ids)).order_by(HourPackage.id)
    ).scalars().all()
    sent = _sent_stages(session, [p.id for p in packages])
    stages = policy.reminder_stages
    wanted = [
        (p, stage)
        for p in packages
        if (stage := rules.stage_to_send(p.valid_until, today, stages, sent.get(p.id, ()))) is not None
    ]
    if not wanted:
        return []
    budget = {b.id: b for b in load_budget(session, customer_id, today).packages}
    due = []
    for package, stage in wanted:
        state = budget.get(package.id)
        if state is not None and state.valid > 0:
            due.append((package, stage, state.valid))
    return due


# --------------------------------------------------------------------------- writing


def _send_for_customer(
    session: Session,
    actor: AgentRef,
    customer_id: uuid.UUID,
    package_ids: list[int],
    *,
    today: dt.date,
    now: dt.datetime,
    policy: Policy,
) -> list[ReminderItem]:
    """Send this customer's due reminders inside the caller's transaction."""
    customer = lock_customer(session, customer_id)
    items = []
    for package, stage, remaining in _due_for_customer(session, customer_id, package_ids, today=today, policy=policy):
        savepoint = session.begin_nested()
        try:
            # The claim first: a parallel run that got here first makes this flush fail.
            mark = ReminderSent(package_id=package.id, stage_months=stage, sent_on=today)
            session.add(mark)
            session.flush()
        except IntegrityError:
            savepoint.rollback()
            continue
        subject, body = reminder_text(
            name=customer.name, label=package.label, valid_until=package.valid_until, remaining=remaining,
            today=today,
        )
        logged = journal.log_message(
            session, customer_id=customer_id, kind=kind_for(stage), subject=subject, body=body, now=now,
            actor=actor,
        )
        mark.message_log_id = logged.id
        session.flush()
        audit.record(
            session, actor, "reminder.send", "reminder_sent", mark.id,
            new={
                "package_id": package.id, "customer_id": customer_id, "stage_months": stage,
                "valid_until": package.valid_until, "remaining_minutes": remaining,
                "message_log_id": logged.id, "mail_id": logged.mail_id, "today": today,
            },
            now=now,
        )
        savepoint.commit()
        items.append(ReminderItem(
            package_id=package.id, customer_id=customer_id, customer_name=customer.name, label=package.label,
            stage=stage, valid_until=package.valid_until, remaining_minutes=remaining,
            message_log_id=logged.id, mail_id=logged.mail_id,
        ))
    return items


def _would_send(
    session: Session, customer_id: uuid.UUID, package_ids: list[int], *, today: dt.date, policy: Policy
) -> list[ReminderItem]:
    due = _due_for_customer(session, customer_id, package_ids, today=today, policy=policy)
    if not due:
        return []
    name = session.get(Customer, customer_id).name
    return [
        ReminderItem(
            package_id=p.id, customer_id=customer_id, customer_name=name, label=p.label, stage=stage,
            valid_until=p.valid_until, remaining_minutes=remaining,
        )
        for p, stage, remaining in due
    ]


def _report(items: list[ReminderItem], policy: Policy, today: dt.date, dry_run: bool) -> ReminderReport:
    per_stage = {stage: 0 for stage in policy.reminder_stages}
    for item in items:
        per_stage[item.stage] = per_stage.get(item.stage, 0) + 1
    return ReminderReport(
        sent=len(items), per_stage=per_stage, items=tuple(items), today=today, dry_run=dry_run
    )


def _grouped(batch: list[_Candidate]) -> dict[uuid.UUID, list[int]]:
    by_customer: dict[uuid.UUID, list[int]] = defaultdict(list)
    for c in batch:
        by_customer[c.customer_id].append(c.package_id)
    return by_customer


def run_reminders(
    engine: Engine,
    *,
    policy: Policy,
    today: dt.date | None = None,
    now: dt.datetime | None = None,
    dry_run: bool = False,
    batch: int = BATCH,
) -> ReminderReport:
    """Send every reminder due on ``today`` (default: the Berlin day of ``now``).

    One write transaction per customer with something due; a dry run only reads and
    reports what it would send.
    """
    now = now or utcnow()
    today = today or today_berlin(now)
    horizon = rules.candidate_horizon(today, policy.reminder_stages)
    items: list[ReminderItem] = []
    if horizon is None:
        return _report(items, policy, today, dry_run)
    with read_session(engine) as session:
        actor = agents.system_agent(session)
    after_id = 0
    while True:
        with read_session(engine) as session:
            candidates = _candidate_batch(session, today=today, horizon=horizon, after_id=after_id, limit=batch)
            if not candidates:
                break
            after_id = candidates[-1].package_id
            # A first look outside any write lock: most customers have nothing due.
            pending = _stage_pending(session, candidates, today=today, policy=policy)
            due = {
                cid: found
                for cid, ids in _grouped(pending).items()
                if (found := _would_send(session, cid, ids, today=today, policy=policy))
            }
        for customer_id, found in due.items():
            if dry_run:
                items += found
                continue
            package_ids = [i.package_id for i in found]
            with write_session(engine) as session:
                items += _send_for_customer(
                    session, actor, customer_id, package_ids, today=today, now=now, policy=policy
                )
        if len(candidates) < batch:
            break
    return _report(items, policy, today, dry_run)


def send_reminders(
    session: Session,
    *,
    policy: Policy,
    now: dt.datetime,
    today: dt.date | None = None,
    customer_id: uuid.UUID | None = None,
    actor: AgentRef | None = None,
) -> ReminderReport:
    """The same job inside the caller's transaction (the demo seed, tests); optionally
    for one customer only."""
    today = today or today_berlin(now)
    actor = actor or agents.system_agent(session)
    horizon = rules.candidate_horizon(today, policy.reminder_stages)
    items: list[ReminderItem] = []
    after_id = 0
    while horizon is not None:
        candidates = _candidate_batch(
            session, today=today, horizon=horizon, after_id=after_id, limit=BATCH, customer_id=customer_id
        )
        if not candidates:
            break
        after_id = candidates[-1].package_id
        pending = _stage_pending(session, candidates, today=today, policy=policy)
        for cid, ids in _grouped(pending).items():
            items += _send_for_customer(session, actor, cid, ids, today=today, now=now, policy=policy)
        if len(candidates) < BATCH:
            break
    return _report(items, policy, today, dry_run=False)


__all__ = [
    "ReminderItem",
    "ReminderReport",
    "count_label",
    "kind_for",
    "per_stage_label",
    "reminder_text",
    "run_reminders",
    "send_reminders",
    "stage_label",
]
