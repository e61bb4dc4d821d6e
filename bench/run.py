"""Entry point: fill a database to each size and print the figures as ratios to the raw SpiffWorkflow cycle.

    python -m bench.run                                  # 1,000 and 10,000 instances, temporary SQLite files
    python -m bench.run --sizes 1000,10000,100000 --repeat 100
    python -m bench.run --database-url 'postgresql+psycopg://u:p@host/bench_{size}'
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from bench.app import close
from bench.errors import BenchError
from bench.measure import Results, measure
from bench.raw import RawCycle
from bench.report import print_report
from bench.site import Site, open_site


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000", type=sizes,
                        help="instance counts, each in its own database (default 1000,10000)")
    parser.add_argument("--database-url",
                        help="an empty database for each size, named with {size} when there are several "
                             "(default: temporary SQLite files)")
    parser.add_argument("--repeat", type=int, default=100,
                        help="task completions per size, and 5× as many of each read (default 100)")
    parser.add_argument("--variants", type=int, default=3,
                        help="main-path template cases, a week apart, so timers fall on different days (default 3)")
    args = parser.parse_args(argv)
    if args.database_url and len(args.sizes) > 1 and "{size}" not in args.database_url:
        parser.error("with several sizes, put {size} in --database-url: each size needs its own database")
    return args


def sizes(text: str) -> list[int]:
    values = sorted({int(part.replace("_", "")) for part in text.split(",") if part.strip()})
    if not values or values[0] < 1:
        raise argparse.ArgumentTypeError("sizes are positive instance counts, e.g. 1000,10000")
    return values


def bench(url: str, size_list: list[int], times: int, variants: int) -> Results:
    sites: list[Site] = []
    try:
        for size in size_list:
            print(f"filling a database to {size:,} instances …", flush=True)
            sites.append(open_site(url.replace("{size}", str(size)), size, variants, times))
        print("measuring …", flush=True)
        return measure(sites, RawCycle(sites[0].app, sites[0].population.templates), times)
    finally:
        for site in sites:
            close(site.app)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="stepwise-bench-") as scratch:
        url = args.database_url or f"sqlite:///{Path(scratch) / 'bench-{size}.db'}"
        try:
            results = bench(url, args.sizes, args.repeat, args.variants)
        except BenchError as exc:
            print(f"bench: {exc}", file=sys.stderr)
            return 2
    print_report(results)
    return 0  # a measurement, not a test: the verdicts are for reading, whatever they say


if __name__ == "__main__":
    raise SystemExit(main())
