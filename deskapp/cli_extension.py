"""Command-line sub-commands for the extension features (registered by deskapp.cli)."""

from __future__ import annotations


def register(sub) -> None:
    """Add this module's sub-commands to the top-level sub-parser action."""
