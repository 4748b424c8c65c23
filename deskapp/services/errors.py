"""What a service refuses with. Every message is German and fit to show an agent as is."""

from __future__ import annotations


class DeskError(Exception):
    """A refusal the agent should read; nothing was changed."""

    exit_code = 1

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NotFound(DeskError):
    pass


class InvalidInput(DeskError):
    """Input the rules refuse. ``field`` names the input it is about (the service's keyword,
    e.g. ``"minutes"``), so a form can show the message under that field; ``None`` if the
    refusal is about no one field."""

    exit_code = 2

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.field = field


class PermissionDenied(DeskError):
    exit_code = 4


class UnknownAgent(PermissionDenied):
    pass


class Conflict(DeskError):
    """Someone else changed the record first; ``current`` is its state now."""

    exit_code = 5

    def __init__(self, message: str, current=None):
        super().__init__(message)
        self.current = current


class SettingProblem(DeskError):
    """A stored policy setting does not parse; the message names it and how to repair it."""

    exit_code = 3
