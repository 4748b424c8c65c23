"""``python -m bench`` — see bench/README.md."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path

from .common import BENCH, SECTIONS, Results, log


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description="Measure the real deskapp in a pseudo-terminal beside a bare Textual reference app.",
    )
    p.add_argument("--runs", type=int, default=3, help="desk processes per dataset for keys/memory (default 3)")
    p.add_argument("--startup-runs", type=int, help="starts per dataset for the startup figures (default 2×runs)")
    p.add_argument("--quick", action="store_true",
                   help="one run, demo database only, a 3-page walk, few query iterations (a smoke run)")
    p.add_argument("--only", help=f"comma-separated sections: {','.join(SECTIONS)} (default: all)")
    p.add_argument("--datasets", help="comma-separated: demo,large (default: both; --quick: demo)")
    p.add_argument("--json", type=Path, default=BENCH / "results.json", help="where to write the results")
    p.add_argument("--large-db", help="a database made by 'deskapp seed large' to use instead of the cache")
    p.add_argument("--demo-db", help="a database made by 'deskapp seed demo' to use instead of the cache")
    p.add_argument("--pg", action="store_true", help="also run the queries and the claim race on PostgreSQL "
                   "(DESK_TEST_PG_URL; schemas bench_demo, bench_large, bench_claims)")
    p.add_argument("--quiet-ms", type=float, default=150, help="quiet window that ends a key measurement")
    p.add_argument("--iterations", type=int, help="calls per query figure (default 30; --quick 5)")
    p.add_argument("--seed-runs", type=int, help="runs of the seed comparison (default 2; --quick 1)")
    p.add_argument("--claims", type=int, help="tickets in the claim race (default 1000; --quick 200)")
    p.add_argument("--mail-messages", type=int,
                   help="messages fetched and in the long thread of the mail section (default 1000 and 200; "
                        "--quick 100 and 200)")
    p.add_argument("--walk-pages", type=int, help="pages walked for the memory figure (default: to the end)")
    return p


def _bytecode_as_installed() -> None:
    """Measure the desk as an installed program runs: from compiled bytecode.

    Where the machine sets ``PYTHONDONTWRITEBYTECODE`` every desk process (and the
    reference app) would compile its modules from source at each start. The project's
    packages are compiled once here, and the processes the benchmark starts may cache."""
    import compileall

    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    root = BENCH.parent
    for package in ("deskapp", "screens", "models", "seed", "bench"):
        compileall.compile_dir(str(root / package), quiet=1)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    sections = set(SECTIONS if not args.only else (s.strip() for s in args.only.split(",") if s.strip()))
    unknown = sections - set(SECTIONS)
    if unknown:
        print(f"bench: unknown section(s): {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    names = args.datasets.split(",") if args.datasets else (["demo"] if args.quick else ["demo", "large"])
    if set(names) - {"demo", "large"}:
        print("bench: --datasets takes demo and/or large", file=sys.stderr)
        return 2
    if args.pg and not os.environ.get("DESK_TEST_PG_URL"):
        print("bench: --pg needs DESK_TEST_PG_URL", file=sys.stderr)
        return 2
    runs = 1 if args.quick else max(1, args.runs)
    startup_runs = args.startup_runs or (1 if args.quick else 2 * runs)
    iterations = args.iterations or (5 if args.quick else 30)
    seed_runs = args.seed_runs or (1 if args.quick else 2)
    claims = args.claims or (200 if args.quick else 1000)
    walk_pages = args.walk_pages if args.walk_pages is not None else (3 if args.quick else None)

    _bytecode_as_installed()

    from .report import load_baseline

    baseline = load_baseline(BENCH / "results.json")  # the committed run: the trend's baseline
    started = time.perf_counter()
    load_before = os.getloadavg()
    results = Results()

    # The seed comparison first: its first seed becomes the cached large database.
    if "seed" in sections:
        from .seeding import run_seed

        run_seed(results, runs=seed_runs, keep_large=not args.large_db)

    from . import datasets as ds

    sqlite_dbs: dict[str, str] = {}
    expects: dict[str, ds.Expect] = {}
    needs_db = sections & {"startup", "keys", "memory", "queries"}
    if needs_db:
        for name in names:
            given = args.large_db if name == "large" else args.demo_db
            if given:
                sqlite_dbs[name] = str(Path(given))
            else:
                sqlite_dbs[name] = ds.sqlite_db(name, large_db=None)
            expects[name] = ds.expect("sqlite:///" + str(Path(sqlite_dbs[name]).absolute()))

    if sections & {"startup", "keys", "memory"}:
        from .ui import Options, run_ui

        opts = Options(quiet=args.quiet_ms / 1000, walk_pages=walk_pages)
        run_ui(results, {n: (sqlite_dbs[n], expects[n]) for n in names}, runs=runs, startup_runs=startup_runs,
               opts=opts, sections=sections)

    if "queries" in sections:
        from .queries import run_queries

        for name in names:
            run_queries(results, "sqlite", name, expects[name].url, expects[name], iterations=iterations)
        if args.pg:
            for name in names:
                url = ds.pg_db(name)
                run_queries(results, "pg", name, url, ds.expect(url), iterations=iterations)

    if "contention" in sections:
        from .contention import run_contention

        run_contention(results, runs=runs, count=claims, pg=args.pg)

    if "import" in sections:
        from .importing import run_import

        run_import(results, runs=seed_runs)

    if "mail" in sections:
        from .mail import run_mail

        run_mail(results, runs=runs, quick=args.quick, messages=args.mail_messages)

    from .report import machine_factor, table, trend, trend_text, write_json

    text = table(results)
    print(text)
    worse = trend(results, baseline)
    factor = machine_factor(results, baseline)
    print()
    print(trend_text(worse, baseline, factor))
    meta = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "argv": sys.argv[1:] if argv is None else argv,
        "sections": sorted(sections),
        "datasets": {n: {"db": sqlite_dbs.get(n), "tickets": expects[n].tickets} for n in expects},
        "runs": runs,
        "startup_runs": startup_runs,
        "quiet_ms": args.quiet_ms,
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "seconds": round(time.perf_counter() - started, 1),
        "table": text,
        "trend": {"baseline": (baseline or {}).get("meta", {}).get("when"), "machine_factor": round(factor, 3),
                  "worse": worse},
    }
    write_json(results, args.json, meta)
    log(f"results written to {args.json} ({meta['seconds']} s; load average before {load_before[0]:.2f})")
    failed = [f.label for f in results.figures.values() if f.verdict == "error"]
    return 1 if failed else 0
