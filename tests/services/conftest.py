"""Fixtures of the service tests."""

from __future__ import annotations

import datetime as dt

import pytest

from deskapp.services import customers
from deskapp.settings import Policy
from models.engine import write_session


@pytest.fixture
def customer(engine, people, now):
    """Ivo Moring, a customer for 900 days, with the default credit limit."""
    with write_session(engine) as s:
        return customers.create_customer(
            s, people["sara"], name="Ivo Moring", email="ivo@moring.example",
            credit_limit=Policy().default_credit_limit, now=now - dt.timedelta(days=900),
        )
