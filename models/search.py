"""The folded search text the trigram indexes are built on (migration 0010).

Search is case- and accent-insensitive on every database (docs/rules.md#ticket-search):
``Ubertragung`` finds ``Übertragung``. The same folding runs in three places and must
agree: in SQL (SQLite triggers that feed the FTS5 ``trigram`` tables, PostgreSQL's
``desk_fold()`` the ``pg_trgm`` indexes are built on) and in Python (``fold``, applied to
what the agent types). Case: SQLite's trigram tokenizer folds it; PostgreSQL's function
lower-cases after the accents are gone.
"""

from __future__ import annotations

# Accented letters → their plain letter(s): German umlauts and ß in both cases, the
# common French/Spanish/Portuguese/Turkish accents in lower case (SQLite's parser limits a
# trigger to ~25 nested replace() calls; a capital accented letter other than an umlaut
# or É is rare in a name or a mail and is then matched as typed).
FOLD: dict[str, str] = {
    "ä": "a", "Ä": "a", "ö": "o", "Ö": "o", "ü": "u", "Ü": "u", "ß": "ss",
    "é": "e", "É": "e", "è": "e", "ê": "e", "ë": "e",
    "á": "a", "à": "a", "â": "a", "ó": "o", "ô": "o", "ú": "u", "û": "u",
    "í": "i", "î": "i", "ç": "c", "ñ": "n",
}

_TABLE = str.maketrans(FOLD)


def fold(text: str) -> str:
    """What the indexes hold for ``text``: lower case, accents gone, ß → ss."""
    return text.lower().translate(_TABLE).lower()


def sqlite_fold_sql(expr: str) -> str:
    """``expr`` folded in SQLite SQL (nested replace(); case is left to the tokenizer)."""
    for accented, plain in FOLD.items():
        expr = f"replace({expr}, '{accented}', '{plain}')"
    return expr


def pg_fold_function() -> str:
    """``CREATE FUNCTION desk_fold(text)``: immutable, so indexes can be built on it."""
    single = {k: v for k, v in FOLD.items() if len(v) == 1}
    src = "".join(single)
    dst = "".join(single.values())
    return (
        "CREATE OR REPLACE FUNCTION desk_fold(t text) RETURNS text "
        "LANGUAGE sql IMMUTABLE PARALLEL SAFE AS "
        f"$$ SELECT lower(replace(translate($1, '{src}', '{dst}'), 'ß', 'ss')) $$"
    )


# The ticket's searchable text; the PostgreSQL index and the query must use this expression.
PG_TICKET_DOCUMENT = "desk_fold(coalesce(subject, '') || ' ' || coalesce(body, ''))"
PG_CUSTOMER_NAME = "desk_fold(name)"
SQLITE_TICKET_DOCUMENT = "coalesce({t}.subject, '') || ' ' || coalesce({t}.body, '')"
