"""Editing and deleting tasks, the task list and the time budget of the logging dialog
(deskapp.services.budget; SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from deskapp.formatting import today_berlin
from deskapp.rules.budget import add_months
from deskapp.services import budget, customers
from deskapp.services.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from deskapp.settings import Policy
from models.engine import read_session, write_session
from models.enums import TaskStatus
from models.tables import AuditLog, Task, TimeEntry

POLICY = Policy()


@pytest.fixture
def package(engine, people, customer, now):
    """10:00 that expire in 40 days."""
    expiry = today_berlin(now) + dt.timedelta(days=40)
    with write_session(engine) as s:
        return budget.book_package(
            s, people["tom"], customer_id=customer.id, minutes=600, price=Decimal("950.00"),
            purchased_on=add_months(expiry, -24), now=now, policy=POLICY,
        )


def _task(engine, people, customer, now, *, deadline, estimate=120, title="Relaunch Startseite"):
    with write_session(engine) as s:
        return budget.create_task(
            s, people["lena"], customer_id=customer.id, title=title, estimate_minutes=estimate,
            deadline=deadline, now=now, policy=POLICY,
        )


def _budget(engine, customer, now):
    with read_session(engine) as s:
        return budget.load_budget(s, customer.id, today_berlin(now))


def _update(engine, people, task, now, *, who="lena", version=None, **changes):
    args = dict(title=task.title, estimate_minutes=task.estimate_minutes, deadline=task.deadline)
    args.update(changes)
    with write_session(engine) as s:
        return budget.update_task(
            s, people[who], task_id=task.id, version=task.version if version is None else version,
            now=now, policy=POLICY, **args,
        )


def _delete(engine, people, task, now, *, version=None):
    with write_session(engine) as s:
        return budget.delete_task(
            s, people["lena"], task_id=task.id, version=task.version if version is None else version,
            now=now, policy=POLICY,
        )


def _audit(engine, action):
    with read_session(engine) as s:
        return s.execute(
            select(AuditLog.agent_login, AuditLog.entity_id, AuditLog.old, AuditLog.new)
            .where(AuditLog.action == action)
        ).all()


# --------------------------------------------------------------------------- update


def test_editing_the_estimate_changes_the_block(engine, people, customer, package, now):
    task = _task(engine, people, customer, now, deadline=package.valid_until - dt.timedelta(days=30), estimate=120)
    assert _budget(engine, customer, now).blocked == 120
    edited = _update(engine, people, task, now, estimate_minutes=300, title="Relaunch komplett")
    assert (edited.title, edited.estimate_minutes, edited.version) == ("Relaunch komplett", 300, task.version + 1)
    state = _budget(engine, customer, now)
    assert (state.blocked, state.valid) == (300, 300)
    [entry] = _audit(engine, "task.update")
    assert (entry.agent_login, entry.entity_id) == ("lena", str(task.id))
    assert "Relaunch Startseite" in entry.old and "Relaunch komplett" in entry.new
    assert "300" in entry.new and "120" in entry.old


def test_moving_the_deadline_onto_the_expiry_flags_the_workaround(engine, people, customer, package, now):
    task = _task(engine, people, customer, now, deadline=package.valid_until - dt.timedelta(days=30))
    assert not task.workaround
    edited = _update(engine, people, task, now, deadline=package.valid_until - dt.timedelta(days=3))
    assert edited.workaround and edited.expiry_hit == package.valid_until
    back = _update(engine, people, edited, now, deadline=package.valid_until - dt.timedelta(days=20))
    assert not back.workaround


def test_a_stale_version_is_refused_and_nothing_is_overwritten(engine, people, customer, package, now):
    task = _task(engine, people, customer, now, deadline=None)
    _update(engine, people, task, now, title="Zuerst geändert")  # version 1 -> 2
    with pytest.raises(Conflict, match="inzwischen geändert") as info:
        _update(engine, people, task, now, title="Zu spät", version=task.version)
    assert info.value.current.title == "Zuerst geändert"
    with read_session(engine) as s:
        assert s.get(Task, task.id).title == "Zuerst geändert"
    assert len(_audit(engine, "task.update")) == 1


def test_an_unchanged_task_keeps_its_version(engine, people, customer, package, now):
    task = _task(engine, people, customer, now, deadline=None)
    same = _update(engine, people, task, now)
    assert same.version == task.version
    assert _audit(engine, "task.update") == []


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"title": " "}, "Titel"),
        ({"estimate_minutes": -30}, "Schätzung"),
        ({"deadline": dt.date(2026, 3, 9)}, "Deadline"),  # the day before NOW
    ],
)
def test_invalid_edits_are_refused(engine, people, customer, package, now, changes, says):
    task = _task(engine, people, customer, now, deadline=dt.date(2026, 4, 1))
    with pytest.raises(InvalidInput, match=says):
        _update(engine, people, task, now, **changes)
    with read_session(engine) as s:
        stored = s.get(Task, task.id)
        assert (stored.title, stored.estimate_minutes, stored.deadline, stored.version) == (
            task.title, task.estimate_minutes, task.deadline, task.version)


def test_an_overdue_deadline_may_stay_while_the_title_changes(engine, people, customer, package, now):
    task = _task(engine, people, customer, now, deadline=today_berlin(now))
    later = now + dt.timedelta(days=5)
    edited = _update(engine, people, task, later, title="Nachgefragt")
    assert edited.deadline == task.deadline and edited.title == "Nachgefragt"


def test_done_and_deleted_tasks_are_not_edited(engine, people, customer, package, now):
    done = _task(engine, people, customer, now, deadline=None, title="Fertig")
    with write_session(engine) as s:
        done = budget.close_task(s, people["lena"], task_id=done.id, now=now, policy=POLICY)
    with pytest.raises(InvalidInput, match="erledigt"):
        _update(engine, people, done, now, title="Doch nicht")
    gone = _task(engine, people, customer, now, deadline=None, title="Weg")
    gone = _delete(engine, people, gone, now)
    with pytest.raises(InvalidInput, match="gelöscht"):
        _update(engine, people, gone, now, title="Wieder da")


def test_the_system_agent_edits_no_task(engine, people, customer, package, now):
    task = _task(engine, people, customer, now, deadline=None)
    with pytest.raises(PermissionDenied):
        _update(engine, people, task, now, who="system", title="Automatisch")


# --------------------------------------------------------------------------- delete


def test_deleting_frees_the_block_and_hides_the_task(engine, people, customer, package, now):
    task = _task(engine, people, customer, now, deadline=package.valid_until - dt.timedelta(days=30), estimate=240)
    assert _budget(engine, customer, now).blocked == 240
    deleted = _delete(engine, people, task, now)
    assert deleted.status == TaskStatus.DELETED
    state = _budget(engine, customer, now)
    assert (state.blocked, state.valid) == (0, 600)
    with read_session(engine) as s:
        assert budget.list_tasks(s, customer.id, policy=POLICY) == ()
        assert s.get(Task, task.id).status == TaskStatus.DELETED  # kept, for the time logged on it
    [entry] = _audit(engine, "task.delete")
    assert (entry.agent_login, entry.entity_id) == ("lena", str(task.id))
    assert "open" in entry.old and "deleted" in entry.new


def test_deleting_twice_or_with_a_stale_version_is_refused(engine, people, customer, package, now):
    task = _task(engine, people, customer, now, deadline=None)
    edited = _update(engine, people, task, now, title="Neu")
    with pytest.raises(Conflict):
        _delete(engine, people, task, now)  # the version before the edit
    with read_session(engine) as s:
        assert s.get(Task, task.id).status == TaskStatus.OPEN
    deleted = _delete(engine, people, edited, now)
    with pytest.raises(InvalidInput, match="gelöscht"):
        _delete(engine, people, deleted, now)


def test_a_done_task_can_be_deleted(engine, people, customer, package, now):
    task = _task(engine, people, customer, now, deadline=None)
    with write_session(engine) as s:
        done = budget.close_task(s, people["lena"], task_id=task.id, now=now, policy=POLICY)
    assert _delete(engine, people, done, now).status == TaskStatus.DELETED


def test_a_deleted_task_is_neither_closed_nor_logged_on(engine, people, customer, package, now):
    task = _delete(engine, people, _task(engine, people, customer, now, deadline=None), now)
    with pytest.raises(InvalidInput, match="gelöscht"):
        with write_session(engine) as s:
            budget.close_task(s, people["lena"], task_id=task.id, now=now, policy=POLICY)
    with pytest.raises(InvalidInput, match="gelöscht"):
        with write_session(engine) as s:
            budget.log_time(s, people["tom"], customer_id=customer.id, minutes=30, now=now, policy=POLICY,
                            task_id=task.id)
    with read_session(engine) as s:
        assert s.execute(select(TimeEntry)).first() is None


def test_unknown_task(engine, people, customer, package, now):
    with pytest.raises(NotFound):
        with write_session(engine) as s:
            budget.delete_task(s, people["lena"], task_id=999_999, version=1, now=now, policy=POLICY)


def test_a_deleted_workaround_task_does_not_count_towards_the_repeat_case(engine, people, customer, package, now):
    on_expiry = package.valid_until - dt.timedelta(days=2)
    tasks = [_task(engine, people, customer, now, deadline=on_expiry, title=f"Aufgabe {i}") for i in range(3)]
    with read_session(engine) as s:
        assert budget.workaround_count(s, customer.id, now=now, policy=POLICY) == 3
    _delete(engine, people, tasks[0], now)
    with write_session(engine) as s:
        budget.close_task(s, people["lena"], task_id=tasks[1].id, now=now, policy=POLICY)
    with read_session(engine) as s:
        assert budget.workaround_count(s, customer.id, now=now, policy=POLICY) == 2  # done ones still count


# --------------------------------------------------------------------------- list and time budget


def test_task_list_open_first_by_deadline_then_done(engine, people, customer, package, now):
    late = _task(engine, people, customer, now, deadline=dt.date(2026, 4, 10), title="Später")
    none = _task(engine, people, customer, now, deadline=None, title="Ohne Deadline")
    soon = _task(engine, people, customer, now, deadline=dt.date(2026, 3, 20), title="Bald")
    done = _task(engine, people, customer, now, deadline=dt.date(2026, 3, 15), title="Fertig")
    gone = _task(engine, people, customer, now, deadline=dt.date(2026, 3, 16), title="Gelöscht")
    with write_session(engine) as s:
        budget.close_task(s, people["lena"], task_id=done.id, now=now, policy=POLICY)
        budget.log_time(s, people["tom"], customer_id=customer.id, minutes=45, now=now, policy=POLICY,
                        task_id=soon.id)
    _delete(engine, people, gone, now)
    with read_session(engine) as s:
        listed = budget.list_tasks(s, customer.id, policy=POLICY)
        only_open = budget.list_tasks(s, customer.id, policy=POLICY, include_done=False)
    assert [t.id for t in listed] == [soon.id, late.id, none.id, done.id]
    assert [t.id for t in only_open] == [soon.id, late.id, none.id]
    assert [t.logged_minutes for t in listed] == [45, 0, 0, 0]


def test_time_budget_counts_the_tasks_own_block_as_available(engine, people, customer, package, now):
    task = _task(engine, people, customer, now, deadline=package.valid_until - dt.timedelta(days=30), estimate=200)
    with read_session(engine) as s:
        plain = budget.time_budget(s, customer.id, today=today_berlin(now))
        on_task = budget.time_budget(s, customer.id, today=today_berlin(now), task_id=task.id)
    assert (plain.valid_minutes, plain.available_minutes) == (400, 400)
    assert (on_task.valid_minutes, on_task.available_minutes) == (400, 600)
    # what the dialog shows as available is exactly where the service draws the line
    with pytest.raises(InvalidInput, match="10:00 Std"):
        with write_session(engine) as s:
            budget.log_time(s, people["tom"], customer_id=customer.id, minutes=601, now=now, policy=POLICY,
                            task_id=task.id)
    with write_session(engine) as s:
        budget.log_time(s, people["tom"], customer_id=customer.id, minutes=600, now=now, policy=POLICY,
                        task_id=task.id)


def test_other_customers_tasks_are_not_listed(engine, people, customer, package, now):
    with write_session(engine) as s:
        other = customers.create_customer(s, people["sara"], name="Conny Albrecht", credit_limit=Decimal("500"),
                                          now=now)
    _task(engine, people, customer, now, deadline=None)
    with read_session(engine) as s:
        assert budget.list_tasks(s, other.id, policy=POLICY) == ()
