"""Extension-request policy without a database: docs/rules.md#extension.

The rules (deskapp.rules.extension) and the form's live check (extensions.preview, which
takes no session) — the same check request_extension runs before it files anything.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from decimal import Decimal

import pytest

from deskapp.rules import extension as rules
from deskapp.services.extensions import ExtensionDraft, ExtensionTarget, NewPackage, preview
from deskapp.services.budget import PackageView, TaskView
from deskapp.settings import Policy

POLICY = Policy()
IVO = uuid.UUID("7bb56b00-4e1e-4e61-ad7d-88a75b3c22e6")
D = dt.date


# --------------------------------------------------------------------------- the new date


@pytest.mark.parametrize(
    ("valid_until", "day", "months", "expected"),
    [
        (D(2023, 3, 8), D(2023, 2, 20), 1, D(2023, 4, 8)),  # the template's example
        (D(2023, 3, 8), D(2023, 2, 20), 2, D(2023, 5, 8)),
        (D(2023, 1, 31), D(2023, 1, 10), 1, D(2023, 2, 28)),  # clamped to the month's end
        (D(2024, 1, 31), D(2024, 1, 10), 1, D(2024, 2, 29)),  # leap year
        (D(2023, 12, 31), D(2023, 12, 1), 2, D(2024, 2, 29)),
        (D(2023, 3, 8), D(2023, 3, 8), 1, D(2023, 4, 8)),  # expiring today: still from the validity
        # already expired: counts from the day of the decision, so it reaches into the future
        (D(2023, 3, 8), D(2023, 5, 31), 1, D(2023, 6, 30)),
        (D(2023, 3, 8), D(2023, 3, 9), 2, D(2023, 5, 9)),
    ],
)
def test_new_validity_is_max_of_validity_and_day_plus_calendar_months(valid_until, day, months, expected):
    assert rules.proposed_until(valid_until, day, months) == expected


@pytest.mark.parametrize("months", [1, 2])
def test_one_or_two_months_are_allowed(months):
    assert rules.months_error(months, POLICY) is None


@pytest.mark.parametrize("months", [3, 12])
def test_more_than_two_months_are_refused(months):
    assert rules.months_error(months, POLICY) == "Mehr als 2 Monate Verlängerung sind nicht erlaubt."


@pytest.mark.parametrize("months", [0, -1, 1.5, 1.0, "1", None, True, Decimal("1")])
def test_months_must_be_a_whole_number_within_bounds(months):
    assert rules.months_error(months, POLICY) == "Verlängert wird um ganze Monate: 1 bis 2."


def test_month_bounds_come_from_the_policy():
    wider = dataclasses.replace(POLICY, extension_max_months=3)
    assert rules.months_error(3, wider) is None
    assert rules.months_error(4, wider) == "Mehr als 3 Monate Verlängerung sind nicht erlaubt."


@pytest.mark.parametrize(("minutes", "needed"), [(0, True), (1199, True), (1200, False), (1201, False), (6000, False)])
def test_under_twenty_hours_needs_rebooking_exactly_twenty_does_not(minutes, needed):
    assert rules.needs_rebooking(minutes, POLICY) is needed


def test_rebooking_threshold_comes_from_the_policy():
    assert rules.needs_rebooking(1200, dataclasses.replace(POLICY, rebooking_threshold_minutes=1500))


# --------------------------------------------------------------------------- the admin-channel post


def test_admin_message_is_the_template_of_domain_md():
    message = rules.admin_message(
        addressee_name="Isabel", customer_name="Ivo Moring", customer_id=IVO, valid_until=D(2023, 3, 8),
        remaining_minutes=1425, task_ref="", proposal=D(2023, 4, 8), rebooking=False,
    )
    assert message == (
        "@Isabel Anfrage Budgetverlängerung\n"
        "Kunde: Ivo Moring: 7bb56b00-4e1e-4e61-ad7d-88a75b3c22e6\n"
        "Budget gültig bis: 08.03.23\n"
        "Restbudget: 23:45 Std\n"
        "Aufgabe: –\n"
        "Vorschlag: Verlängerung bis 08.04.23"
    )


def test_admin_message_with_rebooking_task_and_no_addressee():
    message = rules.admin_message(
        addressee_name=None, customer_name="Conny Albrecht", customer_id=IVO, valid_until=D(2024, 1, 31),
        remaining_minutes=605, task_ref="Nr. 7 Newsletter", proposal=D(2024, 2, 29), rebooking=True,
    )
    lines = message.splitlines()
    assert lines[0] == "Anfrage Budgetverlängerung"
    assert lines[3] == "Restbudget: 10:05 Std"
    assert lines[4] == "Aufgabe: Nr. 7 Newsletter"
    assert lines[5] == "Vorschlag: Verlängerung bis 29.02.24 (wenn Kunde nachgebucht hat)"


# --------------------------------------------------------------------------- the form's live check

TODAY = D(2026, 3, 10)


def _target(until: D, minutes: int, ids=(1,), expired=False) -> ExtensionTarget:
    return ExtensionTarget(valid_until=until, package_ids=tuple(ids), remaining_minutes=minutes, expired=expired,
                           label="")


def _package(pid: int, purchased: D) -> PackageView:
    return PackageView(id=pid, label="neu", purchased_on=purchased, valid_until=D(2028, 1, 1), booked_minutes=600,
                       used_minutes=0, blocked_minutes=0, remaining_minutes=600, expired=False, price=Decimal("990"))


def _draft(*targets, tasks=(), recent=(), addressee="Isabel") -> ExtensionDraft:
    return ExtensionDraft(
        customer_id=IVO, customer_name="Ivo Moring", customer_number="K-10001", targets=tuple(targets),
        open_tasks=tuple(tasks), recent_packages=tuple(recent), addressee_name=addressee,
        routing_note="an Isabel (Genehmigung)", today=TODAY,
    )


def _check(draft, **kw):
    args = dict(valid_until=None, months=1, task_id=None, rebooked_package_id=None, new_package=None, policy=POLICY)
    args.update(kw)
    return preview(draft, **args)


def test_preview_defaults_to_the_earliest_target_and_fills_the_template():
    draft = _draft(_target(D(2026, 3, 26), 1425), _target(D(2027, 1, 31), 3000, ids=(2, 3)))
    result = _check(draft)
    assert result.ok and not result.rebooking_needed
    assert result.proposal == D(2026, 4, 26)
    assert result.message.splitlines()[2] == "Budget gültig bis: 26.03.26"
    later = _check(draft, valid_until=D(2027, 1, 31), months=1)
    assert later.proposal == D(2027, 2, 28) and later.target.package_ids == (2, 3)


def test_preview_refuses_an_unknown_target_and_nothing_to_extend():
    assert _check(_draft(_target(D(2026, 3, 26), 1425)), valid_until=D(2026, 3, 27)).errors == {
        "target": "Der Kunde hat kein Restbudget mit Ablauf am 27.03.26."
    }
    empty = _check(_draft())
    assert empty.errors["target"] == "Der Kunde hat kein Restbudget, das verlängert werden könnte."
    assert empty.message == "" and empty.proposal is None


def test_preview_refuses_three_months_and_shows_no_proposal():
    result = _check(_draft(_target(D(2026, 3, 26), 1425)), months=3)
    assert result.errors == {"months": "Mehr als 2 Monate Verlängerung sind nicht erlaubt."}
    assert result.proposal is None and result.message == ""


def test_preview_expired_budget_counts_from_today():
    result = _check(_draft(_target(D(2026, 1, 31), 1500, expired=True)), months=2)
    assert result.ok and result.proposal == D(2026, 5, 10)


def test_preview_under_twenty_hours_asks_for_the_rebooking_first():
    draft = _draft(_target(D(2026, 3, 26), 1199), recent=[_package(9, D(2025, 12, 11))])
    result = _check(draft)
    assert result.rebooking_needed
    assert result.errors == {"rebooking": (
        "Restbudget unter 20:00 Std: der Kunde muss zuerst nachbuchen – neues Paket erfassen oder ein Paket "
        "wählen, das in den letzten 90 Tagen gekauft wurde."
    )}
    assert result.message.endswith("Verlängerung bis 26.04.26 (wenn Kunde nachgebucht hat)")
    picked = _check(draft, rebooked_package_id=9)
    assert picked.ok and picked.message.endswith("(wenn Kunde nachgebucht hat)")


def test_preview_exactly_twenty_hours_needs_no_rebooking():
    result = _check(_draft(_target(D(2026, 3, 26), 1200)))
    assert result.ok and not result.rebooking_needed
    assert "nachgebucht" not in result.message


def test_preview_a_package_not_bought_recently_is_no_rebooking():
    draft = _draft(_target(D(2026, 3, 26), 600), recent=[_package(9, D(2026, 3, 1))])
    result = _check(draft, rebooked_package_id=4)
    assert result.errors["rebooking"] == (
        "Paket 4 zählt nicht als Nachbuchung: es muss ein Paket dieses Kunden sein, gekauft in den letzten 90 Tagen."
    )


def test_preview_the_extended_package_cannot_be_its_own_rebooking():
    draft = _draft(_target(D(2026, 3, 26), 600, ids=(9,)), recent=[_package(9, D(2026, 3, 1))])
    assert _check(draft, rebooked_package_id=9).errors["rebooking"] == (
        "Das nachgebuchte Paket kann nicht selbst verlängert werden."
    )


@pytest.mark.parametrize(
    ("new", "message"),
    [
        (NewPackage(minutes=600, price=Decimal("990.00"), purchased_on=TODAY), None),
        (NewPackage(minutes=600, price=Decimal("990.00"), purchased_on=TODAY - dt.timedelta(days=90)), None),
        (NewPackage(minutes=0, price=Decimal("990.00"), purchased_on=TODAY),
         "Das neue Paket braucht eine ganze Zahl von Minuten größer als 0."),
        (NewPackage(minutes=600, price=Decimal("9.999"), purchased_on=TODAY),
         "Der Preis des neuen Pakets muss ein Betrag in Euro (höchstens zwei Nachkommastellen, nicht negativ) sein."),
        (NewPackage(minutes=600, price=Decimal("990"), purchased_on=TODAY + dt.timedelta(days=1)),
         "Das Kaufdatum des neuen Pakets muss zwischen 10.12.25 und heute liegen."),
        (NewPackage(minutes=600, price=Decimal("990"), purchased_on=TODAY - dt.timedelta(days=91)),
         "Das Kaufdatum des neuen Pakets muss zwischen 10.12.25 und heute liegen."),
    ],
)
def test_preview_checks_a_new_package_recorded_on_the_spot(new, message):
    result = _check(_draft(_target(D(2026, 3, 26), 600)), new_package=new)
    assert result.errors.get("rebooking") == message


def test_preview_refuses_both_a_new_and_a_picked_package():
    draft = _draft(_target(D(2026, 3, 26), 600), recent=[_package(9, D(2026, 3, 1))])
    result = _check(draft, rebooked_package_id=9,
                    new_package=NewPackage(minutes=600, price=Decimal("990"), purchased_on=TODAY))
    assert result.errors["rebooking"] == "Entweder ein neues Paket erfassen oder ein gekauftes wählen, nicht beides."


def test_preview_task_must_be_an_open_task_of_the_customer():
    task = TaskView(id=7, title="Shop-Relaunch", estimate_minutes=600, deadline=None, status="open", workaround=False)
    draft = _draft(_target(D(2026, 3, 26), 1425), tasks=[task])
    assert _check(draft, task_id=7).message.splitlines()[4] == "Aufgabe: Nr. 7 Shop-Relaunch"
    assert _check(draft, task_id=8).errors == {"task": "Aufgabe 8 ist keine offene Aufgabe dieses Kunden."}


def test_preview_without_addressee_has_no_at_line():
    result = _check(_draft(_target(D(2026, 3, 26), 1425), addressee=None))
    assert result.message.startswith("Anfrage Budgetverlängerung\nKunde: Ivo Moring: ")
