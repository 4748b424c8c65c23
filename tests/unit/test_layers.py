"""The layer arrows point one way: cli → app → screens → (seed) → services → rules/models.

The contracts live in ``pyproject.toml`` (``[tool.importlinter]``) and run here, in the
suite: a new import against the arrows fails the tests, indirect ones included. The AST
walks below are the same rules said directly, with the offending file and line in the
failure; the subprocess check proves the domain loads without Textual at all.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def imports_of(path: Path) -> set[str]:
    """Every module the file imports, relative imports resolved (``..app`` in a service is
    ``deskapp.app``), nested and lazy imports included."""
    package = path.relative_to(ROOT).with_suffix("").parts
    package = package[:-1] if package[-1] != "__init__" else package[:-1]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = list(package[: len(package) - node.level + 1]) if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            names.add(module)
            if not node.module:  # "from . import x": the imported names are modules
                names.update(f"{module}.{alias.name}" for alias in node.names)
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
    assert offenders("deskapp", ("textual", "screens", "rich", "seed")) == []


def test_rules_are_pure():
    assert offenders("deskapp/rules", ("sqlalchemy", "sqlmodel", "models", "textual")) == []


def test_screens_write_no_sql():
    # Only the App (its read/write session helpers) and the command line open sessions.
    skip = ("screens/app.py", *(p.relative_to(ROOT).as_posix() for p in (ROOT / "screens/cli").glob("*.py")))
    assert offenders("screens", ("sqlalchemy", "sqlmodel", "models.tables", "models.engine"), skip=skip) == []


def test_the_import_contracts_hold():
    """import-linter over the whole tree: every contract in pyproject.toml is kept."""
    linter = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(linter), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


def test_the_domain_loads_without_textual():
    """Every service, rule and model imports in a fresh interpreter with no Textual or Rich."""
    code = (
        "import importlib, pkgutil, sys, deskapp, models\n"
        "for pkg in (deskapp, models):\n"
        "    for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
        "        if '.migrations' not in m.name:\n"
        "            importlib.import_module(m.name)\n"
        "print(sorted(n for n in sys.modules if n.split('.')[0] in ('textual', 'rich', 'screens', 'seed')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"


def test_the_warm_up_leaves_the_mail_parser_out():
    """The modules the desk imports after its first frame (the inbox, the card, the dialogs)
    do not load the mail parser and the email package's parser: ~2.3 MB of the desk's
    resident memory that only ``mail receive``/``fetch`` need (issue 16, peak RSS)."""
    code = (
        "import importlib, sys, screens.app\n"
        "for name in screens.app.WARM_UP:\n"
        "    importlib.import_module(name)\n"
        "print(sorted(n for n in ('deskapp.rules.mail_parse', 'email.parser', 'email.feedparser')"
        " if n in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"


def test_the_desk_on_sqlite_leaves_the_postgresql_dialect_out():
    """The warm-up's modules (the tables, the services, the screens) do not load SQLAlchemy's
    PostgreSQL dialect and its drivers' dialects: 2.2 MB of a desk on SQLite (issue 16);
    Alembic still sees the partial index's PostgreSQL predicate (models/migrations/env.py)."""
    code = (
        "import importlib, sys, screens.app\n"
        "for name in screens.app.WARM_UP:\n"
        "    importlib.import_module(name)\n"
        "print(sorted(n for n in sys.modules if n.startswith('sqlalchemy.dialects.postgresql')))\n"
        "import models.tables as t\n"
        "from sqlalchemy.dialects import postgresql\n"
        "from sqlalchemy.schema import CreateIndex\n"
        "t.with_postgresql_options()\n"
        "index, = (i for i in t.Ticket.__table__.indexes if i.name == 'ix_ticket_flagged')\n"
        "print(CreateIndex(index).compile(dialect=postgresql.dialect()))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    loaded, ddl = done.stdout.strip().splitlines()
    assert loaded == "[]"
    assert ddl.endswith("WHERE flags <> ''")
