"""The ``/`` line compiled to SQL (docs/rules.md#ticket-search, docs/rules.md#filter-language).

Words are found as folded substrings through the trigram indexes of migration 0010
(SQLite FTS5 ``trigram`` tables, PostgreSQL ``pg_trgm`` on ``desk_fold(…)``); every part
of a search is a set of ticket ids (``id IN (…)``), so no OR between a text match and a
customer match keeps an index from being used. A word nothing contains is replaced by the
indexed words most like it (typo tolerance: ``Postfch`` → ``postfach``), best first.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from sqlalchemy import bindparam, column, literal_column, not_, or_, select, table, text, union
from sqlmodel import Session

from models.search import fold
from models.tables import Agent, Customer, Ticket

from ..rules import filterlang
from ..rules.filterlang import FilterQuery

_FUZZY_MIN = 0.45  # trigram similarity a proposed word must reach
_FUZZY_WORDS = 3  # at most this many proposed words per mistyped one


@dataclass(frozen=True)
class Compiled:
    clauses: tuple  # ANDed into the list's WHERE
    notes: tuple[str, ...]  # German: what was read differently (typos, bad parts)
    # The free words' matches as selects of ticket ids, each readable newest first on its
    # own (the text index, a customer's tickets, a number); a ticket is found by any of
    # them. Empty when the words are part of ``clauses`` instead.
    sources: tuple = ()
    # The same sources as bare sets of ids (the text index without the ticket table), for
    # "is this ticket among them" (counts).
    id_sets: tuple = ()

    def where(self) -> list:
        """Everything as WHERE clauses (for counts and lists not read newest first)."""
        out = list(self.clauses)
        if self.sources:
            subs = [src.subquery() for src in self.sources]
            out.append(Ticket.id.in_(union(*(select(sub.c.id) for sub in subs))))
        return out


def _sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def _like_escape(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _fts_string(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'


# The FTS5 tables of migration 0010 as SQLAlchemy sees them; the table's own name is the
# column MATCH takes. Built from Core (no text() with named binds) so that every search
# statement compiles once and then comes from SQLAlchemy's cache.
_TRGM = table("ticket_trgm", column("rowid"), column("doc"))
_TRGM_MATCH = literal_column("ticket_trgm")
_CTRGM = table("customer_trgm", column("rowid"), column("name"))
_CTRGM_MATCH = literal_column("customer_trgm")
# PostgreSQL: the stored folded columns the trigram indexes are built on (migration 0010;
# not in models/tables.py: the database computes them, no code writes them).
_PG_DOC = literal_column("ticket.search_doc")
_PG_NAME = literal_column("customer.name_key")


def _contains(word: str) -> str:
    return f"%{_like_escape(word)}%"


def _doc_source(session: Session, words: list[str]):
    """Tickets whose text contains every word, as a select the index streams newest first."""
    if not _sqlite(session):
        # The ticket's own folded column: PostgreSQL reads the table newest first through
        # its primary key (a frequent word) or the trigram index (a rare one).
        return _doc_ids(session, words)
    long = [w for w in words if len(w) >= 3]
    if not long or len(long) != len(words):
        return select(Ticket.id.label("id")).where(Ticket.id.in_(_doc_ids(session, words)))
    # The index's own rowid is the selected (and ordered-by) column: FTS5 then reads the
    # matches newest first and stops after a page, whatever the word's share.
    return (
        select(_TRGM.c.rowid.label("id"))
        .select_from(_TRGM.join(Ticket.__table__, Ticket.id == _TRGM.c.rowid))
        .where(_TRGM_MATCH.match(" AND ".join(_fts_string(w) for w in long)))
    )


def _doc_ids(session: Session, words: list[str]):
    """Ids of tickets whose subject or text contains every (folded) word."""
    words = [w for w in words if w]
    if _sqlite(session):
        long = [w for w in words if len(w) >= 3]
        stmt = select(_TRGM.c.rowid.label("id")).select_from(_TRGM)
        if long:
            stmt = stmt.where(_TRGM_MATCH.match(" AND ".join(_fts_string(w) for w in long)))
        for w in words:
            if len(w) < 3:  # under 3 letters the index cannot help: a scan
                stmt = stmt.where(_TRGM.c.doc.like(_contains(w), escape="\\"))
        return stmt
    return select(Ticket.id.label("id")).where(*(_PG_DOC.like(_contains(w), escape="\\") for w in words))


def _customer_ids(session: Session, words: list[str]):
    """Ids of customers whose (folded) name contains every word."""
    if _sqlite(session):
        long = [w for w in words if len(w) >= 3]
        stmt = select(Customer.id)
        if long:
            inner = select(_CTRGM.c.rowid).where(_CTRGM_MATCH.match(" AND ".join(_fts_string(w) for w in long)))
            stmt = stmt.where(literal_column("customer.rowid").in_(inner))
        for w in words:
            if len(w) < 3:
                stmt = stmt.where(Customer.name.like(_contains(w), escape="\\"))
        return stmt
    return select(Customer.id).where(*(_PG_NAME.like(_contains(w), escape="\\") for w in words))


def _exists(session: Session, words: list[str]) -> bool:
    ids = _doc_ids(session, words)
    return session.execute(select(literal_column("1")).select_from(ids.subquery()).limit(1)).first() is not None


def has_words(query: FilterQuery) -> bool:
    """Whether a fuzzy reading could differ from the exact one."""
    return any(len(w) >= 3 and not w.isdigit() for w in query.words)


def _customer_exists(session: Session, words: list[str]) -> bool:
    stmt = _customer_ids(session, words).limit(1)
    return session.execute(stmt).first() is not None


_pg_trgm_schema: dict[str, str] = {}


def _similar_words(session: Session, word: str) -> list[str]:
    """Indexed words most like ``word`` (folded), best first."""
    if _sqlite(session):
        # The vocabulary of the word index (0002): words sharing the first letters; a typo
        # in the first three letters is not repaired.
        stem = word[:3] if len(word) >= 5 else word[:2]
        upper = stem[:-1] + chr(ord(stem[-1]) + 1)
        rows = session.execute(
            text("SELECT term FROM ticket_fts_vocab WHERE term >= :lo AND term < :hi LIMIT 2000"),
            {"lo": stem, "hi": upper},
        ).scalars()
        candidates = [(filterlang.similarity(word, fold(t)), fold(t)) for t in rows]
    else:
        url = str(session.get_bind().url)
        schema = _pg_trgm_schema.get(url)
        if schema is None:
            schema = session.execute(text(
                "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
                "WHERE e.extname = 'pg_trgm'")).scalar() or "public"
            _pg_trgm_schema[url] = schema
        # The vocabulary of every ticket's words (migration 0010), by trigram similarity.
        rows = session.execute(text(
            f"SELECT word FROM search_word WHERE word OPERATOR({schema}.%) :w "
            f"ORDER BY {schema}.similarity(word, :w) DESC LIMIT 20"), {"w": word}).scalars()
        candidates = [(filterlang.similarity(word, t), t) for t in rows]
    best = sorted((c for c in candidates if c[0] >= _FUZZY_MIN and c[1] != word), reverse=True)
    return [t for _, t in best[:_FUZZY_WORDS]]


def _word_sources(session: Session, words: list[str], notes: list[str], extra: tuple = (), *,
                  fuzzy: bool = False) -> tuple:
    """Every word in subject/text — or every word in the customer's name; typos repaired.

    Selects of ticket ids, any of which finds a ticket; ``extra``: more of them (a customer
    number, a ticket number). Kept apart, never ORed: each one can use its index. Returned
    twice: as the list reads them (newest first) and as bare id sets (``Compiled.id_sets``).
    """
    folded = [fold(w) for w in words]
    if not fuzzy or _exists(session, folded) or _customer_exists(session, folded):
        by_customer = select(Ticket.id.label("id")).where(Ticket.customer_id.in_(_customer_ids(session, folded)))
        sources = (_doc_source(session, folded), by_customer, *extra)
        return sources, (_doc_ids(session, folded), *sources[1:])
    # Nothing has them all: each word nothing contains is replaced by its nearest words.
    alternatives: list[list[str]] = []
    for word in folded:
        if len(word) < 3 or _exists(session, [word]):
            alternatives.append([word])
            continue
        similar = _similar_words(session, word)
        if similar:
            notes.append(f"„{word}“ nicht gefunden, gesucht: {' / '.join(similar)}")
            alternatives.append(similar)
        else:
            alternatives.append([word])
    clauses = []
    for options in alternatives:
        clauses.append(or_(*(Ticket.id.in_(_doc_ids(session, [o])) for o in options)))
    sources = (select(Ticket.id.label("id")).where(*clauses), *extra)
    return sources, sources


def _regex_clause(session: Session, pattern: str):
    narrowed = filterlang.required_literals(pattern)
    conds = []
    if narrowed:
        conds.append(Ticket.id.in_(_doc_ids(session, [fold(w) for w in narrowed])))
    doc = Ticket.subject + literal_column("' '") + Ticket.body
    if _sqlite(session):
        conds.append(doc.op("REGEXP")(bindparam(None, "(?i)" + pattern)))
    else:
        conds.append(doc.op("~*")(bindparam(None, pattern)))
    return conds


def compile_query(session: Session, query: FilterQuery, actor_login: str, *, fuzzy: bool = False) -> Compiled:
    """The WHERE parts of ``query`` (its fields are applied by the caller's filter).

    ``fuzzy``: words that nothing contains are replaced by the words most like them (the
    caller asks for this only when the exact search found nothing).
    """
    notes: list[str] = list(query.errors)
    clauses: list = []
    sources: tuple = ()
    id_sets: tuple = ()
    if query.numbers:
        clauses.append(Ticket.number.in_(query.numbers))
    words = list(query.words)
    if len(words) == 1:
        try:
            cid = uuid.UUID(words[0])
        except ValueError:
            cid = None
        if cid is not None:
            clauses.append(Ticket.customer_id == cid)
            words = []
    if words:
        joined = " ".join(words)
        extra = [select(Ticket.id.label("id")).where(
            Ticket.customer_id.in_(select(Customer.id).where(Customer.number == joined)))]
        if joined.isascii() and joined.isdigit() and len(joined) <= 9:
            extra.append(select(Ticket.id.label("id")).where(Ticket.number == int(joined)))  # a bare number
        sources, id_sets = _word_sources(session, words, notes, tuple(extra), fuzzy=fuzzy)
    for word in query.not_words:
        clauses.append(not_(Ticket.id.in_(_doc_ids(session, [fold(word)]))))
    if query.customer:
        folded = [fold(w) for w in query.customer]
        by_number = select(Customer.id).where(Customer.number.in_(query.customer))
        clauses.append(or_(Ticket.customer_id.in_(_customer_ids(session, folded)), Ticket.customer_id.in_(by_number)))
    for pattern in query.regexes:
        clauses.extend(_regex_clause(session, pattern))
    if query.agent is not None:
        logins = [actor_login if v == "ich" else v for v in query.agent.values if v != "-"]
        parts = []
        if "-" in query.agent.values:
            parts.append(Ticket.assignee_id.is_(None))
        if logins:
            parts.append(Ticket.assignee_id.in_(select(Agent.id).where(Agent.login.in_(logins))))
        cond = or_(*parts)
        if query.agent.negated:
            cond = or_(not_(cond), Ticket.assignee_id.is_(None)) if "-" not in query.agent.values else not_(cond)
        clauses.append(cond)
    return Compiled(tuple(clauses), tuple(notes), sources, id_sets)
