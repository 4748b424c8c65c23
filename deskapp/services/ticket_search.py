"""The ``/`` line compiled to SQL (docs/rules.md#ticket-search, docs/rules.md#filter-language).

Words are found as folded substrings through the trigram indexes of migration 0010
(SQLite FTS5 ``trigram`` tables, PostgreSQL ``pg_trgm`` on ``desk_fold(…)``); every part
of a search is a set of ticket ids (``id IN (…)``), so no OR between a text match and a
customer match keeps an index from being used. A word nothing contains is replaced by the
indexed words most like it (typo tolerance: ``Postfch`` → ``postfach``), best first.
"""

from __future__ import annotations

import itertools
import re
import uuid
from dataclasses import dataclass

from sqlalchemy import bindparam, literal_column, not_, or_, select, text, union
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


_names = itertools.count()


def _bind() -> str:
    """A bind name of its own: several text() parts meet in one statement."""
    return f"q{next(_names) % 1_000_000}"


def _sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def _like_escape(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _fts_string(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'


def _doc_ids(session: Session, words: list[str]):
    """Ids of tickets whose subject or text contains every (folded) word."""
    words = [w for w in words if w]
    if _sqlite(session):
        long = [w for w in words if len(w) >= 3]
        short = [w for w in words if len(w) < 3]
        if long:
            m = _bind()
            stmt = f"SELECT rowid AS id FROM ticket_trgm WHERE ticket_trgm MATCH :{m}"
            params = {m: " AND ".join(_fts_string(w) for w in long)}
        else:
            stmt, params = "SELECT rowid AS id FROM ticket_trgm WHERE 1", {}
        for w in short:  # under 3 letters the index cannot help: a scan
            b = _bind()
            stmt += f" AND doc LIKE :{b} ESCAPE '\\'"
            params[b] = f"%{_like_escape(w)}%"
        return text(stmt).bindparams(**params).columns(literal_column("id"))
    names = [_bind() for _ in words]
    conds = " AND ".join(
        f"desk_fold(coalesce(subject, '') || ' ' || coalesce(body, '')) LIKE :{n} ESCAPE '\\'" for n in names
    )
    return text(f"SELECT id FROM ticket WHERE {conds}").bindparams(
        **{n: f"%{_like_escape(w)}%" for n, w in zip(names, words)}
    ).columns(literal_column("id"))


def _customer_ids(session: Session, words: list[str]):
    """Ids of customers whose (folded) name contains every word."""
    if _sqlite(session):
        long = [w for w in words if len(w) >= 3]
        if long:
            m = _bind()
            inner = text(f"SELECT rowid FROM customer_trgm WHERE customer_trgm MATCH :{m}").bindparams(
                **{m: " AND ".join(_fts_string(w) for w in long)})
            stmt = select(Customer.id).where(literal_column("customer.rowid").in_(inner.columns(literal_column("rowid"))))
            for w in words:
                if len(w) < 3:
                    stmt = stmt.where(Customer.name.like(f"%{_like_escape(w)}%", escape="\\"))
            return stmt
        stmt = select(Customer.id)
        for w in words:
            stmt = stmt.where(Customer.name.like(f"%{_like_escape(w)}%", escape="\\"))
        return stmt
    stmt = select(Customer.id)
    for w in words:
        c = _bind()
        stmt = stmt.where(text(f"desk_fold(customer.name) LIKE :{c} ESCAPE '\\'").bindparams(
            **{c: f"%{_like_escape(w)}%"}))
    return stmt


def _exists(session: Session, words: list[str]) -> bool:
    ids = _doc_ids(session, words)
    return session.execute(select(literal_column("1")).select_from(ids.subquery()).limit(1)).first() is not None


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
        # Words of the few tickets most like it, then the words of those most like it.
        docs = session.execute(text(
            f"SELECT subject FROM ticket WHERE :w OPERATOR({schema}.<%) "
            "desk_fold(coalesce(subject, '') || ' ' || coalesce(body, '')) LIMIT 200"), {"w": word}).scalars()
        seen = {fold(t) for subject in docs for t in re.findall(r"\w+", subject)}
        candidates = [(filterlang.similarity(word, t), t) for t in seen]
    best = sorted((c for c in candidates if c[0] >= _FUZZY_MIN and c[1] != word), reverse=True)
    return [t for _, t in best[:_FUZZY_WORDS]]


def _words_clause(session: Session, words: list[str], notes: list[str]):
    """Every word in subject/text — or every word in the customer's name; typos repaired."""
    folded = [fold(w) for w in words]
    if _exists(session, folded) or _customer_exists(session, folded):
        docs = _doc_ids(session, folded).subquery()
        ids = union(
            select(docs.c.id), select(Ticket.id).where(Ticket.customer_id.in_(_customer_ids(session, folded)))
        )
        return Ticket.id.in_(ids)
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
    return Ticket.id.in_(select(Ticket.id).where(*clauses))


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


def compile_query(session: Session, query: FilterQuery, actor_login: str) -> Compiled:
    """The WHERE parts of ``query`` (its fields are applied by the caller's filter)."""
    notes: list[str] = list(query.errors)
    clauses: list = []
    if query.numbers:
        clauses.append(Ticket.number.in_(query.numbers))
    words = list(query.words)
    digits = [w for w in words if w.isascii() and w.isdigit() and len(w) <= 9]
    if words and len(digits) == len(words) == 1:
        # A bare number: that ticket, or the text containing it.
        clauses.append(or_(Ticket.number == int(digits[0]), Ticket.id.in_(_doc_ids(session, digits))))
        words = []
    if len(words) == 1:
        try:
            cid = uuid.UUID(words[0])
        except ValueError:
            cid = None
        if cid is not None:
            clauses.append(Ticket.customer_id == cid)
            words = []
    if words:
        number = select(Customer.id).where(Customer.number == " ".join(words))
        clauses.append(or_(_words_clause(session, words, notes), Ticket.customer_id.in_(number)))
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
    return Compiled(tuple(clauses), tuple(notes))
