"""`stepwise serve`: the app under gunicorn, with the settings a council's platform team sets.

Each setting has an environment variable, so a service manager (systemd, a container) sets them without a
command line; see the README's production recipe.
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.http import wsgi

# gunicorn names itself in a Server header on every answer; a reviewer's scan should not learn it.
SERVER_NAME = "stepwise"


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


@dataclass
class ServeOptions:
    bind: str = "127.0.0.1:8000"
    workers: int = 4  # processes: about two per core
    threads: int = 4  # threads per process (the gthread worker)
    timeout: int = 60  # seconds a request may run before its worker is replaced
    graceful_timeout: int = 30  # seconds a worker has to finish its requests at a restart
    keepalive: int = 5
    max_requests: int = 10_000  # a worker is recycled after this many requests (with jitter)
    forwarded_allow_ips: str = "127.0.0.1"  # proxies whose X-Forwarded-* gunicorn itself believes

    @classmethod
    def from_env(cls) -> ServeOptions:
        return cls(
            bind=os.environ.get("STEPWISE_BIND") or cls.bind,
            workers=_env_int("STEPWISE_WORKERS", cls.workers),
            threads=_env_int("STEPWISE_THREADS", cls.threads),
            timeout=_env_int("STEPWISE_TIMEOUT", cls.timeout),
            graceful_timeout=_env_int("STEPWISE_GRACEFUL_TIMEOUT", cls.graceful_timeout),
            keepalive=_env_int("STEPWISE_KEEPALIVE", cls.keepalive),
            max_requests=_env_int("STEPWISE_MAX_REQUESTS", cls.max_requests),
            forwarded_allow_ips=os.environ.get("STEPWISE_FORWARDED_ALLOW_IPS") or cls.forwarded_allow_ips,
        )

    def gunicorn_settings(self) -> dict[str, Any]:
        return {**asdict(self), "worker_class": "gthread", "max_requests_jitter": max(self.max_requests // 10, 1),
                "accesslog": "-", "errorlog": "-",
                # The access log line without the query string, which may carry a case reference.
                "access_log_format": '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(L)ss'}


class StepwiseServer(BaseApplication):
    """gunicorn's application protocol: each worker process builds its own app (nothing shared by fork)."""

    def __init__(self, options: ServeOptions) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.gunicorn_settings().items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from web import create_app
        return create_app()


def serve(options: ServeOptions) -> None:
    wsgi.SERVER = SERVER_NAME
    StepwiseServer(options).run()
