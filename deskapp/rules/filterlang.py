"""The language of the inbox's ``/`` line (docs/rules.md#filter-language).

``kunde:moring status:!erledigt /ssl.*ablauf/ prio:hoch queue:technik agent:lena #42``

* plain words search subject, text and customer (typo-tolerant); ``-wort`` / ``!wort``
  excludes tickets containing it; ``"zwei Wörter"`` is one phrase;
* ``#42`` is exactly ticket 42 (in any queue and status, when it stands alone);
* ``/regex/`` matches subject and text (case-insensitive);
* fields ``kunde:``, ``status:``, ``prio:``, ``queue:``, ``agent:``, ``kennzeichen:``; a
  value after ``!`` negates, several values are separated by commas (``status:neu,offen``).

Pure: no database, no UI. ``parse`` never raises: what it cannot read becomes a German
sentence in ``FilterQuery.errors`` and the rest still applies.
"""

from __future__ import annotations

import re
from re import _constants as sre_constants  # the stdlib's own regex parser (3.11+)
from re import _parser as sre_parse
from dataclasses import dataclass, field

# German words (and the stored codes) for each field's values; a prefix is enough when it
# is unambiguous ("erl" → erledigt, "tech" → technical).
# The values are the stored codes of models/enums.py (TicketStatus, Priority, Queue); the
# rules do not import models, tests/unit/test_filterlang.py checks they agree.
STATUS_CODES = ("new", "open", "waiting", "resolved")
STATUS_WORDS = {
    "neu": "new", "offen": "open", "wartend": "waiting", "erledigt": "resolved",
    **{code: code for code in STATUS_CODES},
}
PRIORITY_WORDS = {
    "niedrig": 1, "normal": 2, "hoch": 3, "dringend": 4, "low": 1, "high": 3, "urgent": 4,
}
QUEUE_WORDS = {
    "support": "support", "vertragsbearbeitung": "contract", "vertrag": "contract",
    "technik": "technical", "admin-channel": "admin", "admin": "admin",
    "contract": "contract", "technical": "technical",
}
# The glossary's words first (docs/glossary.md: ★ is „gemerkt“); older words still read.
FLAG_WORDS = {
    "gemerkt": "flagged", "markiert": "flagged", "auffällig": "conspicuous", "auffaellig": "conspicuous",
    "überfällig": "overdue", "ueberfaellig": "overdue", "workaround": "workaround",
    "flagged": "flagged", "conspicuous": "conspicuous", "overdue": "overdue",
}
# Field names (German first; the English ones are accepted too) → the canonical field.
FIELDS = {
    "kunde": "customer", "customer": "customer",
    "status": "status",
    "prio": "priority", "priorität": "priority", "prioritaet": "priority", "priority": "priority",
    "queue": "queue", "q": "queue",
    "agent": "agent", "bearbeiter": "agent",
    "kennzeichen": "flag", "markierung": "flag", "flag": "flag",
}
FIELD_NAMES = ("kunde", "status", "prio", "queue", "agent", "kennzeichen")
ALL_VALUE = "alle"
_SHOWN = {
    "status": ("neu", "offen", "wartend", "erledigt", "alle"),
    "priority": ("niedrig", "normal", "hoch", "dringend"),
    "queue": ("support", "vertrag", "technik", "admin"),
    "flag": ("gemerkt", "auffällig", "überfällig", "workaround"),
}

_MAX_QUERY = 500  # characters; a longer line is cut (and said so)


@dataclass(frozen=True)
class FieldTerm:
    """``field:value,value`` or ``field:!value``: the values in stored codes."""

    values: tuple = ()
    negated: bool = False


