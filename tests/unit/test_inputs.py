"""What agents and the command line type (deskapp.rules.inputs): examples and properties.

Dates, euro amounts, durations, whole numbers. Each parser refuses with one exception
type, ``InputError`` (a ``ValueError``), carrying a German sentence.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from deskapp.formatting import date_de, hhmm
from deskapp.rules.inputs import (
    InputError,
    parse_date,
    parse_duration,
    parse_money,
    parse_package_hours,
    parse_whole_number,
)

NON_ASCII_DIGITS = ["١٢", "²", "１２", "१२", "٣١.٠٣.٢٦"]


def _is_sentence(message: str) -> bool:
    return bool(message) and (message[0].isupper() or message.startswith("„"))


# --------------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("07.03.26", dt.date(2026, 3, 7)),
        ("7.3.2026", dt.date(2026, 3, 7)),
        ("7.3.26", dt.date(2026, 3, 7)),
        (" 31.12.99 ", dt.date(2099, 12, 31)),
        ("29.02.28", dt.date(2028, 2, 29)),
    ],
)
def test_german_dates(text, day):
    assert parse_date(text) == day
    assert parse_date(text, allow_iso=True) == day


def test_german_dates_parse_strictly():
    # Moved from test_order_ui (screens.order_dialogs.parse_date_de).
    assert parse_date("07.03.26") == dt.date(2026, 3, 7)
    assert parse_date("7.3.2026") == dt.date(2026, 3, 7)
    for bad in ("31.02.26", "2026-03-07", "07.03", ""):
        with pytest.raises(ValueError):
            parse_date(bad)


@pytest.mark.parametrize(("text", "day"), [("2026-03-10", dt.date(2026, 3, 10)), ("2026-3-1", dt.date(2026, 3, 1))])
def test_iso_dates_only_where_allowed(text, day):
    assert parse_date(text, allow_iso=True) == day
    with pytest.raises(InputError, match="TT.MM.JJ"):
        parse_date(text)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "Bitte ein Datum eingeben"),
        (None, "Bitte ein Datum eingeben"),
        ("morgen", "„morgen“ ist kein Datum"),
        ("31.02.26", "Den 31.02.26 gibt es nicht"),
        ("1.13.26", "gibt es nicht"),
        ("07.03.026", "kein Datum"),
        ("07-03-26", "kein Datum"),
        ("07.03", "kein Datum"),
        *[(digits, "kein Datum") for digits in NON_ASCII_DIGITS],
    ],
)
def test_dates_refused_with_a_german_message(text, says):
    with pytest.raises(InputError) as info:
        parse_date(text, allow_iso=True)
    assert says in info.value.message


@given(st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2099, 12, 31)))
def test_what_the_desk_shows_reads_back_as_a_date(day):
    assert parse_date(date_de(day)) == day
    assert parse_date(day.strftime("%d.%m.%Y")) == day
    assert parse_date(f"{day.day}.{day.month}.{day.year}") == day
    assert parse_date(day.isoformat(), allow_iso=True) == day


DATE_SHAPE = re.compile(r"^[0-9]{1,2}\.[0-9]{1,2}\.(?:[0-9]{2}|[0-9]{4})$|^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}$")


@given(st.text(max_size=12), st.booleans())
def test_any_text_is_a_date_of_the_accepted_shape_or_refused(text, allow_iso):
    try:
        day = parse_date(text, allow_iso=allow_iso)
    except InputError as exc:
        assert _is_sentence(exc.message)
        return
    assert DATE_SHAPE.match(text.strip())
    assert isinstance(day, dt.date)


# --------------------------------------------------------------------------- money


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("12", "12.00"), ("12,5", "12.50"), ("12,50", "12.50"), ("12.50", "12.50"), (" 750 ", "750.00"),
        ("0,01", "0.01"), ("1900,00", "1900.00"), ("007", "7.00"), ("9999999.99", "9999999.99"),
    ],
)
def test_money(text, value):
    assert parse_money(text) == Decimal(value)
    assert parse_money(text).as_tuple().exponent == -2  # cents-exact


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "Bitte einen Betrag"),
        (None, "Bitte einen Betrag"),
        ("-1", "nicht negativ"),
        ("-0", "nicht negativ"),
        ("1.234", "zwei Nachkommastellen"),
        ("1.000", "zwei Nachkommastellen"),  # a thousand or one euro? refused rather than guessed
        ("12.500", "zwei Nachkommastellen"),
        ("1.000,00", "kein Euro-Betrag"),
        ("12.5.0", "kein Euro-Betrag"),
        ("1e2", "kein Euro-Betrag"),
        ("nan", "kein Euro-Betrag"),
        ("inf", "kein Euro-Betrag"),
        ("+5", "kein Euro-Betrag"),
        ("1_000", "kein Euro-Betrag"),
        ("12 €", "kein Euro-Betrag"),
        ("abc", "kein Euro-Betrag"),
        ("0", "größer als 0,00"),
        ("0,00", "größer als 0,00"),
        *[(digits, "kein Euro-Betrag") for digits in NON_ASCII_DIGITS],
    ],
)
def test_money_refused_with_a_german_message(text, says):
    with pytest.raises(InputError) as info:
        parse_money(text)
    assert says in info.value.message


def test_zero_money_where_allowed():
    assert parse_money("0", allow_zero=True) == Decimal("0.00")
    assert parse_money("0,00", allow_zero=True) == Decimal("0.00")
    with pytest.raises(InputError, match="negativ"):
        parse_money("-0", allow_zero=True)


@given(st.integers(min_value=1, max_value=10**12), st.sampled_from([",", "."]))
def test_cents_read_back_exactly(cents, separator):
    euros, rest = divmod(cents, 100)
    assert parse_money(f"{euros}{separator}{rest:02d}") == Decimal(cents) / 100


@given(st.text(max_size=14), st.booleans())
def test_any_text_is_an_amount_of_the_accepted_shape_or_refused(text, allow_zero):
    try:
        value = parse_money(text, allow_zero=allow_zero)
    except InputError as exc:
        assert _is_sentence(exc.message)
        return
    assert re.fullmatch(r"[0-9]+(?:[.,][0-9]{0,2})?", text.strip())
    assert value.as_tuple().exponent == -2
    assert value > 0 or (allow_zero and value == 0)


# --------------------------------------------------------------------------- durations
# (moved from test_timeinput: parse_minutes is parse_duration, parse_hours parse_package_hours)


@pytest.mark.parametrize(
    ("text", "minutes"),
    [("1:30", 90), ("01:30", 90), ("90", 90), ("0:45", 45), (" 2:05 ", 125), ("23:45", 1425), ("120:00", 7200)],
)
def test_accepted(text, minutes):
    assert parse_duration(text) == minutes


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("1:75", "Minuten von 00 bis 59"),
        ("-0:10", "nicht negativ"),
        ("-5", "nicht negativ"),
        ("abc", "keine Zeit"),
        ("1:5", "keine Zeit"),  # 1:05 or 1:50? refused rather than guessed
        ("1,5", "keine Zeit"),
        ("1:30:00", "keine Zeit"),
        ("", "Bitte eine Zeit eingeben"),
        ("   ", "Bitte eine Zeit eingeben"),
        (None, "Bitte eine Zeit eingeben"),
        ("0:00", "größer als 0:00"),
        ("0", "größer als 0:00"),
        ("١٢", "keine Zeit"),  # Arabic-Indic digits are digits to str.isdigit, not to us
    ],
)
def test_refused_with_a_german_message(text, says):
    with pytest.raises(ValueError) as info:
        parse_duration(text)
    assert says in str(info.value)


def test_zero_is_fine_where_allowed():
    assert parse_duration("0:00", allow_zero=True) == 0
    assert parse_duration("0", allow_zero=True) == 0
    with pytest.raises(ValueError):
        parse_duration("-0:00", allow_zero=True)


def test_package_sizes_count_bare_numbers_as_hours():
    assert parse_package_hours("40") == 2400
    assert parse_package_hours("12:30") == 750
    assert parse_package_hours(" 20:00 ") == 1200  # the extension form's examples
    assert parse_package_hours("7:30") == 450
    with pytest.raises(ValueError, match="ganze Stunden"):
        parse_package_hours("40h")
    with pytest.raises(ValueError, match="größer als 0:00"):
        parse_package_hours("0")
    for digits in NON_ASCII_DIGITS:
        with pytest.raises(InputError, match="keine Zeit"):
            parse_package_hours(digits)


@given(st.integers(min_value=1, max_value=9999 * 60 + 59))
def test_what_the_desk_shows_reads_back(minutes):
    assert parse_duration(hhmm(minutes)) == minutes
    assert parse_package_hours(hhmm(minutes)) == minutes


@given(st.integers(min_value=1, max_value=999_999))
def test_bare_whole_minutes(minutes):
    assert parse_duration(str(minutes)) == minutes
    assert parse_duration(f"  {minutes}\t") == minutes
    assert parse_package_hours(str(minutes)) == minutes * 60


@given(st.integers(min_value=0, max_value=9999), st.integers(min_value=60, max_value=99))
def test_minute_part_over_59_is_refused(hours, minutes):
    with pytest.raises(ValueError, match="00 bis 59"):
        parse_duration(f"{hours}:{minutes:02d}")


@given(st.integers(min_value=0, max_value=9999), st.integers(min_value=0, max_value=59))
def test_negative_times_are_refused(hours, minutes):
    with pytest.raises(ValueError, match="negativ"):
        parse_duration(f"-{hours}:{minutes:02d}", allow_zero=True)


SHAPE = re.compile(r"^[0-9]{1,4}:[0-5][0-9]$|^[0-9]{1,6}$")


@given(st.text(max_size=12), st.booleans())
def test_any_text_is_a_time_of_the_accepted_shape_or_refused(text, allow_zero):
    try:
        minutes = parse_duration(text, allow_zero=allow_zero)
    except ValueError as exc:
        message = str(exc)
        assert message and message[0].isupper() or message.startswith("„")  # a sentence, not a traceback
        return
    assert SHAPE.match(text.strip())
    assert isinstance(minutes, int)
    assert minutes > 0 or (allow_zero and minutes == 0)


@given(st.text(max_size=12))
def test_any_text_is_a_package_size_or_refused(text):
    try:
        minutes = parse_package_hours(text)
    except InputError as exc:
        assert _is_sentence(exc.message)
        return
    assert SHAPE.match(text.strip())
    assert minutes > 0


# --------------------------------------------------------------------------- whole numbers


def test_whole_numbers():
    assert parse_whole_number("42") == 42
    assert parse_whole_number(" 7 ") == 7
    assert parse_whole_number("0") == 0
    for bad in ("", None, "-1", "4.2", "x", "1e3", *NON_ASCII_DIGITS):
        with pytest.raises(InputError, match="keine ganze Zahl"):
            parse_whole_number(bad)


@given(st.text(max_size=8))
def test_any_text_is_a_whole_number_or_refused(text):
    try:
        number = parse_whole_number(text)
    except InputError:
        return
    assert re.fullmatch(r"[0-9]+", text.strip()) and number >= 0
