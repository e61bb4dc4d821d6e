"""One size's database: the app on it, its API client, and its cases filled to that size and checked."""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date
from math import ceil

from flask import Flask

from bench.app import close, make_app, prepare
from bench.client import Api
from bench.errors import BenchError
from bench.fill import Population, grow, verify
from bench.templates import build
from bench.walks import walks
from engine.scripting import today


@dataclass
class Site:
    size: int
    app: Flask
    api: Api
    population: Population


def open_site(database_url: str, size: int, variants: int, completions: int, progress: bool = True) -> Site:
    """Drive the templates through the API, copy them up to `size` instances, and complete a copy of each;
    enough copies must be left for `completions` more, spread over the templates."""
    app = make_app(database_url)
    try:
        api = Api(app, prepare(app))
        started = time.perf_counter()
        population = Population(build(app, api, walks(date.fromisoformat(today()), variants)))
        driven = time.perf_counter() - started
        needed = len(population.templates) * (2 + ceil(completions / len(population.templates)))
        if size < needed:
            raise BenchError(f"{size:,} instances leave too few copies to complete: use at least {needed:,}")
        filled = grow(app, population, size, progress=progress)
        verify(app, api, population)
    except BaseException:
        close(app)
        raise
    if progress:
        print(f"{size:,} instances: {len(population.templates)} templates driven through the API in {driven:.1f} s,"
              f" copies inserted in {filled:.1f} s, a copy of each completed", flush=True)
    return Site(size, app, api, population)
