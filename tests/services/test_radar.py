"""The budget radar, the budget over time and the bulk budget loader (SQLite and PostgreSQL)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest

from deskapp.formatting import today_berlin
from deskapp.rules.budget import add_months
from deskapp.services import budget, customers, radar
from deskapp.settings import Policy
from models.engine import read_session, write_session

POLICY = Policy()


class Desk:
    """Customers with packages that expire on chosen days (relative to ``now``)."""

    def __init__(self, engine, people, now):
        self.engine, self.people, self.now = engine, people, now
        self.today = today_berlin(now)
        self.ids = {}

    def customer(self, name: str):
        with write_session(self.engine) as s:
            c = customers.create_customer(s, self.people["sara"], name=name, credit_limit=Decimal("500"),
                                          now=self.now - dt.timedelta(days=1000))
        self.ids[name] = c.id
        return c.id

    def package(self, cid, *, expires_in: int, minutes: int, used: int = 0):
        expiry = self.today + dt.timedelta(days=expires_in)
        purchased = add_months(expiry, -POLICY.package_validity_months)
        assert purchased <= self.today
        with write_session(self.engine) as s:
            view = budget.book_package(s, self.people["sara"], customer_id=cid, minutes=minutes,
                                       price=Decimal("100.00"), purchased_on=purchased, now=self.now, policy=POLICY)
        assert view.valid_until == expiry
        if used:
            # logged while the package was still the first to expire
            at = self.now - dt.timedelta(days=max(0, -expires_in) + 30)
            with write_session(self.engine) as s:
                budget.log_time(s, self.people["tom"], customer_id=cid, minutes=used, now=at, policy=POLICY)
        return view

    def task(self, cid, *, deadline_in: int, estimate: int):
        with write_session(self.engine) as s:
            return budget.create_task(s, self.people["lena"], customer_id=cid, title="Aufgabe",
                                      estimate_minutes=estimate, deadline=self.today + dt.timedelta(days=deadline_in),
                                      now=self.now, policy=POLICY)

    def radar(self, horizon, **kw):
        with read_session(self.engine) as s:
            return radar.radar(s, today=self.today, horizon_days=horizon, policy=POLICY, **kw)

    def count(self, horizon):
        with read_session(self.engine) as s:
            return radar.radar_count(s, today=self.today, horizon_days=horizon, policy=POLICY)


@pytest.fixture
def desk(engine, people, now):
    d = Desk(engine, people, now)
    a = d.customer("Anna Bald")
    d.package(a, expires_in=20, minutes=300)
    b = d.customer("Bernd Mittel")
    d.package(b, expires_in=60, minutes=120)
    d.package(b, expires_in=400, minutes=600)
    c = d.customer("Carla Leer")  # the package soonest to expire is used up
    d.package(c, expires_in=10, minutes=60, used=60)
    d.package(c, expires_in=150, minutes=600)
    dd = d.customer("Dora Blockiert")  # everything that expires soon is blocked by an open task
    d.package(dd, expires_in=25, minutes=240)
    d.task(dd, deadline_in=5, estimate=240)
    e = d.customer("Emil Verfallen")  # one package expired with a remainder, one expiring later
    d.package(e, expires_in=-5, minutes=180)
    d.package(e, expires_in=100, minutes=60)
    f = d.customer("Frieda Heute")
    d.package(f, expires_in=0, minutes=90)
    d.customer("Gustav Ohne")  # no packages at all
    h = d.customer("Hanna Später")
    d.package(h, expires_in=300, minutes=600)
    return d


def names(rows):
    return [r.customer_name for r in rows]


def test_radar_lists_budget_expiring_within_the_horizon_by_date(desk):
    assert names(desk.radar(30)) == ["Frieda Heute", "Anna Bald"]
    assert names(desk.radar(90)) == ["Frieda Heute", "Anna Bald", "Bernd Mittel"]
    assert names(desk.radar(180)) == ["Frieda Heute", "Anna Bald", "Bernd Mittel", "Emil Verfallen", "Carla Leer"]
    assert [desk.count(h) for h in (30, 90, 180)] == [2, 3, 5]


def test_radar_rows_carry_what_the_agent_needs(desk):
    rows = {r.customer_name: r for r in desk.radar(180)}
    today = desk.today
    frieda = rows["Frieda Heute"]
    assert (frieda.next_expiry, frieda.days_left, frieda.expiring_minutes) == (today, 0, 90)
    bernd = rows["Bernd Mittel"]
    assert (bernd.days_left, bernd.expiring_minutes, bernd.horizon_minutes, bernd.valid_minutes) == (60, 120, 120, 720)
    # the used-up package does not count: Carla's next expiry is the one with budget left
    carla = rows["Carla Leer"]
    assert (carla.days_left, carla.expiring_minutes, carla.valid_minutes) == (150, 600, 600)
    emil = rows["Emil Verfallen"]
    assert (emil.days_left, emil.valid_minutes, emil.expired_minutes) == (100, 60, 180)
    assert emil.customer_number and emil.customer_id == desk.ids["Emil Verfallen"]


def test_blocked_budget_does_not_put_a_customer_on_the_radar(desk):
    assert "Dora Blockiert" not in names(desk.radar(180))
    # once the task's block is gone, the budget expires in 25 days
    with read_session(desk.engine) as s:
        [task] = budget.list_tasks(s, desk.ids["Dora Blockiert"], policy=POLICY)
    with write_session(desk.engine) as s:
        budget.delete_task(s, desk.people["lena"], task_id=task.id, version=task.version, now=desk.now, policy=POLICY)
    assert names(desk.radar(30)) == ["Frieda Heute", "Anna Bald", "Dora Blockiert"]


def test_radar_pages_by_key(desk):
    first = desk.radar(180, limit=2)
    second = desk.radar(180, limit=2, after=first[-1].key)
    third = desk.radar(180, limit=2, after=second[-1].key)
    assert names(first + second + third) == names(desk.radar(180))
    assert len(third) == 1
    assert desk.radar(180, limit=2, after=third[-1].key) == []


def test_horizons_come_from_the_policy():
    assert radar.horizons(POLICY) == (30, 90, 180)
    assert radar.horizons(dataclasses.replace(POLICY, radar_horizons_days="7 14")) == (7, 14)


def test_same_expiry_day_sorts_by_customer_number(engine, people, now):
    d = Desk(engine, people, now)
    for name in ("Zoe", "Adam", "Mia"):
        d.package(d.customer(name), expires_in=12, minutes=60)
    rows = d.radar(30)
    assert [r.customer_number for r in rows] == sorted(r.customer_number for r in rows)
    assert len(rows) == 3


# --------------------------------------------------------------------------- bulk loader


def test_bulk_budgets_equal_one_by_one(desk):
    with read_session(desk.engine) as s:
        ids = list(desk.ids.values())
        bulk = budget.load_budgets(s, ids, desk.today)
        for cid in ids:
            single = budget.load_budget(s, cid, desk.today)
            if single.packages:
                assert bulk[cid] == single
            else:
                assert cid not in bulk


# --------------------------------------------------------------------------- history


def test_budget_history_follows_purchases_time_and_expiry(engine, people, now):
    d = Desk(engine, people, now)
    cid = d.customer("Ivo Moring")
    today = d.today  # 10.03.2026
    with write_session(engine) as s:
        # bought 15.06.2025, valid until 15.06.2027
        budget.book_package(s, people["sara"], customer_id=cid, minutes=1200, price=Decimal("1900.00"),
                            purchased_on=dt.date(2025, 6, 15), now=now, policy=POLICY)
        # bought 20.04.2024, expires 20.04.2026; bought 01.01.2024, expired 01.01.2026
        budget.book_package(s, people["sara"], customer_id=cid, minutes=600, price=Decimal("950.00"),
                            purchased_on=dt.date(2024, 4, 20), now=now, policy=POLICY)
        budget.book_package(s, people["sara"], customer_id=cid, minutes=300, price=Decimal("500.00"),
                            purchased_on=dt.date(2024, 1, 1), now=now, policy=POLICY)
    # 23:30 UTC on 10.11.2025 is already 11.11. in Berlin: not yet in the 10.11. point
    late = dt.datetime(2025, 11, 10, 23, 30, tzinfo=dt.timezone.utc)
    with write_session(engine) as s:
        budget.log_time(s, people["tom"], customer_id=cid, minutes=100, now=late, policy=POLICY)
    with read_session(engine) as s:
        points = budget.budget_history(s, cid, today=today, months=12)
    assert [p.day for p in points][:2] == [dt.date(2025, 3, 10), dt.date(2025, 4, 10)]
    assert points[-1].day == today and len(points) == 13
    by_day = {p.day: p.minutes for p in points}
    assert by_day[dt.date(2025, 3, 10)] == 900  # the two older packages
    assert by_day[dt.date(2025, 6, 10)] == 900  # the new one is bought on the 15th
    assert by_day[dt.date(2025, 7, 10)] == 2100
    assert by_day[dt.date(2025, 10, 10)] == 2100
    assert by_day[dt.date(2025, 11, 10)] == 2100
    # the 100 minutes came out of the 01.01.2024 package (expiring first)
    assert by_day[dt.date(2025, 12, 10)] == 2000
    assert by_day[dt.date(2026, 1, 10)] == 1800  # 01.01.2026: the oldest package expired (200 left in it)
    assert by_day[today] == 1800
    with read_session(engine) as s:
        state = budget.load_budget(s, cid, today)
    assert by_day[today] == state.valid + state.blocked


def test_budget_history_without_packages_is_flat(engine, people, now):
    d = Desk(engine, people, now)
    cid = d.customer("Gustav Ohne")
    with read_session(engine) as s:
        points = budget.budget_history(s, cid, today=d.today, months=3)
    assert [p.minutes for p in points] == [0, 0, 0, 0]
