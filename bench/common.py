"""Shared pieces: where things are, how the desk is started, figures and their targets."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

# Not resolved: a bench/ linked into another checkout measures that checkout.
BENCH = Path(__file__).absolute().parent
ROOT = BENCH.parent
CACHE = BENCH / ".cache"

SECTIONS = ("startup", "keys", "memory", "queries", "seed", "contention", "import", "mail")


def child_env() -> dict[str, str]:
    """The environment for processes the benchmark starts: this checkout first on the path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.pop("DESK_AGENT", None)
    return env


def desk_argv(*args: str) -> list[str]:
    """The real ``deskapp`` console script of this venv (as an agent starts it)."""
    script = Path(sys.executable).parent / "deskapp"
    if script.exists():
        return [str(script), *args]
    return [sys.executable, "-m", "screens.cli", *args]


def run_desk(*args: str, quiet: bool = True) -> subprocess.CompletedProcess:
    """``deskapp ARGS`` to completion (seeding, migrations); raises on a non-zero exit."""
    proc = subprocess.run(desk_argv(*args), cwd=ROOT, env=child_env(), capture_output=True, text=True,
                          check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"deskapp {' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()}")
    if not quiet:
        print(proc.stdout.strip())
    return proc


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- figures


@dataclass(frozen=True)
class Target:
    """``kind``: "max" (median ≤ value), "ratio" (median ≤ value × reference), "min" (median ≥ value)."""

    kind: str
    value: float

    def text(self, unit: str) -> str:
        if self.kind == "ratio":
            return f"≤ {self.value:g}× ref"
        sign = "≤" if self.kind == "max" else "≥"
        return f"{sign} {self.value:g} {unit}"

    def met(self, median: float, reference: float | None) -> bool | None:
        if self.kind == "max":
            return median <= self.value
        if self.kind == "min":
            return median >= self.value
        if reference is None:
            return None
        return median <= self.value * reference


@dataclass
class Figure:
    key: str  # stable id in the JSON, e.g. "ui.large.cursor_down"
    label: str  # the table's wording
    unit: str  # "ms", "MB", "s", "claims/s"
    samples: list[float] = field(default_factory=list)
    reference: float | None = None  # median of the reference measurement
    reference_label: str = ""
    target: Target | None = None
    checks: dict[str, bool] = field(default_factory=dict)  # extra conditions that must hold
    status: str = ""  # "n/a: …" or "error: …" when there are no samples
    notes: list[str] = field(default_factory=list)
    extra: dict = field(default_factory=dict)

    @property
    def median(self) -> float | None:
        return statistics.median(self.samples) if self.samples else None

    @property
    def ratio(self) -> float | None:
        m = self.median
        if m is None or not self.reference:
            return None
        return m / self.reference

    @property
    def verdict(self) -> str:
        if not self.samples:
            return "n/a" if self.status.startswith("n/a") or not self.status else "error"
        ok = True
        if self.target is not None:
            met = self.target.met(self.median, self.reference)
            if met is None:
                return "?"
            ok = met
        if self.checks and not all(self.checks.values()):
            ok = False
        if self.target is None and not self.checks:
            return "info"
        return "pass" if ok else "FAIL"

    def as_json(self) -> dict:
        samples = self.samples
        return {
            "label": self.label,
            "unit": self.unit,
            "median": _round(self.median),
            "min": _round(min(samples)) if samples else None,
            "max": _round(max(samples)) if samples else None,
            "runs": len(samples),
            "samples": [_round(s) for s in samples],
            "reference": _round(self.reference),
            "reference_label": self.reference_label,
            "ratio": _round(self.ratio),
            "target": self.target.text(self.unit) if self.target else None,
            "checks": self.checks,
            "verdict": self.verdict,
            "status": self.status,
            "notes": self.notes,
            **({"extra": self.extra} if self.extra else {}),
        }


def _round(value: float | None) -> float | None:
    if value is None:
        return None
    return round(value, 3) if abs(value) < 100 else round(value, 1)


class Results:
    """All figures of one benchmark run, in the order they were made."""

    def __init__(self) -> None:
        self.figures: dict[str, Figure] = {}

    def figure(self, key: str, label: str, unit: str, **kwargs) -> Figure:
        if key not in self.figures:
            self.figures[key] = Figure(key, label, unit, **kwargs)
        return self.figures[key]

    def add(self, key: str, label: str, unit: str, value: float | None, **kwargs) -> Figure:
        fig = self.figure(key, label, unit, **kwargs)
        if value is not None:
            fig.samples.append(value)
        return fig
