"""The one optimistic update every versioned change goes through.

A change is one conditional ``UPDATE … SET …, version = version + 1 WHERE id = :id AND
version = :seen [AND …]``: zero rows means someone else was first. What a lost race
means (a ``Conflict`` naming who decided, the record as it stands now) is the caller's,
so this only says whether this caller won.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlmodel import Session


def bump(session: Session, model, row_id, seen_version: int, *where, **values) -> bool:
    """Set ``values`` on ``model`` row ``row_id`` and raise its version by one, if the row
    is still at ``seen_version`` (and matches ``where``); True when this caller won.

    Objects of the row already in the session are left as they were read (no
    synchronisation): a loser must still see what it saw to explain its refusal, and a
    winner refreshes what it keeps.
    """
    result = session.execute(
        update(model)
        .where(model.id == row_id, model.version == seen_version, *where)
        .values(**values, version=model.version + 1)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1
