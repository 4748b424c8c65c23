"""Durations as agents type them (deskapp.rules.timeinput): examples and properties."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from deskapp.formatting import hhmm
from deskapp.rules.timeinput import parse_hours, parse_minutes


@pytest.mark.parametrize(
    ("text", "minutes"),
    [("1:30", 90), ("01:30", 90), ("90", 90), ("0:45", 45), (" 2:05 ", 125), ("23:45", 1425), ("120:00", 7200)],
)
def test_accepted(text, minutes):
    assert parse_minutes(text) == minutes


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
        parse_minutes(text)
    assert says in str(info.value)


def test_zero_is_fine_where_allowed():
    assert parse_minutes("0:00", allow_zero=True) == 0
    assert parse_minutes("0", allow_zero=True) == 0
    with pytest.raises(ValueError):
        parse_minutes("-0:00", allow_zero=True)


def test_package_sizes_count_bare_numbers_as_hours():
    assert parse_hours("40") == 2400
    assert parse_hours("12:30") == 750
    with pytest.raises(ValueError, match="ganze Stunden"):
        parse_hours("40h")
    with pytest.raises(ValueError, match="größer als 0:00"):
        parse_hours("0")


@given(st.integers(min_value=1, max_value=9999 * 60 + 59))
def test_what_the_desk_shows_reads_back(minutes):
    assert parse_minutes(hhmm(minutes)) == minutes


@given(st.integers(min_value=1, max_value=999_999))
def test_bare_whole_minutes(minutes):
    assert parse_minutes(str(minutes)) == minutes
    assert parse_minutes(f"  {minutes}\t") == minutes


@given(st.integers(min_value=0, max_value=9999), st.integers(min_value=60, max_value=99))
def test_minute_part_over_59_is_refused(hours, minutes):
    with pytest.raises(ValueError, match="00 bis 59"):
        parse_minutes(f"{hours}:{minutes:02d}")


@given(st.integers(min_value=0, max_value=9999), st.integers(min_value=0, max_value=59))
def test_negative_times_are_refused(hours, minutes):
    with pytest.raises(ValueError, match="negativ"):
        parse_minutes(f"-{hours}:{minutes:02d}", allow_zero=True)


SHAPE = re.compile(r"^[0-9]{1,4}:[0-5][0-9]$|^[0-9]{1,6}$")


@given(st.text(max_size=12), st.booleans())
def test_any_text_is_a_time_of_the_accepted_shape_or_refused(text, allow_zero):
    try:
        minutes = parse_minutes(text, allow_zero=allow_zero)
    except ValueError as exc:
        message = str(exc)
        assert message and message[0].isupper() or message.startswith("„")  # a sentence, not a traceback
        return
    assert SHAPE.match(text.strip())
    assert isinstance(minutes, int)
    assert minutes > 0 or (allow_zero and minutes == 0)
