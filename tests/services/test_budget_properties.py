"""Properties of the hour budget through the services and the database (hypothesis).

``tests/unit/test_budget_rules.py`` checks the pure arithmetic on generated package states.
Here random sequences of what agents do — book packages, create, edit, close and delete
tasks, log time on the customer or a task, let days pass — run through the real services
on SQLite and PostgreSQL, and after every step the stored state must satisfy:

* consumption never exceeds what was booked (per package), unless negative budgets are allowed;
* blocked never goes below zero, and never above what open tasks still estimate;
* expired + valid + blocked + used = booked, per package and in total;
* a refused booking writes nothing, and it is refused exactly when it wants more than the
  logging dialog shows as available (with that amount in the message);
* the bulk loader of the radar and the card's budget history agree with ``load_budget``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from deskapp.formatting import hours_label, today_berlin
from deskapp.services import budget, customers
from deskapp.services.errors import Conflict, InvalidInput
from deskapp.settings import Policy
from models.engine import read_session, write_session
from models.enums import TaskStatus
from models.tables import HourPackage, TimeEntry

POLICY = Policy()
SLOTS = 6  # tasks an example refers to by index

step = st.one_of(
    st.tuples(st.just("book"), st.integers(1, 3000), st.integers(0, 800)),
    st.tuples(st.just("task"), st.integers(0, 2000), st.none() | st.integers(0, 800)),
    st.tuples(st.just("log"), st.integers(1, 3000), st.none() | st.integers(0, SLOTS - 1)),
    st.tuples(st.just("edit"), st.integers(0, SLOTS - 1), st.integers(0, 2000), st.none() | st.integers(0, 800)),
    st.tuples(st.just("close"), st.integers(0, SLOTS - 1)),
    st.tuples(st.just("delete"), st.integers(0, SLOTS - 1)),
    st.tuples(st.just("wait"), st.integers(1, 400)),
)
PROPERTY_SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


class Run:
    def __init__(self, engine, people, now, policy):
        self.engine, self.people, self.now, self.policy = engine, people, now, policy
        with write_session(engine) as s:
            self.customer = customers.create_customer(
                s, people["sara"], name="Eigenschaft GmbH", credit_limit=Decimal("500"),
                now=now - dt.timedelta(days=1000),
            ).id
        self.tasks: list = []
        self.logged = 0

    @property
    def today(self) -> dt.date:
        return today_berlin(self.now)

    def write(self, fn):
        with write_session(self.engine) as s:
            return fn(s)

    def read(self, fn):
        with read_session(self.engine) as s:
            return fn(s)

    def _slot(self, index):
        return self.tasks[index % len(self.tasks)] if index is not None and self.tasks else None

    def _keep(self, view):
        self.tasks = [view if t.id == view.id else t for t in self.tasks]

    def apply(self, op) -> None:
        kind, *args = op
        agent, now, policy, cid = self.people["lena"], self.now, self.policy, self.customer
        if kind == "book":
            minutes, days_ago = args
            self.write(lambda s: budget.book_package(
                s, self.people["sara"], customer_id=cid, minutes=minutes, price=Decimal("10.00"),
                purchased_on=self.today - dt.timedelta(days=days_ago), now=now, policy=policy))
        elif kind == "task":
            estimate, offset = args
            deadline = None if offset is None else self.today + dt.timedelta(days=offset)
            self.tasks.append(self.write(lambda s: budget.create_task(
                s, agent, customer_id=cid, title="Aufgabe", estimate_minutes=estimate, deadline=deadline,
                now=now, policy=policy)))
        elif kind == "log":
            self._log(*args)
        elif kind == "edit":
            task = self._slot(args[0])
            if task is None or task.status != TaskStatus.OPEN:
                return
            deadline = task.deadline if args[2] is None else self.today + dt.timedelta(days=args[2])
            try:
                self._keep(self.write(lambda s: budget.update_task(
                    s, agent, task_id=task.id, version=task.version, title=task.title, estimate_minutes=args[1],
                    deadline=deadline, now=now, policy=policy)))
            except InvalidInput:
                assert deadline is not None and deadline < self.today and deadline != task.deadline
        elif kind == "close":
            task = self._slot(args[0])
            if task is None or task.status != TaskStatus.OPEN:
                return
            self._keep(self.write(lambda s: budget.close_task(s, agent, task_id=task.id, now=now, policy=policy)))
        elif kind == "delete":
            task = self._slot(args[0])
            if task is None or task.status == TaskStatus.DELETED:
                return
            self._keep(self.write(lambda s: budget.delete_task(
                s, agent, task_id=task.id, version=task.version, now=now, policy=policy)))
            # a stale version is refused and changes nothing
            try:
                self.write(lambda s: budget.delete_task(
                    s, agent, task_id=task.id, version=task.version, now=now, policy=policy))
            except (Conflict, InvalidInput):
                pass
            else:
                raise AssertionError("a task was deleted twice")
        elif kind == "wait":
            self.now += dt.timedelta(days=args[0])

    def _log(self, minutes, index) -> None:
        task = self._slot(index)
        if task is not None and task.status == TaskStatus.DELETED:
            return
        task_id = task.id if task else None
        shown = self.read(lambda s: budget.time_budget(s, self.customer, today=self.today, task_id=task_id))
        try:
            result = self.write(lambda s: budget.log_time(
                s, self.people["tom"], customer_id=self.customer, minutes=minutes, now=self.now, policy=self.policy,
                task_id=task_id))
        except InvalidInput as exc:
            event("time refused: over budget")
            assert not self.policy.allow_negative_budget
            assert minutes > shown.available_minutes
            assert hours_label(shown.available_minutes) in exc.message
            return
        assert self.policy.allow_negative_budget or minutes <= shown.available_minutes
        assert sum(part for _, part in result.bookings) == minutes
        event("time logged" + (" on a task" if task_id else ""))
        self.logged += minutes

    def check(self) -> None:
        cid, today = self.customer, self.today

        def state(s):
            b = budget.load_budget(s, cid, today)
            per_package = dict(
                s.execute(
                    select(HourPackage.id, func.coalesce(func.sum(TimeEntry.minutes), 0))
                    .outerjoin(TimeEntry, TimeEntry.package_id == HourPackage.id)
                    .where(HourPackage.customer_id == cid)
                    .group_by(HourPackage.id)
                ).all()
            )
            booked = dict(s.execute(select(HourPackage.id, HourPackage.minutes)
                                    .where(HourPackage.customer_id == cid)).all())
            total = s.execute(select(func.coalesce(func.sum(TimeEntry.minutes), 0))
                              .where(TimeEntry.customer_id == cid)).scalar_one()
            bulk = budget.load_budgets(s, [cid], today).get(cid)
            history = budget.budget_history(s, cid, today=today, months=1)
            open_tasks = budget.list_tasks(s, cid, policy=self.policy, include_done=False)
            return b, per_package, booked, int(total), bulk, history, open_tasks

        b, per_package, booked, total, bulk, history, open_tasks = self.read(state)
        # nothing logged is lost, nothing refused was written
        assert total == self.logged
        negative = self.policy.allow_negative_budget
        for pid, used in per_package.items():
            assert negative or used <= booked[pid]
        assert b.expired + b.valid + b.blocked + b.used == b.booked
        assert b.booked == sum(booked.values())
        assert b.blocked >= 0
        for p in b.packages:
            assert p.blocked >= 0
            assert p.used + p.blocked + p.remaining == p.booked
            if not negative:
                assert p.remaining >= 0 and p.used <= p.booked
        still_estimated = sum(
            max(0, t.estimate_minutes - t.logged_minutes) for t in open_tasks if t.deadline is not None
        )
        assert b.blocked <= still_estimated
        if b.packages:
            assert bulk == b
        else:
            assert bulk is None
        assert history[-1].minutes == sum(p.booked - p.used for p in b.packages if not p.expired)


def _run(engine, people, now, steps, policy):
    run = Run(engine, people, now, policy)
    run.check()
    for op in steps:
        run.apply(op)
        run.check()
    return run


@PROPERTY_SETTINGS
@given(steps=st.lists(step, max_size=14))
def test_budget_invariants_hold_after_every_step(engine, people, now, steps):
    _run(engine, people, now, steps, POLICY)


@PROPERTY_SETTINGS
@given(steps=st.lists(step, max_size=14))
def test_with_negative_budget_allowed_nothing_is_refused_and_the_sums_still_add_up(engine, people, now, steps):
    run = _run(engine, people, now, steps, dataclasses.replace(POLICY, allow_negative_budget=True))
    logs = [op for op in steps if op[0] == "log"]
    if not logs:
        return
    with read_session(engine) as s:
        total = s.execute(select(func.coalesce(func.sum(TimeEntry.minutes), 0))
                          .where(TimeEntry.customer_id == run.customer)).scalar_one()
    assert total == run.logged
