"""The table (Markdown, printed and pasted into bench/README.md) and the JSON file."""

from __future__ import annotations

import json
import os
import statistics
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


# --------------------------------------------------------------------------- the trend

HIGHER_IS_BETTER = {"claims/s"}


def _spread(samples: list[float], median: float | None) -> float:
    """The relative noise of one figure's samples: half the interquartile range (half the
    whole range below 4 samples) over the median; 0 without samples."""
    if not samples or not median:
        return 0.0
    s = sorted(samples)
    if len(s) >= 4:
        q1, q3 = s[len(s) // 4], s[(3 * len(s)) // 4]
        return (q3 - q1) / 2 / abs(median)
    return (s[-1] - s[0]) / 2 / abs(median)


def load_baseline(path: Path) -> dict | None:
    """The committed results (bench/results.json), read before this run overwrites them."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def trend(results: Results, baseline: dict | None, *, floor: float = 0.05) -> list[dict]:
    """Figures that got worse than the baseline by more than the noise measured.

    A figure with a reference in both runs is compared by its ratio (the machine's load
    moves both sides), others by the median. The noise is the larger relative spread of
    the two runs' samples, at least ``floor``; "worse" is lower for claims/s, higher for
    everything else.
    """
    if not baseline:
        return []
    old_figures = baseline.get("figures", {})
    factor = machine_factor(results, baseline)
    worse = []
    for key, fig in results.figures.items():
        old = old_figures.get(key)
        if not fig.samples or not old or old.get("median") is None or key.startswith("ui.ref."):
            continue  # the reference's own figures are the yardstick (machine_factor)
        by_ratio = fig.ratio is not None and old.get("ratio")
        now_value = fig.ratio if by_ratio else fig.median
        old_value = old["ratio"] if by_ratio else old["median"]
        if not by_ratio and fig.unit in ("ms", "s"):
            now_value = now_value / factor  # a time without a reference: as on the baseline's machine
        if not old_value:
            continue
        noise = max(_spread(fig.samples, fig.median), _spread(old.get("samples") or [], old["median"]), floor)
        change = (now_value - old_value) / abs(old_value)
        if fig.unit in HIGHER_IS_BETTER:
            change = -change
        if change > noise:
            worse.append({"key": key, "label": fig.label, "by": "ratio" if by_ratio else "median",
                          "before": old_value, "now": now_value, "change": change, "noise": noise})
    return worse


def machine_factor(results: Results, baseline: dict | None) -> float:
    """How much slower this machine ran than on the baseline: the median of now/before
    over the reference app's times (start, quit, keys). Times without a reference of
    their own (the queries) are divided by it before they are compared; 1 without data."""
    old_figures = (baseline or {}).get("figures", {})
    factors = []
    for key, fig in results.figures.items():
        old = old_figures.get(key)
        if key.startswith("ui.ref.") and fig.unit == "ms" and fig.samples and old and old.get("median"):
            factors.append(fig.median / old["median"])
    return statistics.median(factors) if factors else 1.0


def trend_text(worse: list[dict], baseline: dict | None, factor: float = 1.0) -> str:
    if not baseline:
        return "Trend: no committed bench/results.json to compare with."
    when = baseline.get("meta", {}).get("when", "?")
    machine = f"the machine ran {factor:.2f}× the baseline's reference times; times without a reference are scaled by it"
    if not worse:
        return f"Trend: nothing got worse than the committed results ({when}) by more than the noise ({machine})."
    lines = [f"Worse than the committed results ({when}), beyond the noise measured ({machine}):"]
    for w in worse:
        fmt = (lambda v: f"{v:.2f}×") if w["by"] == "ratio" else (lambda v: f"{v:.4g}")
        lines.append(f"- {w['label']}: {w['by']} {fmt(w['before'])} → {fmt(w['now'])} "
                     f"(+{w['change']:.0%}, noise ±{w['noise']:.0%})")
    return "\n".join(lines)