@dataclass(frozen=True)
class FilterQuery:
    words: tuple[str, ...] = ()  # free words and phrases, as typed
    not_words: tuple[str, ...] = ()
    numbers: tuple[int, ...] = ()
    regexes: tuple[str, ...] = ()
    customer: tuple[str, ...] = ()  # words of kunde:
    status: FieldTerm | None = None
    priority: FieldTerm | None = None
    queue: FieldTerm | None = None
    agent: FieldTerm | None = None  # logins; "-" is nobody, "ich" the agent at the keyboard
    flag: FieldTerm | None = None
    errors: tuple[str, ...] = field(default=())

    @property
    def only_numbers(self) -> bool:
        """Just ``#N``: that ticket, wherever it is (docs/rules.md#ticket-jump)."""
        return bool(self.numbers) and self == FilterQuery(numbers=self.numbers)

    @property
    def empty(self) -> bool:
        return self == FilterQuery(errors=self.errors)


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<regex>/(?:\\.|[^/\\])*/?)      # /regex/ (an unclosed one runs to the end)
      | (?P<neg>[-!])?"(?P<phrase>[^"]*)"?   # "a phrase", -"a phrase"
      | (?P<word>\S+)
    )""",
    re.VERBOSE,
)
_NUMBER = re.compile(r"^#?([0-9]{1,9})$")


def lookup(words: dict, raw: str):
    """The code for ``raw`` (a word or an unambiguous prefix), or None."""
    raw = raw.lower()
    if raw in words:
        return words[raw]
    hits = {code for word, code in words.items() if word.startswith(raw)}
    return hits.pop() if len(hits) == 1 and raw else None


def _field_term(name: str, raw: str, errors: list[str]) -> FieldTerm | None:
    negated = raw.startswith("!")
    raw = raw[1:] if negated else raw
    values = [v for v in raw.split(",") if v]
    if not values:
        errors.append(f"„{name}:“ braucht einen Wert.")
        return None
    canonical = FIELDS[name]
    if canonical == "agent":
        logins = []
        for v in values:
            v = v.lower()
            logins.append("-" if v in ("-", "niemand", "keiner") else v)
        return FieldTerm(tuple(logins), negated)
    table = {"status": STATUS_WORDS, "priority": PRIORITY_WORDS, "queue": QUEUE_WORDS, "flag": FLAG_WORDS}[canonical]
    codes = []
    for v in values:
        if canonical == "status" and v.lower() == ALL_VALUE:
            codes.extend(STATUS_CODES)
            continue
        code = lookup(table, v)
        if code is None:
            known = ", ".join(_SHOWN[canonical])
            errors.append(f"„{v}“ ist kein Wert für {name}: (möglich: {known}).")
            continue
        codes.append(code)
    if not codes:
        return None
    return FieldTerm(tuple(dict.fromkeys(codes)), negated)


_REGEX_REASONS = (
    ("unterminated character set", "eckige Klammer [ nicht geschlossen"),
    ("missing )", "runde Klammer ( nicht geschlossen"),
    ("unbalanced parenthesis", "schließende Klammer ) ohne öffnende"),
    ("nothing to repeat", "Wiederholung (*, +, ?) ohne etwas davor"),
    ("multiple repeat", "zwei Wiederholungen hintereinander"),
    ("bad escape", "unbekanntes Zeichen nach dem Rückstrich"),
    ("bad character range", "ungültiger Bereich in [ ]"),
    ("look-behind requires fixed-width", "Rückschau braucht eine feste Länge"),
)


def regex_error(pattern: str) -> str | None:
    """A German sentence when ``pattern`` is no regular expression, else None."""
    try:
        re.compile(pattern)
    except re.error as exc:
        reason = next((german for english, german in _REGEX_REASONS if english in exc.msg), "nicht lesbar")
        where = f" (an Stelle {exc.pos + 1})" if exc.pos is not None else ""
        return f"Ungültiger regulärer Ausdruck /{pattern}/: {reason}{where}."
    except (RecursionError, OverflowError, ValueError):
        return f"Ungültiger regulärer Ausdruck /{pattern}/: zu verschachtelt oder zu groß."
    return None


def parse(text: str) -> FilterQuery:
    """The query in ``text``; never raises (see ``FilterQuery.errors``)."""
    errors: list[str] = []
    if not isinstance(text, str):
        return FilterQuery(errors=("Die Suche versteht nur Text.",))
    text = text.replace("\x00", " ")
    if len(text) > _MAX_QUERY:
        text = text[:_MAX_QUERY]
        errors.append(f"Die Suche wurde nach {_MAX_QUERY} Zeichen abgeschnitten.")
    words: list[str] = []
    not_words: list[str] = []
    numbers: list[int] = []
    regexes: list[str] = []
    customer: list[str] = []
    terms: dict[str, FieldTerm] = {}
    for m in _TOKEN.finditer(text):
        if m.group("regex") is not None:
            body = m.group("regex")[1:]
            if body.endswith("/") and not body.endswith("\\/"):
                body = body[:-1]
            body = body.replace("\\/", "/")
            if not body:
                continue
            problem = regex_error(body)
            if problem:
                errors.append(problem)
            else:
                regexes.append(body)
        elif m.group("phrase") is not None:
            phrase = " ".join(m.group("phrase").split())
            if phrase:
                (not_words if m.group("neg") else words).append(phrase)
        elif m.group("word"):
            token = m.group("word")
            number = _NUMBER.match(token)
            if token.startswith("#") and number:
                numbers.append(int(number.group(1)))
                continue
            name, colon, value = token.partition(":")
            if colon and name.lower() in FIELDS:
                canonical = FIELDS[name.lower()]
                if canonical == "customer":
                    customer.extend(w for w in re.split(r"[,\s]+", value) if w)
                    if not value:
                        errors.append("„kunde:“ braucht einen Namen oder eine Kundennummer.")
                    continue
                term = _field_term(name.lower(), value, errors)
                if term is not None:
                    terms[canonical] = term
                continue
            if colon and name and value and re.fullmatch(r"[^\W\d_]+", name):
                errors.append(
                    f"Unbekanntes Feld „{name}:“ (bekannt: {', '.join(n + ':' for n in FIELD_NAMES)})."
                )
                continue
            if token[0] in "-!" and len(token) > 1:
                not_words.append(token[1:])
            elif token not in ("-", "!"):
                words.append(token)
    return FilterQuery(
        words=tuple(words), not_words=tuple(not_words), numbers=tuple(numbers), regexes=tuple(regexes),
        customer=tuple(customer), errors=tuple(errors), **terms,
    )


def required_literals(pattern: str) -> tuple[str, ...]:
    """Literal runs every match of ``pattern`` must contain (to narrow by the trigram index
    before the regex runs); empty when none can be proven. ``pattern`` must be valid."""
    try:
        parsed = sre_parse.parse(pattern)
    except (re.error, RecursionError, OverflowError, ValueError):
        return ()
    runs: list[str] = []
    current: list[str] = []
    for op, arg in parsed:
        if op is sre_constants.LITERAL:
            current.append(chr(arg))
            continue
        if current:
            runs.append("".join(current))
            current = []
    if current:
        runs.append("".join(current))
    return tuple(r for r in (r.strip() for r in runs) if len(r) >= 3)


def trigrams(word: str) -> set[str]:
    padded = f"  {word.lower()} "
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


def similarity(a: str, b: str) -> float:
    """Trigram similarity (as pg_trgm counts it): shared / all distinct trigrams."""
    ta, tb = trigrams(a), trigrams(b)
    if not ta or not tb:
        return 0.0
    return len(ta & tb) / len(ta | tb)


def to_text(query: FilterQuery) -> str:
    """``query`` written back in the language (for a view's stored filter)."""
    parts: list[str] = [f"#{n}" for n in query.numbers]

    def names(words: dict, codes) -> str:
        out = []
        for code in codes:
            out.append(next(w for w, c in words.items() if c == code))
        return ",".join(out)

    for fld, words in (("status", STATUS_WORDS), ("prio", PRIORITY_WORDS), ("queue", QUEUE_WORDS),
                       ("markierung", FLAG_WORDS)):
        term = getattr(query, FIELDS[fld])
        if term is not None:
            parts.append(f"{fld}:{'!' if term.negated else ''}{names(words, term.values)}")
    if query.agent is not None:
        parts.append(f"agent:{'!' if query.agent.negated else ''}{','.join(query.agent.values)}")
    parts.extend(f"kunde:{w}" for w in query.customer)
    parts.extend(f'"{w}"' if " " in w else w for w in query.words)
    parts.extend(f'-"{w}"' if " " in w else f"-{w}" for w in query.not_words)
    parts.extend(f"/{r.replace('/', chr(92) + '/')}/" for r in query.regexes)
    return " ".join(parts)
