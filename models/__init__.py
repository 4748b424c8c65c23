"""Persistence: SQLModel tables, engine/session helpers, Alembic migrations.

Nothing here imports Textual or ``deskapp``.
"""
