"""Hour packages, tasks and time logging through the services (SQLite and PostgreSQL)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from deskapp.formatting import today_berlin
from deskapp.rules.budget import add_months
from deskapp.services import budget, customers, tickets
from deskapp.services.errors import InvalidInput, NotFound, PermissionDenied
from deskapp.settings import Policy
from models.engine import read_session, write_session
from models.tables import AuditLog, HourPackage, Task, TimeEntry

POLICY = Policy()


def _book(engine, people, customer, now, *, minutes, purchased_on, price="950.00", who="tom"):
    with write_session(engine) as s:
        return budget.book_package(
            s, people[who], customer_id=customer.id, minutes=minutes, price=Decimal(price),
            purchased_on=purchased_on, now=now, policy=POLICY,
        )


def _budget(engine, customer, now):
    with read_session(engine) as s:
        return budget.load_budget(s, customer.id, today_berlin(now))


def _count(engine, table):
    with read_session(engine) as s:
        return s.execute(select(func.count()).select_from(table)).scalar_one()


# --------------------------------------------------------------------------- packages


def test_package_is_valid_for_the_policy_months_and_audited(engine, people, customer, now):
    today = today_berlin(now)
    view = _book(engine, people, customer, now, minutes=1200, purchased_on=today - dt.timedelta(days=10))
    assert view.valid_until == add_months(today - dt.timedelta(days=10), 24)
    assert view.booked_minutes == 1200 and view.remaining_minutes == 1200 and not view.expired
    assert view.label == "Stundenpaket 20:00 Std"
    assert _budget(engine, customer, now).valid == 1200
    with read_session(engine) as s:
        actions = s.execute(select(AuditLog.action, AuditLog.agent_login)).all()
    assert ("package.book", "tom") in actions


def test_package_validity_follows_policy_setting(engine, people, customer, now):
    today = today_berlin(now)
    with write_session(engine) as s:
        view = budget.book_package(
            s, people["tom"], customer_id=customer.id, minutes=60, price=Decimal("95"),
            purchased_on=today, now=now, policy=dataclasses.replace(POLICY, package_validity_months=12),
        )
    assert view.valid_until == add_months(today, 12)


@pytest.mark.parametrize(
    "changes",
    [
        {"minutes": 0},
        {"minutes": -60},
        {"minutes": 1.5},
        {"minutes": True},
        {"minutes": "60"},
        {"price": Decimal("-1")},
        {"price": Decimal("10.005")},
        {"price": Decimal("NaN")},
        {"purchased_on": "2026-03-01"},
    ],
)
def test_invalid_package_is_refused_and_nothing_written(engine, people, customer, now, changes):
    args = dict(minutes=600, price=Decimal("500.00"), purchased_on=today_berlin(now))
    args.update(changes)
    with pytest.raises(InvalidInput) as info:
        with write_session(engine) as s:
            budget.book_package(s, people["tom"], customer_id=customer.id, now=now, policy=POLICY, **args)
    assert info.value.field == next(iter(changes))  # the form shows it under that field
    assert _count(engine, HourPackage) == 0


def test_package_cannot_be_bought_in_the_future(engine, people, customer, now):
    with pytest.raises(InvalidInput, match="Zukunft"):
        with write_session(engine) as s:
            budget.book_package(
                s, people["tom"], customer_id=customer.id, minutes=60, price=Decimal("95"),
                purchased_on=today_berlin(now) + dt.timedelta(days=1), now=now, policy=POLICY,
            )


@pytest.mark.parametrize("login", ["kai", "system"])
def test_only_booking_roles_book_packages(engine, people, customer, now, login):
    with pytest.raises(PermissionDenied):
        _book(engine, people, customer, now, minutes=60, purchased_on=today_berlin(now), who=login)
    assert _count(engine, HourPackage) == 0


def test_unknown_customer(engine, people, now):
    import uuid

    with pytest.raises(NotFound):
        with write_session(engine) as s:
            budget.book_package(
                s, people["tom"], customer_id=uuid.uuid4(), minutes=60, price=Decimal("95"),
                purchased_on=today_berlin(now), now=now, policy=POLICY,
            )


# --------------------------------------------------------------------------- tasks


def _expiring_package(engine, people, customer, now, *, days_left=40, minutes=3000):
    """A package that expires ``days_left`` days after today."""
    today = today_berlin(now)
    expiry = today + dt.timedelta(days=days_left)
    purchased = add_months(expiry, -24)
    view = _book(engine, people, customer, now, minutes=minutes, purchased_on=purchased)
    assert view.valid_until == expiry
    return view


def _task(engine, people, customer, now, *, deadline, estimate=120, title="Relaunch Startseite"):
    with write_session(engine) as s:
        return budget.create_task(
            s, people["lena"], customer_id=customer.id, title=title, estimate_minutes=estimate,
            deadline=deadline, now=now, policy=POLICY,
        )


@pytest.mark.parametrize(("days_before", "flagged"), [(0, True), (14, True), (15, False)])
def test_deadline_close_to_expiry_is_flagged_as_workaround(engine, people, customer, now, days_before, flagged):
    pkg = _expiring_package(engine, people, customer, now)
    task = _task(engine, people, customer, now, deadline=pkg.valid_until - dt.timedelta(days=days_before))
    assert task.workaround is flagged
    assert task.status == "open"


def test_workaround_window_is_a_setting(engine, people, customer, now):
    pkg = _expiring_package(engine, people, customer, now)
    with write_session(engine) as s:
        task = budget.create_task(
            s, people["lena"], customer_id=customer.id, title="Newsletter", estimate_minutes=60,
            deadline=pkg.valid_until - dt.timedelta(days=20), now=now,
            policy=dataclasses.replace(POLICY, workaround_window_days=30),
        )
    assert task.workaround


def test_open_task_blocks_its_estimate_until_closed(engine, people, customer, now):
    pkg = _expiring_package(engine, people, customer, now, minutes=600)
    task = _task(engine, people, customer, now, deadline=pkg.valid_until - dt.timedelta(days=30), estimate=240)
    state = _budget(engine, customer, now)
    assert (state.valid, state.blocked) == (360, 240)
    with write_session(engine) as s:
        closed = budget.close_task(s, people["lena"], task_id=task.id, now=now, policy=POLICY)
    assert closed.status == "done"
    state = _budget(engine, customer, now)
    assert (state.valid, state.blocked) == (600, 0)
    with pytest.raises(InvalidInput, match="schon erledigt"):
        with write_session(engine) as s:
            budget.close_task(s, people["lena"], task_id=task.id, now=now, policy=POLICY)


@pytest.mark.parametrize(
    "changes",
    [
        {"title": "  "},
        {"estimate_minutes": -1},
        {"estimate_minutes": 2.5},
        {"deadline": dt.date(2026, 3, 9)},  # yesterday
    ],
)
def test_invalid_task_is_refused(engine, people, customer, now, changes):
    args = dict(title="Backup prüfen", estimate_minutes=60, deadline=dt.date(2026, 4, 1))
    args.update(changes)
    with pytest.raises(InvalidInput) as info:
        with write_session(engine) as s:
            budget.create_task(s, people["lena"], customer_id=customer.id, now=now, policy=POLICY, **args)
    assert info.value.field == next(iter(changes))  # the form shows it under that field
    assert _count(engine, Task) == 0


# --------------------------------------------------------------------------- time logging


def _log(engine, people, customer, now, minutes, policy=POLICY, **kw):
    with write_session(engine) as s:
        return budget.log_time(
            s, people["tom"], customer_id=customer.id, minutes=minutes, now=now, policy=policy, **kw
        )


def test_logging_draws_from_the_package_expiring_first(engine, people, customer, now):
    soon = _expiring_package(engine, people, customer, now, days_left=20, minutes=90)
    later = _expiring_package(engine, people, customer, now, days_left=400, minutes=1200)
    result = _log(engine, people, customer, now, 120, note="DNS umgestellt")
    assert result.bookings == ((soon.id, 90), (later.id, 30))
    assert result.valid_after == 1170
    with read_session(engine) as s:
        entries = s.execute(select(TimeEntry.package_id, TimeEntry.minutes).order_by(TimeEntry.id)).all()
    assert [tuple(e) for e in entries] == [(soon.id, 90), (later.id, 30)]


def test_over_budget_is_refused_with_the_available_time(engine, people, customer, now):
    _expiring_package(engine, people, customer, now, minutes=90)
    with pytest.raises(InvalidInput) as info:
        _log(engine, people, customer, now, 120)
    assert "01:30 Std" in info.value.message
    assert "02:00 Std" in info.value.message
    assert info.value.field == "minutes"
    assert _count(engine, TimeEntry) == 0
    assert _budget(engine, customer, now).valid == 90


def test_expired_budget_is_not_drawn(engine, people, customer, now):
    today = today_berlin(now)
    _book(engine, people, customer, now, minutes=600, purchased_on=add_months(today, -25))
    with pytest.raises(InvalidInput, match="00:00 Std"):
        _log(engine, people, customer, now, 30)


def test_negative_budget_when_the_policy_allows_it(engine, people, customer, now):
    pkg = _expiring_package(engine, people, customer, now, minutes=60)
    result = _log(engine, people, customer, now, 90, policy=dataclasses.replace(POLICY, allow_negative_budget=True))
    assert sum(m for _, m in result.bookings) == 90
    assert all(pid == pkg.id for pid, _ in result.bookings)
    assert result.level == "critical"
    assert _budget(engine, customer, now).used == 90


def test_warnings_under_ten_and_two_hours(engine, people, customer, now):
    _expiring_package(engine, people, customer, now, minutes=900)
    first = _log(engine, people, customer, now, 200)  # 11:40 left
    assert (first.level, first.warning) == ("", "")
    second = _log(engine, people, customer, now, 200)  # 08:20 left
    assert second.level == "warn" and "08:20 Std" in second.warning
    third = _log(engine, people, customer, now, 400)  # 01:40 left
    assert third.level == "critical" and "01:40 Std" in third.warning


def test_work_on_a_task_uses_the_budget_it_blocks(engine, people, customer, now):
    pkg = _expiring_package(engine, people, customer, now, days_left=120, minutes=300)
    task = _task(engine, people, customer, now, deadline=pkg.valid_until - dt.timedelta(days=60), estimate=300)
    with pytest.raises(InvalidInput):
        _log(engine, people, customer, now, 60)  # everything is blocked by the task
    _log(engine, people, customer, now, 100, task_id=task.id)
    state = _budget(engine, customer, now)
    assert (state.used, state.blocked, state.valid) == (100, 200, 0)


def test_ticket_and_task_must_belong_to_the_customer(engine, people, customer, now):
    _expiring_package(engine, people, customer, now, minutes=300)
    with write_session(engine) as s:
        other = customers.create_customer(s, people["sara"], name="Conny Albrecht", credit_limit=Decimal("500"), now=now)
        ticket = tickets.open_ticket(s, people["tom"], queue="support", subject="Mail", customer_id=other.id, now=now)
    with pytest.raises(InvalidInput, match="anderen Kunden"):
        _log(engine, people, customer, now, 30, ticket_id=ticket.id)
    assert _count(engine, TimeEntry) == 0


@pytest.mark.parametrize("minutes", [0, -5, 1.5, True])
def test_minutes_must_be_positive_whole_numbers(engine, people, customer, now, minutes):
    _expiring_package(engine, people, customer, now, minutes=300)
    with pytest.raises(InvalidInput):
        _log(engine, people, customer, now, minutes)


def test_system_agent_logs_no_time(engine, people, customer, now):
    with pytest.raises(PermissionDenied):
        with write_session(engine) as s:
            budget.log_time(s, people["system"], customer_id=customer.id, minutes=10, now=now, policy=POLICY)
