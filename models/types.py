"""Column types that keep money exact and timestamps timezone-aware on every backend."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import BigInteger, DateTime
from sqlalchemy.types import TypeDecorator

CENT = Decimal("0.01")


class Money(TypeDecorator):
    """EUR amounts as ``Decimal`` in Python, whole cents (BIGINT) in the database.

    Integer cents are exact on SQLite, which has no decimal type of its own.
    """

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        amount = Decimal(value)
        cents = amount * 100
        if cents != cents.to_integral_value():
            raise ValueError(f"amount {value!r} is not cents-exact")
        return int(cents)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return (Decimal(int(value)) / 100).quantize(CENT)


class UTCDateTime(TypeDecorator):
    """Timezone-aware timestamps, stored as UTC.

    Naive datetimes are refused: the desk never guesses a timezone.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime refused; use an aware UTC timestamp")
        value = value.astimezone(dt.timezone.utc)
        if dialect.name == "sqlite":
            # SQLite keeps text; a fixed naive-UTC form sorts correctly.
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)
