"""The ``/`` line's language (docs/rules.md#filter-language): fields, negation, regex,
numbers, phrases; never raises, bad parts are German sentences and the rest applies."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from deskapp.rules import filterlang
from deskapp.rules.filterlang import FieldTerm, FilterQuery, parse
from models.enums import Priority, Queue, TicketStatus


def test_the_example_of_the_issue():
    q = parse("kunde:moring status:!erledigt /ssl.*ablauf/ prio:hoch queue:technik agent:lena #42")
    assert q.customer == ("moring",)
    assert q.status == FieldTerm((TicketStatus.RESOLVED,), negated=True)
    assert q.regexes == ("ssl.*ablauf",)
    assert q.priority == FieldTerm((Priority.HIGH,))
    assert q.queue == FieldTerm((Queue.TECHNICAL,))
    assert q.agent == FieldTerm(("lena",))
    assert q.numbers == (42,)
    assert q.errors == ()


def test_words_negation_phrases_prefixes_and_lists():
    q = parse('postfch -spam !werbung "zwei Wörter" status:neu,off prio:dri queue:vertrag agent:- markierung:auff')
    assert q.words == ("postfch", "zwei Wörter")
    assert q.not_words == ("spam", "werbung")
    assert q.status == FieldTerm((TicketStatus.NEW, TicketStatus.OPEN))
    assert q.priority == FieldTerm((Priority.URGENT,))
    assert q.queue == FieldTerm((Queue.CONTRACT,))
    assert q.agent == FieldTerm(("-",))
    assert q.flag == FieldTerm(("conspicuous",))


def test_a_lone_number_is_that_ticket():
    assert parse("#365").only_numbers
    assert parse(" #365 ").numbers == (365,)
    assert not parse("#365 drucker").only_numbers
    assert parse("365").words == ("365",)  # without # a number is also a word of the text


def test_bad_parts_are_german_sentences_and_the_rest_applies():
    q = parse("/[ab/ status:vielleicht farbe:rot drucker")
    assert q.words == ("drucker",)
    assert q.regexes == () and q.status is None
    assert len(q.errors) == 3
    assert "Ungültiger regulärer Ausdruck /[ab/: eckige Klammer [ nicht geschlossen" in q.errors[0]
    assert "„vielleicht“ ist kein Wert für status:" in q.errors[1]
    assert "Unbekanntes Feld „farbe:“" in q.errors[2]


def test_the_codes_are_the_stored_ones():
    assert set(filterlang.STATUS_WORDS.values()) == set(TicketStatus)
    assert set(filterlang.PRIORITY_WORDS.values()) == set(Priority)
    assert set(filterlang.QUEUE_WORDS.values()) == set(Queue)


def test_status_alle_means_every_status():
    assert set(parse("status:alle").status.values) == set(TicketStatus)


def test_required_literals_narrow_a_regex():
    assert filterlang.required_literals("ssl.*ablauf") == ("ssl", "ablauf")
    assert filterlang.required_literals("(ssl|tls)") == ()
    assert filterlang.required_literals("ab") == ()


def test_similarity_tolerates_a_typo():
    assert filterlang.similarity("postfch", "postfach") > 0.5
    assert filterlang.similarity("postfch", "rechnung") < 0.2


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=120))
def test_parse_never_raises_on_any_text(text):
    q = parse(text)
    assert isinstance(q, FilterQuery)
    assert all(isinstance(e, str) and e for e in q.errors)
    for pattern in q.regexes:  # every regex that got through compiles
        re.compile(pattern)


ALPHABET = st.sampled_from(list('/\\"!-#:,*+?()[]{}|^$. ') + list("abcsuetqkp0129äß"))


@settings(max_examples=400, deadline=None)
@given(st.lists(ALPHABET, max_size=60).map("".join))
def test_parse_never_raises_on_syntax_heavy_text(text):
    q = parse(text)
    for pattern in q.regexes:
        re.compile(pattern)
        filterlang.required_literals(pattern)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_to_text_reads_back_to_the_same_query(text):
    q = parse(text)
    if q.errors:
        return
    again = parse(filterlang.to_text(q))
    assert again == q
