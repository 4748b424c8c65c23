"""The pure hour-budget arithmetic (deskapp.rules.budget): examples and properties."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deskapp.rules import budget as rules

D = dt.date


# --------------------------------------------------------------------------- calendar


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (D(2023, 1, 31), 1, D(2023, 2, 28)),  # clamped to the month's end
        (D(2024, 1, 31), 1, D(2024, 2, 29)),  # leap year
        (D(2024, 2, 29), 12, D(2025, 2, 28)),
        (D(2024, 2, 29), 48, D(2028, 2, 29)),
        (D(2023, 3, 8), 1, D(2023, 4, 8)),  # the proposal of the source document
        (D(2023, 8, 31), 2, D(2023, 10, 31)),
        (D(2023, 12, 15), 1, D(2024, 1, 15)),
    ],
)
def test_add_months_clamps_to_month_end(day, months, expected):
    assert rules.add_months(day, months) == expected


def test_package_is_valid_two_years_from_purchase():
    assert rules.validity_end(D(2021, 3, 8), 24) == D(2023, 3, 8)
    assert rules.validity_end(D(2024, 2, 29), 24) == D(2026, 2, 28)


# --------------------------------------------------------------------------- compute


def _pkg(pid, booked, used=0, purchased=D(2024, 1, 1), until=D(2026, 1, 1)):
    return rules.PackageState(id=pid, booked=booked, used=used, purchased_on=purchased, valid_until=until)


def test_remaining_of_ivo_moring():
    budget = rules.compute([_pkg(1, 3600, used=2175, until=D(2023, 3, 8), purchased=D(2021, 3, 8))], [], D(2023, 2, 20))
    assert budget.valid == 1425
    assert budget.next_expiry == D(2023, 3, 8)
    assert budget.days_left == 16


def test_open_task_blocks_estimate_in_package_valid_at_deadline():
    early = _pkg(1, 600, until=D(2025, 6, 30))
    late = _pkg(2, 600, until=D(2026, 6, 30))
    task = rules.OpenTask(id=1, estimate=300, deadline=D(2025, 12, 1))  # only `late` is valid then
    budget = rules.compute([early, late], [task], D(2025, 1, 1))
    by_id = {p.id: p for p in budget.packages}
    assert by_id[1].blocked == 0
    assert by_id[2].blocked == 300
    assert budget.valid == 900
    assert budget.blocked == 300


def test_blocked_budget_does_not_expire_with_its_package():
    pkg = _pkg(1, 600, used=100, until=D(2025, 3, 1))
    task = rules.OpenTask(id=1, estimate=200, deadline=D(2025, 2, 20))
    budget = rules.compute([pkg], [task], D(2025, 4, 1))  # after expiry
    assert budget.blocked == 200
    assert budget.expired == 300
    assert budget.valid == 0
    assert budget.next_expiry is None


def test_task_without_deadline_blocks_nothing():
    budget = rules.compute([_pkg(1, 600)], [rules.OpenTask(1, 300, None)], D(2025, 1, 1))
    assert budget.blocked == 0 and budget.valid == 600


def test_block_never_exceeds_what_is_left():
    budget = rules.compute([_pkg(1, 600, used=500)], [rules.OpenTask(1, 300, D(2025, 6, 1))], D(2025, 1, 1))
    assert budget.blocked == 100
    assert budget.valid == 0


def test_next_expiry_skips_used_up_packages():
    used_up = _pkg(1, 600, used=600, until=D(2025, 2, 1))
    later = _pkg(2, 600, until=D(2025, 9, 1))
    assert rules.compute([used_up, later], [], D(2025, 1, 1)).next_expiry == D(2025, 9, 1)


# --------------------------------------------------------------------------- draw


def test_draw_takes_the_package_expiring_first_first():
    budget = rules.compute(
        [_pkg(1, 600, until=D(2026, 1, 1)), _pkg(2, 120, until=D(2025, 6, 1))], [], D(2025, 1, 1)
    )
    assert rules.draw(budget, 200, allow_negative=False) == [(2, 120), (1, 80)]


def test_draw_ignores_expired_packages_and_refuses_with_available():
    budget = rules.compute(
        [_pkg(1, 600, until=D(2024, 12, 31)), _pkg(2, 90, until=D(2026, 1, 1))], [], D(2025, 1, 1)
    )
    with pytest.raises(rules.BudgetExceeded) as info:
        rules.draw(budget, 100, allow_negative=False)
    assert info.value.available == 90


def test_draw_overdraft_when_negative_allowed():
    budget = rules.compute([_pkg(1, 60)], [], D(2025, 1, 1))
    assert rules.draw(budget, 100, allow_negative=True) == [(1, 60), (1, 40)]
    nothing_valid = rules.compute([_pkg(1, 60, until=D(2024, 1, 1), purchased=D(2022, 1, 1))], [], D(2025, 1, 1))
    assert rules.draw(nothing_valid, 30, allow_negative=True) == [(None, 30)]


def test_draw_refuses_non_positive_minutes():
    budget = rules.compute([_pkg(1, 60)], [], D(2025, 1, 1))
    with pytest.raises(ValueError):
        rules.draw(budget, 0, allow_negative=False)


# --------------------------------------------------------------------------- workaround


@pytest.mark.parametrize(
    ("deadline", "flagged"),
    [
        (D(2023, 3, 8), True),  # on the expiry day
        (D(2023, 2, 22), True),  # exactly 14 days before
        (D(2023, 2, 21), False),  # 15 days before
        (D(2023, 3, 9), False),  # after the expiry
    ],
)
def test_deadline_on_expiry_window(deadline, flagged):
    hit = rules.deadline_on_expiry(deadline, [D(2024, 1, 1), D(2023, 3, 8)], 14)
    assert hit == (D(2023, 3, 8) if flagged else None)


# --------------------------------------------------------------------------- properties

BASE = D(2024, 1, 1)


@st.composite
def budgets(draw, *, consistent=True):
    n = draw(st.integers(min_value=0, max_value=5))
    packages = []
    for pid in range(1, n + 1):
        booked = draw(st.integers(min_value=1, max_value=6000))
        used = draw(st.integers(min_value=0, max_value=booked)) if consistent else 0
        start = BASE + dt.timedelta(days=draw(st.integers(min_value=0, max_value=900)))
        until = start + dt.timedelta(days=draw(st.integers(min_value=30, max_value=800)))
        packages.append(_pkg(pid, booked, used=used, purchased=start, until=until))
    tasks = [
        rules.OpenTask(
            id=tid,
            estimate=draw(st.integers(min_value=0, max_value=4000)),
            deadline=draw(st.none() | st.dates(min_value=BASE, max_value=BASE + dt.timedelta(days=2000))),
        )
        for tid in range(1, draw(st.integers(min_value=0, max_value=4)) + 1)
    ]
    today = draw(st.dates(min_value=BASE, max_value=BASE + dt.timedelta(days=2000)))
    return packages, tasks, today


@settings(max_examples=300, deadline=None)
@given(budgets())
def test_budget_parts_add_up_to_booked(case):
    packages, tasks, today = case
    budget = rules.compute(packages, tasks, today)
    assert budget.blocked >= 0
    assert budget.valid >= 0 and budget.expired >= 0
    assert budget.expired + budget.valid + budget.blocked + budget.used == budget.booked
    for p in budget.packages:
        assert p.blocked >= 0 and p.remaining >= 0
        assert p.used + p.blocked + p.remaining == p.booked
    # never more blocked than the open tasks' estimates with a deadline
    assert budget.blocked <= sum(t.estimate for t in tasks if t.deadline is not None)


def _apply(packages, plan):
    used = {p.id: p.used for p in packages}
    for pid, minutes in plan:
        if pid is not None:
            used[pid] += minutes
    return [rules.PackageState(p.id, p.booked, used[p.id], p.purchased_on, p.valid_until) for p in packages]


@settings(max_examples=300, deadline=None)
@given(budgets(), st.integers(min_value=1, max_value=20000))
def test_consumption_never_exceeds_booked_unless_negative_allowed(case, minutes):
    packages, tasks, today = case
    budget = rules.compute(packages, tasks, today)
    try:
        plan = rules.draw(budget, minutes, allow_negative=False)
    except rules.BudgetExceeded as exc:
        assert exc.available == budget.valid
        assert minutes > budget.valid
        return
    assert sum(m for _, m in plan) == minutes
    assert all(m > 0 for _, m in plan)
    after = rules.compute(_apply(packages, plan), tasks, today)
    for p in after.packages:
        assert p.used <= p.booked
        assert p.remaining >= 0
    # blocked budget is untouched by consumption
    assert after.blocked == budget.blocked
    assert after.valid == budget.valid - minutes
    # FIFO: every package drawn from, except the last, was emptied
    remaining = {p.id: p.remaining for p in budget.packages}
    for pid, m in plan[:-1]:
        assert m == remaining[pid]


@settings(max_examples=200, deadline=None)
@given(budgets(), st.integers(min_value=1, max_value=20000))
def test_negative_allowed_books_everything(case, minutes):
    packages, tasks, today = case
    plan = rules.draw(rules.compute(packages, tasks, today), minutes, allow_negative=True)
    assert sum(m for _, m in plan) == minutes
