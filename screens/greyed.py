"""Greyed keys explain themselves (docs/rules.md#greyed-keys).

A screen's ``check_action`` answers ``None`` for a key that exists but may not be used
now: the footer shows it dimmed. Pressed anyway, ``DeskApp.run_action`` asks the screen's
``why_greyed(action)`` and shows the answer as a notice instead of ignoring the key.
"""

from __future__ import annotations

from deskapp import texts

GENERIC = "Hier gerade nicht möglich."
NO_ROW = "Kein Ticket unter dem Cursor: diese Ansicht ist leer."


def roles_phrase(roles) -> str:
    """'Vertragsbearbeitung oder Admin' — who may, in the desk's words."""
    names = [texts.ROLE[r] for r in sorted(roles, key=lambda r: (r == "admin", r)) if r in texts.ROLE and r != "system"]
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " oder " + names[-1]


def only_roles(verb: str, roles) -> str:
    return f"{verb} dürfen nur Agenten mit der Rolle {roles_phrase(roles)}."


def explain(target, action: str) -> str:
    """The reason a greyed action gives; a screen without its own reason gets the generic one."""
    why = getattr(target, "why_greyed", None)
    reason = why(action) if callable(why) else None
    return reason or GENERIC


__all__ = ["GENERIC", "NO_ROW", "explain", "only_roles", "roles_phrase"]
