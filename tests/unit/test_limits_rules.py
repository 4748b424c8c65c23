"""The pure credit-limit rules: conspicuous reasons and working-time age (no database)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import pendulum
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deskapp import texts
from deskapp.rules import limits
from deskapp.settings import Policy

POLICY = Policy()
BERLIN = pendulum.timezone("Europe/Berlin")
OFFICE = dict(start_hour=POLICY.working_day_start_hour, end_hour=POLICY.working_day_end_hour)


def berlin(y, m, d, h=0, minute=0) -> dt.datetime:
    """A Berlin wall-clock moment as an aware UTC datetime (how the database keeps it)."""
    local = pendulum.datetime(y, m, d, h, minute, tz=BERLIN)
    return dt.datetime.fromtimestamp(local.timestamp(), tz=dt.timezone.utc)


def reasons(over="0.00", limit="500.00", recent=1, age_days=400, policy=POLICY):
    return limits.conspicuous_reasons(
        over=Decimal(over), limit=Decimal(limit), recent_orders=recent,
        customer_age=dt.timedelta(days=age_days), policy=policy,
    )


# --------------------------------------------------------------------------- conspicuous


def test_an_ordinary_held_order_is_not_conspicuous():
    assert reasons(over="25.50") == ()


def test_over_the_limit_by_more_than_half_the_limit():
    assert reasons(over="250.00") == ()  # exactly 50 % is not "more than"
    assert reasons(over="250.01") == (limits.OVER_LIMIT,)
    assert reasons(over="0.01", limit="0.00") == (limits.OVER_LIMIT,)  # any amount over a zero limit


def test_more_than_n_orders_in_the_window():
    assert reasons(recent=10) == ()
    assert reasons(recent=11) == (limits.MANY_ORDERS,)


def test_young_customer():
    assert reasons(age_days=30) == ()
    assert reasons(age_days=29) == (limits.YOUNG_CUSTOMER,)
    assert limits.conspicuous_reasons(
        over=Decimal("1"), limit=Decimal("500"), recent_orders=1,
        customer_age=dt.timedelta(days=29, hours=23), policy=POLICY,
    ) == (limits.YOUNG_CUSTOMER,)


def test_all_rules_fire_in_domain_order():
    assert reasons(over="900.00", recent=12, age_days=1) == limits.REASON_CODES


def test_thresholds_are_policy_settings():
    strict = dataclasses.replace(
        POLICY, conspicuous_over_limit_percent=5, conspicuous_orders_count=2, conspicuous_customer_age_days=500
    )
    assert reasons(over="25.01", recent=3, age_days=400, policy=strict) == limits.REASON_CODES


def test_every_reason_code_has_a_german_sentence():
    assert set(texts.CONSPICUOUS_REASON) == set(limits.REASON_CODES)


@given(
    over=st.decimals(min_value=0, max_value=10_000, places=2),
    limit=st.decimals(min_value=0, max_value=10_000, places=2),
    recent=st.integers(min_value=0, max_value=100),
    age=st.integers(min_value=0, max_value=3000),
)
def test_each_code_fires_exactly_when_its_rule_does(over, limit, recent, age):
    codes = limits.conspicuous_reasons(
        over=over, limit=limit, recent_orders=recent, customer_age=dt.timedelta(days=age), policy=POLICY
    )
    assert (limits.OVER_LIMIT in codes) == (over > (limit / 2).quantize(Decimal("0.01")))
    assert (limits.MANY_ORDERS in codes) == (recent > 10)
    assert (limits.YOUNG_CUSTOMER in codes) == (age < 30)


# --------------------------------------------------------------------------- working time


def wm(start, end):
    return limits.working_minutes_between(start, end, **OFFICE)


def test_within_one_working_day():
    # Tuesday 10 March 2026
    assert wm(berlin(2026, 3, 10, 9, 30), berlin(2026, 3, 10, 13, 30)) == 240


def test_before_and_after_office_hours_do_not_count():
    assert wm(berlin(2026, 3, 10, 6), berlin(2026, 3, 10, 8)) == 0
    assert wm(berlin(2026, 3, 10, 18), berlin(2026, 3, 10, 23, 59)) == 0
    assert wm(berlin(2026, 3, 10, 7), berlin(2026, 3, 10, 20)) == 600


def test_evening_to_next_morning():
    # Tuesday 17:00 → Wednesday 10:00: one hour on Tuesday, two on Wednesday
    assert wm(berlin(2026, 3, 10, 17), berlin(2026, 3, 11, 10)) == 180


def test_weekends_do_not_count():
    # Friday 16:00 → Monday 09:00: two hours on Friday, one on Monday
    assert wm(berlin(2026, 3, 13, 16), berlin(2026, 3, 16, 9)) == 180
    assert wm(berlin(2026, 3, 14, 8), berlin(2026, 3, 15, 18)) == 0  # Saturday and Sunday


def test_a_full_week_is_five_working_days():
    assert wm(berlin(2026, 3, 9), berlin(2026, 3, 16)) == 5 * 600


def test_dst_change_keeps_office_hours_on_the_wall_clock():
    # Summer time starts Sunday 29 March 2026. Friday 17:00 CET → Monday 09:00 CEST
    # is 64 hours on the clock, but one office hour on each side.
    assert wm(berlin(2026, 3, 27, 17), berlin(2026, 3, 30, 9)) == 120
    # and back to winter time on Sunday 25 October 2026
    assert wm(berlin(2026, 10, 23, 17), berlin(2026, 10, 26, 9)) == 120
    # Monday after the change: 08:00 CEST is 06:00 UTC
    monday_8 = dt.datetime(2026, 3, 30, 6, tzinfo=dt.timezone.utc)
    assert wm(monday_8, monday_8 + dt.timedelta(hours=1)) == 60
    assert wm(monday_8 - dt.timedelta(hours=1), monday_8) == 0


def test_end_before_start_is_zero():
    assert wm(berlin(2026, 3, 10, 12), berlin(2026, 3, 10, 10)) == 0


def test_a_whole_day_window():
    # With 0–24 the DST Sunday would have 23 hours, but weekends never count; Monday has 24.
    assert limits.working_minutes_between(
        berlin(2026, 3, 28), berlin(2026, 3, 31), start_hour=0, end_hour=24
    ) == 24 * 60


def test_bad_office_hours_are_refused():
    with pytest.raises(ValueError):
        limits.working_minutes_between(berlin(2026, 3, 10), berlin(2026, 3, 11), start_hour=18, end_hour=8)


moments = st.datetimes(
    min_value=dt.datetime(2025, 1, 1), max_value=dt.datetime(2027, 12, 31), timezones=st.just(dt.timezone.utc)
)


@settings(max_examples=60, deadline=None)
@given(a=moments, b=moments, c=moments)
def test_working_time_adds_up_and_is_bounded(a, b, c):
    a, b, c = sorted((a, b, c))
    ab, bc, ac = wm(a, b), wm(b, c), wm(a, c)
    assert ab >= 0
    # additive up to the whole-minute rounding of the parts
    assert ab + bc <= ac <= ab + bc + 1
    # never more than the office hours of the calendar days touched
    days = (c.date() - a.date()).days + 2
    assert ac <= days * 600
    # never more than the wall-clock time
    assert ac <= (c - a).total_seconds() / 60


@settings(max_examples=100, deadline=None)
@given(start=moments, hours=st.integers(min_value=0, max_value=24 * 14))
def test_weekend_moments_add_nothing(start, hours):
    end = start + dt.timedelta(hours=hours)
    local_end = pendulum.instance(end).in_timezone(BERLIN)
    if local_end.weekday() >= 5:
        # moving the end within the weekend changes nothing
        sat_start = local_end.start_of("day").subtract(days=local_end.weekday() - 5)
        assert wm(start, end) == wm(start, max(start, sat_start))


# --------------------------------------------------------------------------- overdue


def test_overdue_after_four_working_hours():
    placed = berlin(2026, 3, 10, 9)
    assert not limits.is_overdue(placed, berlin(2026, 3, 10, 13), POLICY)  # exactly 4 h: not yet
    assert limits.is_overdue(placed, berlin(2026, 3, 10, 13, 1), POLICY)


def test_a_friday_evening_order_is_not_overdue_on_monday_morning():
    placed = berlin(2026, 3, 13, 17, 30)  # 30 working minutes on Friday
    assert not limits.is_overdue(placed, berlin(2026, 3, 16, 11, 30), POLICY)  # + 3.5 h = 4 h
    assert limits.is_overdue(placed, berlin(2026, 3, 16, 11, 31), POLICY)


def test_overdue_threshold_and_office_hours_are_settings():
    quick = dataclasses.replace(POLICY, held_order_overdue_working_hours=1, working_day_start_hour=6)
    placed = berlin(2026, 3, 10, 6)
    assert not limits.is_overdue(placed, berlin(2026, 3, 10, 6, 59), POLICY)
    assert limits.is_overdue(placed, berlin(2026, 3, 10, 7, 1), quick)


def test_a_very_old_order_is_overdue_quickly():
    assert limits.is_overdue(berlin(2016, 1, 4, 9), berlin(2026, 3, 10, 9), POLICY)


@settings(max_examples=100, deadline=None)
@given(a=moments, b=moments)
def test_overdue_agrees_with_working_minutes(a, b):
    a, b = sorted((a, b))
    exact = limits._working_seconds(a, b, **OFFICE)
    assert limits.is_overdue(a, b, POLICY) == (exact > POLICY.held_order_overdue_working_hours * 3600)


@pytest.mark.parametrize("hours", [0, 4, 30])
def test_overdue_cutoff_agrees_with_is_overdue_around_every_office_hour_edge(hours):
    """The SQL filter's instant (docs/rules.md#held-overdue): overdue exactly when created
    before it — around the cutoff itself and across nights, weekends and a DST change."""
    policy = POLICY.with_overrides({"held_order_overdue_working_hours": str(hours)})
    start = berlin(2026, 3, 23, 0)  # the week before the change to summer time
    for step in range(0, 14 * 24 * 4):  # every quarter hour for two weeks
        now = start + dt.timedelta(minutes=15 * step)
        cutoff = limits.overdue_cutoff(now, policy)
        for created in (cutoff - dt.timedelta(seconds=1), cutoff, cutoff + dt.timedelta(seconds=1),
                        now - dt.timedelta(hours=17), now - dt.timedelta(days=3)):
            assert limits.is_overdue(created, now, policy) == (created < cutoff), (now, created, cutoff)
