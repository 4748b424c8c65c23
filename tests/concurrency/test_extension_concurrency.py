"""A request is decided once, also when two approvers press at the same moment.

(a) two connections whose write transactions really overlap (threads): the second waits
    for the first and is told who decided;
(b) two OS processes ("spawn", each with its own engine) racing on the same requests,
    round after round: exactly one decision per request, never two extensions.

SQLite runs on a file (WAL, ``BEGIN IMMEDIATE``), PostgreSQL in a schema of its own.
"""

from __future__ import annotations

import datetime as dt
import traceback
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from deskapp.rules.budget import add_months
from deskapp.services import agents, budget, customers, extensions
from deskapp.services.errors import Conflict
from deskapp.settings import Policy
from models.engine import make_engine, read_session, write_session
from models.tables import (
    AuditLog,
    CustomerFileEntry,
    ExtensionRequest,
    HourPackage,
    MessageLogEntry,
    OutgoingMail,
)
from tests.support.race import overlapping_writes, race, winners_by_id

POLICY = Policy()
NOW = dt.datetime(2026, 3, 10, 8, 30, tzinfo=dt.timezone.utc)
TODAY = dt.date(2026, 3, 10)
UNTIL = dt.date(2026, 3, 26)
ROUNDS = 8


def _requests(engine, people, count: int) -> list[int]:
    """``count`` customers with 30 h left expiring 26.03.26, each with a waiting request by tom.

    Isabel is recorded absent today, so both she (the approver) and Rebekka (the deputy)
    may decide — the two who could really press at the same moment.
    """
    ids = []
    with write_session(engine) as s:
        agents.record_absence(s, people["isabel"], agent_id=people["isabel"].id, first_day=TODAY, last_day=TODAY,
                              reason="sick", now=NOW)
        for i in range(count):
            c = customers.create_customer(s, people["sara"], name=f"Kunde {i}", credit_limit=Decimal("500"), now=NOW,
                                          email=f"k{i}@example.de")
            budget.book_package(s, people["sara"], customer_id=c.id, minutes=1800, price=Decimal("1500.00"),
                                purchased_on=add_months(UNTIL, -POLICY.package_validity_months), now=NOW,
                                policy=POLICY)
            ids.append(extensions.request_extension(
                s, people["tom"], customer_id=c.id, valid_until=None, months=1, now=NOW, policy=POLICY,
            ).request_id)
    return ids


def _effects(engine) -> dict:
    with read_session(engine) as s:
        def count(table, *where):
            return int(s.execute(select(func.count()).select_from(table).where(*where)).scalar_one())

        return {
            "extended": count(HourPackage, HourPackage.valid_until != UNTIL),
            "package_versions": sorted(set(s.execute(select(HourPackage.version)).scalars())),
            "file": count(CustomerFileEntry),
            "messages": count(MessageLogEntry),
            "mails": count(OutgoingMail),
            "decisions": count(AuditLog, AuditLog.action.in_(("extension.approve", "extension.reject"))),
        }


# --------------------------------------------------------------------------- (a) two connections


def test_overlapping_decisions_let_only_one_decide(db_url, engine, people):
    """Isabel's approval has not committed yet when Rebekka's rejection starts."""
    [request_id] = _requests(engine, people, 1)
    outcome = overlapping_writes(
        db_url,
        lambda s: extensions.decide(s, people["isabel"], request_id=request_id, approve=True, now=NOW,
                                    policy=POLICY),
        lambda s: extensions.decide(s, people["rebekka"], request_id=request_id, approve=False, reason="Nein",
                                    now=NOW, policy=POLICY),
    )
    assert isinstance(outcome, Conflict), outcome
    assert "ist schon entschieden von isabel (genehmigt am" in outcome.message
    with read_session(engine) as s:
        req = s.get(ExtensionRequest, request_id)
        assert (req.status, req.decided_by_id, req.reason) == ("approved", people["isabel"].id, "")
    assert _effects(engine) == {
        "extended": 1, "package_versions": [2], "file": 1, "messages": 1, "mails": 1, "decisions": 1,
    }


# --------------------------------------------------------------------------- (b) processes racing


def _decider(url: str, login: str, approve: bool, request_ids: list[int], barrier, results) -> None:
    """Runs in a spawned process: for every request, wait for the other, then decide."""
    outcomes: list[tuple[int, str]] = []
    try:
        engine = make_engine(url)
        with read_session(engine) as s:
            actor = agents.by_login(s, login)
        for request_id in request_ids:
            barrier.wait(30)
            try:
                with write_session(engine) as s:
                    extensions.decide(s, actor, request_id=request_id, approve=approve, reason="Zu spät",
                                      now=NOW, policy=POLICY)
                outcomes.append((request_id, "won"))
            except Conflict as exc:
                outcomes.append((request_id, "conflict: " + exc.message))
            except Exception as exc:  # "database is locked", deadlocks and friends end up here
                outcomes.append((request_id, f"error: {exc!r}"))
        engine.dispose()
    except Exception:
        outcomes.append((-1, "error: " + traceback.format_exc()))
        barrier.abort()
    results.put((login, outcomes))


@pytest.mark.slow
def test_two_processes_deciding_at_the_same_moment_decide_once(db_url, engine, people):
    ids = _requests(engine, people, ROUNDS)
    collected = dict(race(_decider, [(db_url, "isabel", True, ids), (db_url, "rebekka", False, ids)]))

    errors = [(login, o) for login, outs in collected.items() for o in outs if o[1].startswith("error")]
    assert errors == []
    winners = winners_by_id(collected, ids)
    for outs in collected.values():
        for _, what in outs:
            if what != "won":
                assert "schon entschieden von" in what
    assert all(len(w) == 1 for w in winners.values()), winners

    with read_session(engine) as s:
        reqs = {
            r.id: (r.status, r.decided_by_id, r.version)
            for r in s.execute(select(ExtensionRequest.id, ExtensionRequest.status, ExtensionRequest.decided_by_id,
                                      ExtensionRequest.version))
        }
    login_of = {people[x].id: x for x in ("isabel", "rebekka")}
    approved = [rid for rid in ids if winners[rid] == ["isabel"]]
    for rid in ids:
        status, decided_by, version = reqs[rid]
        assert status == ("approved" if winners[rid] == ["isabel"] else "rejected")
        assert login_of[decided_by] == winners[rid][0] and version == 2
    effects = _effects(engine)
    assert effects["extended"] == len(approved) and effects["messages"] == len(approved)
    assert effects["file"] == len(ids) and effects["decisions"] == len(ids)
    assert set(effects["package_versions"]) <= {1, 2}
