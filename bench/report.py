"""The table (Markdown, printed and pasted into bench/README.md) and the JSON file."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path

from .common import Figure, Results

HEADER = ("figure", "median", "min", "max", "runs", "reference", "ratio", "target", "result")


def _num(value: float | None, unit: str) -> str:
    if value is None:
        return "–"
    if unit == "ms":
        return f"{value:.1f} ms" if value < 100 else f"{value:.0f} ms"
    if unit == "s":
        return f"{value:.2f} s"
    if unit == "MB":
        return f"{value:.1f} MB"
    if unit == "claims/s":
        return f"{value:.0f}/s"
    return f"{value:g} {unit}"


def row(fig: Figure) -> tuple[str, ...]:
    s = fig.samples
    verdict = fig.verdict
    if verdict == "FAIL" and fig.checks and not all(fig.checks.values()):
        verdict += " (" + ", ".join(k for k, ok in fig.checks.items() if not ok) + ")"
    if not s:
        verdict = fig.status or verdict
    return (
        fig.label,
        _num(fig.median, fig.unit),
        _num(min(s) if s else None, fig.unit),
        _num(max(s) if s else None, fig.unit),
        str(len(s)),
        _num(fig.reference, fig.unit),
        f"{fig.ratio:.2f}×" if fig.ratio is not None else "–",
        fig.target.text(fig.unit) if fig.target else "–",
        verdict,
    )


def table(results: Results) -> str:
    rows = [row(f) for f in results.figures.values() if f.samples or f.status]
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "|".join(" --- " for _ in HEADER) + "|"]
    lines += ["| " + " | ".join(cell.replace("|", "/") for cell in r) + " |" for r in rows]
    return "\n".join(lines)


def machine() -> dict:
    info = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
    }
    try:
        import textual

        info["textual"] = textual.__version__
    except Exception:  # pragma: no cover
        pass
    return info


def write_json(results: Results, path: Path, meta: dict) -> None:
    data = {
        "meta": {**meta, "machine": machine()},
        "figures": {key: fig.as_json() for key, fig in results.figures.items()},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
