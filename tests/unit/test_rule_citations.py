"""The code cites the project's own rule book, and every citation leads somewhere.

``docs/rules.md`` gives each rule a stable anchor (``<a id="limit-hold">``); code and
tests cite ``docs/rules.md#limit-hold``. A citation of an anchor that does not exist, or
of a rule book outside the repository, fails here with file and line.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [p for folder in ("deskapp", "screens", "models", "seed", "tests", "bench")
           for p in (ROOT / folder).rglob("*.py")]
CITATION = re.compile(r"docs/rules\.md#([a-z0-9-]+)((?:,? #[a-z0-9-]+)*)")


def anchors() -> set[str]:
    return set(re.findall(r'<a id="([a-z0-9-]+)"></a>', (ROOT / "docs/rules.md").read_text()))


def test_every_cited_rule_exists():
    known = anchors()
    assert len(known) > 50
    missing = []
    for path in SOURCES:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            for match in CITATION.finditer(line):
                cited = [match.group(1), *re.findall(r"#([a-z0-9-]+)", match.group(2))]
                missing += [f"{path.relative_to(ROOT)}:{number}: #{a}" for a in cited if a not in known]
    assert missing == []


def test_no_rule_book_outside_the_repository_is_cited():
    outside = [f"{p.relative_to(ROOT)}:{n}" for p in SOURCES if p.name != "test_rule_citations.py"
               for n, line in enumerate(p.read_text().splitlines(), 1) if "DOMAIN.md" in line]
    assert outside == []
