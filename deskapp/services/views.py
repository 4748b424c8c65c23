"""Agents' saved views (docs/rules.md#saved-views): a named ``/`` filter, per agent.

An agent saves the current filter under a name, sees it in the sidebar with a live count,
renames or deletes it; no admin is involved, and nobody else sees it. Every change is one
transaction with an audit entry (``view.save``, ``view.rename``, ``view.delete``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlmodel import Session

from models.tables import SavedView

from ..rules import filterlang
from . import audit, tickets
from .errors import InvalidInput, NotFound
from .filters import TicketFilter
from .readmodels import AgentRef

NAME_MAX = 60
VIEWS_MAX = 30  # per agent: the sidebar stays readable


@dataclass(frozen=True)
class ViewRow:
    id: int
    name: str
    query: str
    count: int | None = None  # tickets it shows now (with counts=True)


def view_filter(query: str) -> TicketFilter:
    """What the inbox lists for a saved view: its query over every queue (open tickets
    unless the query says ``status:``)."""
    return TicketFilter(queue=None, search=query)


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise InvalidInput("Eine Ansicht braucht einen Namen.")
    if len(name) > NAME_MAX:
        raise InvalidInput(f"Der Name ist zu lang (höchstens {NAME_MAX} Zeichen).")
    if any(ord(c) < 32 for c in name):
        raise InvalidInput("Der Name enthält Steuerzeichen.")
    return name


def _clean_query(query: str) -> str:
    query = " ".join((query or "").split())
    if not query:
        raise InvalidInput("Eine leere Suche wird nicht als Ansicht gespeichert.")
    parsed = filterlang.parse(query)
    if parsed.errors:
        raise InvalidInput(parsed.errors[0])
    return query


def _own(session: Session, actor: AgentRef, name: str) -> SavedView:
    view = session.execute(
        select(SavedView).where(SavedView.agent_id == actor.id, SavedView.name == name)
    ).scalar()
    if view is None:
        raise NotFound(f"Keine Ansicht „{name}“.")
    return view


def list_views(session: Session, actor: AgentRef, *, counts: bool = False) -> tuple[ViewRow, ...]:
    """The agent's views by name; ``counts``: with the number of tickets each shows now."""
    rows = session.execute(
        select(SavedView.id, SavedView.name, SavedView.query)
        .where(SavedView.agent_id == actor.id)
        .order_by(SavedView.name)
    ).all()
    out = []
    for r in rows:
        n = tickets.count(session, actor, view_filter(r.query)) if counts else None
        out.append(ViewRow(r.id, r.name, r.query, n))
    return tuple(out)


def save_view(session: Session, actor: AgentRef, *, name: str, query: str, now: dt.datetime) -> ViewRow:
    """A new view, or the query of the agent's view of that name replaced."""
    name, query = _clean_name(name), _clean_query(query)
    existing = session.execute(
        select(SavedView).where(SavedView.agent_id == actor.id, SavedView.name == name)
    ).scalar()
    if existing is not None:
        old = existing.query
        existing.query = query
        existing.updated_at = now
        existing.version += 1
        session.flush()
        audit.record(session, actor, "view.save", "saved_view", existing.id, old={"query": old},
                     new={"name": name, "query": query}, now=now)
        return ViewRow(existing.id, name, query)
    n = len(session.execute(select(SavedView.id).where(SavedView.agent_id == actor.id)).all())
    if n >= VIEWS_MAX:
        raise InvalidInput(f"Höchstens {VIEWS_MAX} eigene Ansichten; bitte eine löschen.")
    view = SavedView(agent_id=actor.id, name=name, query=query, created_at=now, updated_at=now)
    session.add(view)
    session.flush()
    audit.record(session, actor, "view.save", "saved_view", view.id, new={"name": name, "query": query}, now=now)
    return ViewRow(view.id, name, query)


def rename_view(session: Session, actor: AgentRef, *, name: str, new_name: str, now: dt.datetime) -> ViewRow:
    view = _own(session, actor, _clean_name(name))
    new_name = _clean_name(new_name)
    if new_name == view.name:
        raise InvalidInput(f"Die Ansicht heißt schon „{new_name}“.")
    clash = session.execute(
        select(SavedView.id).where(SavedView.agent_id == actor.id, SavedView.name == new_name)
    ).scalar()
    if clash is not None:
        raise InvalidInput(f"Es gibt schon eine Ansicht „{new_name}“.")
    old = view.name
    view.name = new_name
    view.updated_at = now
    view.version += 1
    session.flush()
    audit.record(session, actor, "view.rename", "saved_view", view.id, old={"name": old}, new={"name": new_name},
                 now=now)
    return ViewRow(view.id, new_name, view.query)


def delete_view(session: Session, actor: AgentRef, *, name: str, now: dt.datetime) -> None:
    view = _own(session, actor, _clean_name(name))
    audit.record(session, actor, "view.delete", "saved_view", view.id, old={"name": view.name, "query": view.query},
                 now=now)
    session.delete(view)
    session.flush()
