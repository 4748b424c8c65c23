"""Agents' saved views (docs/rules.md#saved-views) on SQLite and PostgreSQL: per agent,
live counts, rename, delete, refusals, audit."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from deskapp.services import tickets, views
from deskapp.services.errors import InvalidInput, NotFound
from models.engine import read_session, write_session
from models.enums import Priority, Queue
from models.tables import AuditLog


def _views(engine, actor, counts=True):
    with read_session(engine) as s:
        return views.list_views(s, actor, counts=counts)


def test_save_list_with_live_counts_rename_delete_and_audit(engine, people, now):
    tom, lena = people["tom"], people["lena"]
    with write_session(engine) as s:
        tickets.open_ticket(s, tom, queue=Queue.TECHNICAL, subject="Server down", priority=Priority.HIGH, now=now)
        tickets.open_ticket(s, tom, queue=Queue.SUPPORT, subject="Server langsam", now=now)
        views.save_view(s, tom, name="Dringend Technik", query="queue:technik prio:hoch", now=now)
        views.save_view(s, tom, name="Server", query="server", now=now)
    assert [(v.name, v.count) for v in _views(engine, tom)] == [("Dringend Technik", 1), ("Server", 2)]
    assert _views(engine, lena) == ()  # nobody else sees them
    with write_session(engine) as s:  # live: a new ticket counts at once
        tickets.open_ticket(s, tom, queue=Queue.TECHNICAL, subject="Server brennt", priority=Priority.HIGH, now=now)
    assert [v.count for v in _views(engine, tom)] == [2, 3]
    with write_session(engine) as s:
        views.rename_view(s, tom, name="Server", new_name="Alle Server", now=now)
        views.delete_view(s, tom, name="Dringend Technik", now=now)
    assert [v.name for v in _views(engine, tom)] == ["Alle Server"]
    with read_session(engine) as s:
        actions = s.execute(select(AuditLog.action).where(AuditLog.entity == "saved_view")).scalars().all()
    assert actions == ["view.save", "view.save", "view.rename", "view.delete"]


def test_saving_under_an_existing_name_replaces_its_filter(engine, people, now):
    tom = people["tom"]
    with write_session(engine) as s:
        views.save_view(s, tom, name="Meins", query="agent:tom", now=now)
        views.save_view(s, tom, name="Meins", query="agent:tom status:alle", now=now)
    assert [(v.name, v.query) for v in _views(engine, tom, counts=False)] == [("Meins", "agent:tom status:alle")]


@pytest.mark.parametrize(
    "name, query, message",
    [
        ("", "x", "braucht einen Namen"),
        ("a" * 61, "x", "zu lang"),
        ("ok", "   ", "leere Suche"),
        ("ok", "/[a/", "Ungültiger regulärer Ausdruck"),
    ],
)
def test_bad_names_and_queries_are_refused(engine, people, now, name, query, message):
    with pytest.raises(InvalidInput, match=message), write_session(engine) as s:
        views.save_view(s, people["tom"], name=name, query=query, now=now)
    assert _views(engine, people["tom"]) == ()


def test_rename_and_delete_refusals(engine, people, now):
    tom, lena = people["tom"], people["lena"]
    with write_session(engine) as s:
        views.save_view(s, tom, name="A", query="a", now=now)
        views.save_view(s, tom, name="B", query="b", now=now)
    with pytest.raises(InvalidInput, match="schon eine Ansicht"), write_session(engine) as s:
        views.rename_view(s, tom, name="A", new_name="B", now=now)
    with pytest.raises(NotFound), write_session(engine) as s:
        views.delete_view(s, lena, name="A", now=now)  # tom's view is not lena's to delete
    assert [v.name for v in _views(engine, tom, counts=False)] == ["A", "B"]
