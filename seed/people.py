"""The agents of docs/rules.md#roles and the built-in system agent (docs/rules.md#system-agent)."""

from __future__ import annotations

from sqlmodel import Session

from deskapp.services import agents
from deskapp.services.readmodels import AgentRef
from models.enums import Role

ROSTER: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("tom", "Tom Berger", (Role.SUPPORT,)),
    ("lena", "Lena Vogt", (Role.SUPPORT,)),
    ("sara", "Sara Marburg", (Role.CONTRACT,)),
    ("kai", "Kai Henning", (Role.TECHNICIAN,)),
    ("isabel", "Isabel", (Role.APPROVER, Role.ADMIN)),
    ("rebekka", "Rebekka", (Role.DEPUTY, Role.SUPPORT)),
    (agents.SYSTEM_LOGIN, "System", (Role.SYSTEM,)),
)


def create_roster(session: Session) -> dict[str, AgentRef]:
    return {
        login: agents.create_agent(
            session, login=login, display_name=name, roles=list(roles), email=f"{login}@agentur.example"
        )
        for login, name, roles in ROSTER
    }
