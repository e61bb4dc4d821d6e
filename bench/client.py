"""The JSON API through the Flask test client, each request in its own app context as in production."""
from __future__ import annotations

from typing import Any

from flask import Flask

from bench.errors import BenchError


class Api:
    def __init__(self, app: Flask, tokens: dict[str, str]) -> None:
        self.http = app.test_client()
        self.headers = {who: {"Authorization": f"Bearer {token}"} for who, token in tokens.items()}

    def call(self, method: str, path: str, who: str, body: Any = None, expect: int = 200) -> Any:
        response = self.http.open(f"/api/v1{path}", method=method, json=body, headers=self.headers[who])
        if response.status_code != expect:
            raise BenchError(f"{method} {path} as {who}: {response.status_code} {response.get_data(as_text=True)}")
        return response.get_json()

    def start(self, who: str, case_ref: str, data: dict, process: str) -> int:
        body = {"process": process, "case_ref": case_ref, "data": data}
        return self.call("POST", "/instances", who, body, expect=201)["id"]

    def complete(self, task_id: str, who: str, data: dict) -> dict:
        return self.call("POST", f"/tasks/{task_id}/complete", who, {"data": data})

    def event(self, instance_id: int, name: str, who: str, payload: dict) -> dict:
        return self.call("POST", f"/instances/{instance_id}/events", who, {"event": name, "payload": payload})

    def worklist(self, who: str, lane: str | None = None) -> list[dict]:
        return self.call("GET", f"/tasks?lane={lane}" if lane else "/tasks", who)["tasks"]
