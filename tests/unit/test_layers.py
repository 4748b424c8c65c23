"""The layer arrows point one way: cli → app → screens → services → models.

An AST walk over the sources (rather than import-linter) keeps the rule in the suite
with no extra dependency; it fails with the offending file and import.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def offenders(folder: str, forbidden: tuple[str, ...], skip: tuple[str, ...] = ()) -> list[str]:
    found = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel in skip:
            continue
        for name in imports_of(path):
            if name.split(".")[0] in forbidden or any(name.startswith(f + ".") or name == f for f in forbidden):
                found.append(f"{rel}: import {name}")
    return found


def test_models_import_neither_deskapp_nor_textual():
    assert offenders("models", ("deskapp", "screens", "seed", "textual")) == []


def test_domain_has_no_ui():
    assert offenders("deskapp", ("textual", "screens", "rich"), skip=("deskapp/app.py", "deskapp/cli.py")) == []


def test_rules_are_pure():
    assert offenders("deskapp/rules", ("sqlalchemy", "sqlmodel", "models", "textual")) == []


def test_screens_write_no_sql():
    assert offenders("screens", ("sqlalchemy", "sqlmodel", "models.tables", "models.engine")) == []
