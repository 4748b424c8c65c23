"""Budget reminders (docs/rules.md#budget-reminders), on SQLite and PostgreSQL.

6, 3 and 1 month before a package expires; only the latest due stage; nothing after
expiry or for a package without valid unblocked remainder; one per package and stage,
ever — across repeated runs, extensions and parallel processes; "today" is the Berlin
day; a dry run writes nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import traceback
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update

from deskapp.rules.budget import add_months
from deskapp.rules.reminders import stage_to_send
from deskapp.services import budget, customers
from deskapp.services.reminders import run_reminders, send_reminders
from deskapp.settings import Policy
from models.engine import make_engine, read_session, write_session
from models.tables import AuditLog, HourPackage, MessageLogEntry, OutgoingMail, ReminderSent
from tests.support.deskdata import NOW
from tests.support.race import race

POLICY = Policy()
TODAY = dt.date(2026, 3, 10)  # NOW in Berlin


def _customer(s, people, name, *, email="kunde@example.de"):
    return customers.create_customer(
        s, people["sara"], name=name, email=email, credit_limit=Decimal("500.00"), now=NOW,
        created_at=NOW - dt.timedelta(days=900),
    )


def _package(s, people, customer_id, until: dt.date, *, hours: int = 10, label: str = "") -> int:
    view = budget.book_package(
        s, people["sara"], customer_id=customer_id, minutes=hours * 60, price=Decimal("950.00"),
        purchased_on=add_months(until, -POLICY.package_validity_months), now=NOW, policy=POLICY, label=label,
    )
    assert view.valid_until == until
    return view.id


def with_package(engine, people, until, *, name="Ivo Moring", hours=10, used=0, email="kunde@example.de",
                 label=""):
    with write_session(engine) as s:
        customer = _customer(s, people, name, email=email)
        package_id = _package(s, people, customer.id, until, hours=hours, label=label)
        if used:
            budget.log_time(s, people["tom"], customer_id=customer.id, minutes=used, now=NOW, policy=POLICY)
    return customer, package_id


def sent_rows(engine):
    with read_session(engine) as s:
        return sorted(s.execute(select(ReminderSent.package_id, ReminderSent.stage_months)).all())


def counts(engine):
    with read_session(engine) as s:
        return tuple(
            s.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (ReminderSent, MessageLogEntry, OutgoingMail, AuditLog)
        )


def run(engine, today=TODAY, **kw):
    return run_reminders(engine, policy=kw.pop("policy", POLICY), today=today, now=kw.pop("now", NOW), **kw)


# --------------------------------------------------------------------------- the stages


@pytest.mark.parametrize(
    ("until", "stage"),
    [
        (dt.date(2026, 9, 10), 6),  # exactly six months ahead: the 6-month reminder
        (dt.date(2026, 6, 10), 3),  # 6 and 3 due: only the latest, 3
        (dt.date(2026, 4, 10), 1),  # 6, 3 and 1 due: only 1
        (dt.date(2026, 3, 10), 1),  # the last valid day still gets it
    ],
)
def test_the_latest_due_stage_is_sent_once(engine, people, until, stage):
    customer, package_id = with_package(engine, people, until, used=135, label="Stundenpaket Shop")
    report = run(engine)
    assert report.sent == 1
    assert report.per_stage == {s: int(s == stage) for s in (6, 3, 1)}
    assert sent_rows(engine) == [(package_id, stage)]
    with read_session(engine) as s:
        log = s.execute(select(MessageLogEntry.id, MessageLogEntry.kind, MessageLogEntry.customer_id)).one()
        mail = s.execute(select(OutgoingMail.message_log_id, OutgoingMail.status, OutgoingMail.to_addr,
                                OutgoingMail.subject, OutgoingMail.body)).one()
        mark = s.execute(select(ReminderSent.message_log_id, ReminderSent.sent_on)).one()
    assert log.kind == f"reminder_{stage}" and log.customer_id == customer.id
    assert mark.message_log_id == log.id and mark.sent_on == TODAY
    assert mail.message_log_id == log.id and mail.status == "queued" and mail.to_addr == "kunde@example.de"
    # German, with the customer's name, the package, what is left as hh:mm and the expiry date.
    assert "Ivo Moring" in mail.body
    assert "„Stundenpaket Shop“" in mail.body
    assert "07:45 Std" in mail.body  # 10:00 booked, 2:15 used
    assert f"{until.day:02d}.{until.month:02d}.26" in mail.subject and f"{until.day:02d}.{until.month:02d}.26" in mail.body
    # And a second run finds nothing more to send.
    again = run(engine)
    assert again.sent == 0 and sent_rows(engine) == [(package_id, stage)]


@pytest.mark.parametrize(
    "until",
    [
        dt.date(2026, 9, 11),  # six months and a day: nothing due yet
        dt.date(2026, 3, 9),  # expired yesterday: nothing after expiry
        dt.date(2025, 12, 1),
    ],
)
def test_nothing_before_the_first_stage_or_after_expiry(engine, people, until):
    with_package(engine, people, until)
    before = counts(engine)
    assert run(engine).sent == 0
    assert counts(engine) == before


def test_nothing_for_an_empty_or_fully_blocked_package(engine, people):
    until = dt.date(2026, 4, 5)
    with_package(engine, people, until, name="Leer GmbH", hours=2, used=120)
    blocked, _ = with_package(engine, people, until, name="Geblockt KG", hours=2)
    partly, partly_package = with_package(engine, people, until, name="Teilweise AG", hours=2)
    with write_session(engine) as s:
        budget.create_task(s, people["tom"], customer_id=blocked.id, title="Relaunch", estimate_minutes=120,
                           deadline=until - dt.timedelta(days=2), now=NOW, policy=POLICY)
        budget.create_task(s, people["tom"], customer_id=partly.id, title="Pflege", estimate_minutes=90,
                           deadline=until - dt.timedelta(days=2), now=NOW, policy=POLICY)
    report = run(engine)
    assert [(i.customer_name, i.remaining_minutes) for i in report.items] == [("Teilweise AG", 30)]
    assert sent_rows(engine) == [(partly_package, 1)]


def test_the_stages_follow_the_calendar_over_repeated_runs(engine, people):
    until = dt.date(2026, 9, 30)
    _, package_id = with_package(engine, people, until)
    days = [TODAY + dt.timedelta(days=n) for n in range(0, 205)] + [until, until + dt.timedelta(days=1)]
    sent_on = {}
    for day in days:
        for _ in range(2):  # cron runs more than once a day
            for item in run(engine, today=day).items:
                sent_on[item.stage] = day
    # 30.09. - 6 months = 30.03.; - 3 months = 30.06.; - 1 month = 30.08.: each the first run on/after.
    assert sent_on == {6: dt.date(2026, 3, 30), 3: dt.date(2026, 6, 30), 1: dt.date(2026, 8, 30)}
    assert sent_rows(engine) == [(package_id, 1), (package_id, 3), (package_id, 6)]


def test_month_end_clamping_counts_from_the_calendar_month(engine, people):
    until = dt.date(2026, 8, 31)  # - 6 months = 28.02.26 (clamped), already past on 10.03.
    _, package_id = with_package(engine, people, until)
    assert run(engine, today=dt.date(2026, 2, 27)).sent == 0
    assert [i.stage for i in run(engine, today=dt.date(2026, 2, 28)).items] == [6]


def test_a_skipped_stage_is_never_sent_later_not_even_after_an_extension(engine, people):
    until = dt.date(2026, 6, 1)  # 6 and 3 are due on 10.03.: 3 is sent, 6 skipped
    _, package_id = with_package(engine, people, until)
    assert [i.stage for i in run(engine).items] == [3]
    # An extension by two months: on the new date's 6-month day, 6 would be due again.
    new_until = add_months(until, 2)
    with write_session(engine) as s:
        s.execute(update(HourPackage).where(HourPackage.id == package_id).values(valid_until=new_until))
    assert run(engine, today=dt.date(2026, 3, 11)).sent == 0  # 6 (and 3) never again
    assert run(engine, today=add_months(new_until, -3)).sent == 0
    assert [i.stage for i in run(engine, today=add_months(new_until, -1)).items] == [1]
    assert sent_rows(engine) == [(package_id, 1), (package_id, 3)]


def test_after_the_last_stage_an_extension_sends_nothing_more(engine, people):
    until = dt.date(2026, 3, 20)
    _, package_id = with_package(engine, people, until)
    assert [i.stage for i in run(engine).items] == [1]
    with write_session(engine) as s:
        s.execute(update(HourPackage).where(HourPackage.id == package_id)
                  .values(valid_until=add_months(until, 2)))
    for day in (add_months(until, -1), add_months(until, 1), add_months(until, 2)):
        assert run(engine, today=day).sent == 0
    assert sent_rows(engine) == [(package_id, 1)]


def test_every_package_of_a_customer_and_many_customers_in_small_batches(engine, people):
    with write_session(engine) as s:
        first = _customer(s, people, "Zwei Pakete GmbH")
        a = _package(s, people, first.id, dt.date(2026, 4, 1))
        b = _package(s, people, first.id, dt.date(2026, 9, 1))
        c = _package(s, people, first.id, dt.date(2027, 9, 1))  # far off
        others = []
        for i in range(5):
            cust = _customer(s, people, f"Kunde {i}", email="" if i == 0 else f"k{i}@example.de")
            others.append(_package(s, people, cust.id, dt.date(2026, 5, 1 + i)))
    report = run(engine, batch=2)
    assert report.sent == 7
    assert report.per_stage == {6: 1, 3: 5, 1: 1}
    assert sent_rows(engine) == sorted([(a, 1), (b, 6)] + [(p, 3) for p in others])
    assert c not in {p for p, _ in sent_rows(engine)}
    # The customer without an address: the message log has it, no mail is queued.
    no_mail = [i for i in report.items if i.customer_name == "Kunde 0"]
    assert no_mail[0].mail_id is None and no_mail[0].message_log_id is not None
    with read_session(engine) as s:
        assert s.execute(select(func.count()).select_from(OutgoingMail)).scalar_one() == 6
        assert s.execute(select(func.count()).select_from(MessageLogEntry)).scalar_one() == 7


def test_the_stages_are_a_policy_setting(engine, people):
    _, package_id = with_package(engine, people, dt.date(2026, 6, 1))  # 4 months ahead: not 6, not 2
    policy = dataclasses.replace(POLICY, reminder_stages_months="2 4")
    assert run(engine, policy=policy).per_stage == {4: 1, 2: 0}
    assert sent_rows(engine) == [(package_id, 4)]


def test_a_dry_run_changes_nothing(engine, people):
    with_package(engine, people, dt.date(2026, 4, 1))
    with_package(engine, people, dt.date(2026, 9, 10), name="Zweiter Kunde")
    before = counts(engine)
    report = run(engine, dry_run=True)
    assert report.dry_run and report.sent == 2 and report.per_stage == {6: 1, 3: 0, 1: 1}
    assert all(i.message_log_id is None and i.mail_id is None for i in report.items)
    assert counts(engine) == before
    assert run(engine).sent == 2  # the real run sends exactly what the dry run announced


def test_today_is_the_berlin_calendar_day(engine, people):
    with_package(engine, people, dt.date(2026, 9, 10))
    # 22:30 UTC on 09.03. is 23:30 in Berlin: still the 9th, the 6-month day is tomorrow.
    late = dt.datetime(2026, 3, 9, 22, 30, tzinfo=dt.timezone.utc)
    assert run_reminders(engine, policy=POLICY, now=late).sent == 0
    # 23:30 UTC is 00:30 on the 10th in Berlin (while UTC is still on the 9th).
    after_midnight = dt.datetime(2026, 3, 9, 23, 30, tzinfo=dt.timezone.utc)
    report = run_reminders(engine, policy=POLICY, now=after_midnight)
    assert report.today == TODAY and [i.stage for i in report.items] == [6]


def test_reminders_run_as_the_system_agent_and_are_audited(engine, people):
    _, package_id = with_package(engine, people, dt.date(2026, 4, 1))
    run(engine)
    with read_session(engine) as s:
        audit = s.execute(select(AuditLog.agent_login, AuditLog.action, AuditLog.new)).all()
    mine = [(who, action) for who, action, _ in audit if action in ("reminder.send", "message.log", "mail.queue")]
    assert sorted(mine) == [("system", "mail.queue"), ("system", "message.log"), ("system", "reminder.send")]
    new = next(n for _, action, n in audit if action == "reminder.send")
    assert f'"package_id": {package_id}' in new and '"stage_months": 1' in new


def test_the_session_variant_sends_within_the_callers_transaction(engine, people):
    customer, package_id = with_package(engine, people, dt.date(2026, 4, 1))
    other, other_package = with_package(engine, people, dt.date(2026, 4, 2), name="Andere")
    with pytest.raises(RuntimeError):
        with write_session(engine) as s:
            assert send_reminders(s, policy=POLICY, now=NOW).sent == 2
            raise RuntimeError("rolled back")
    assert sent_rows(engine) == []
    with write_session(engine) as s:
        report = send_reminders(s, policy=POLICY, now=NOW, customer_id=customer.id)
    assert [i.package_id for i in report.items] == [package_id]
    assert sent_rows(engine) == [(package_id, 1)]


def test_stage_rule_table():
    stages = (6, 3, 1)
    until = dt.date(2026, 9, 10)
    assert stage_to_send(until, dt.date(2026, 3, 9), stages, ()) is None
    assert stage_to_send(until, dt.date(2026, 3, 10), stages, ()) == 6
    assert stage_to_send(until, dt.date(2026, 8, 10), stages, ()) == 1
    assert stage_to_send(until, dt.date(2026, 8, 10), stages, {6, 3}) == 1
    assert stage_to_send(until, dt.date(2026, 8, 10), stages, {1}) is None
    assert stage_to_send(until, dt.date(2026, 6, 10), stages, {1}) is None  # after an extension
    assert stage_to_send(until, dt.date(2026, 9, 11), stages, ()) is None


# --------------------------------------------------------------------------- parallel processes

RUNNERS = 4
RACE_CUSTOMERS = 12


def _race(url: str, barrier, results) -> None:
    """Runs in a spawned process: wait for the others, then run the job."""
    try:
        engine = make_engine(url)
        barrier.wait(60)
        report = run_reminders(engine, policy=Policy(), today=TODAY, now=NOW)
        engine.dispose()
        results.put(("ok", [(i.package_id, i.stage) for i in report.items]))
    except Exception:
        barrier.abort()
        results.put(("error", traceback.format_exc()))


@pytest.mark.slow
def test_parallel_runs_send_each_reminder_exactly_once(db_url, engine, people):
    expected = []
    with write_session(engine) as s:
        for i in range(RACE_CUSTOMERS):
            cust = _customer(s, people, f"Parallel {i}", email=f"p{i}@example.de")
            until = dt.date(2026, 3, 20) if i % 3 == 0 else dt.date(2026, 5, 1) if i % 3 == 1 else dt.date(2026, 9, 1)
            package_id = _package(s, people, cust.id, until)
            expected.append((package_id, 1 if i % 3 == 0 else 3 if i % 3 == 1 else 6))
    collected = race(_race, [(db_url,)] * RUNNERS)
    assert [r for r in collected if r[0] != "ok"] == []
    sent_by_runs = sorted(x for _, items in collected for x in items)
    assert sent_by_runs == sorted(expected)  # each reminder reported by exactly one run
    assert sent_rows(engine) == sorted(expected)
    with read_session(engine) as s:
        kinds = s.execute(select(MessageLogEntry.kind)).scalars().all()
        mails = s.execute(select(OutgoingMail.to_addr)).scalars().all()
    assert len(kinds) == RACE_CUSTOMERS and len(mails) == RACE_CUSTOMERS
    assert len(set(mails)) == RACE_CUSTOMERS
