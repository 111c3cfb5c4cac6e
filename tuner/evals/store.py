"""The result store: SQLite in the user cache, one row per scored item.

Key: (model fingerprint, benchmark id, benchmark version, prompt hash, variant, item key). The
fingerprint hashes weight and adapter file contents, so a retrained checkpoint in the same folder
never reuses stale rows; the prompt hash catches a template edited without a version bump. Each
batch is committed on its own, so an interrupted eval loses at most the batch in flight.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tuner.paths import tuner_home

SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    model TEXT NOT NULL, benchmark TEXT NOT NULL, version INTEGER NOT NULL, prompt_hash TEXT NOT NULL,
    variant TEXT NOT NULL, item TEXT NOT NULL, payload TEXT NOT NULL,
    PRIMARY KEY (model, benchmark, version, prompt_hash, variant, item)
);
CREATE TABLE IF NOT EXISTS fingerprints (
    path TEXT PRIMARY KEY, signature TEXT NOT NULL, fingerprint TEXT NOT NULL
);
"""


def default_store_path() -> Path:
    return tuner_home() / "results.sqlite"


class ResultStore:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_store_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, timeout=60)
        self.db.execute("PRAGMA journal_mode=WAL")  # readers never block the writer of another eval
        self.db.executescript(SCHEMA)

    def get(self, model: str, benchmark: str, version: int, prompt_hash: str, variant: str) -> dict[str, dict[str, Any]]:
        rows = self.db.execute(
            "SELECT item, payload FROM responses WHERE model=? AND benchmark=? AND version=? AND prompt_hash=? AND variant=?",
            (model, benchmark, version, prompt_hash, variant),
        )
        return {item: json.loads(payload) for item, payload in rows}

    def put(self, model: str, benchmark: str, version: int, prompt_hash: str, variant: str, responses: Iterable[dict[str, Any]]) -> None:
        """Write one batch atomically."""
        with self.db:
            self.db.executemany(
                "INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(model, benchmark, version, prompt_hash, variant, r["item"], json.dumps(r)) for r in responses],
            )

    def cached_fingerprint(self, path: str, signature: str) -> str | None:
        row = self.db.execute("SELECT fingerprint FROM fingerprints WHERE path=? AND signature=?", (path, signature)).fetchone()
        return row[0] if row else None

    def remember_fingerprint(self, path: str, signature: str, fingerprint: str) -> None:
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO fingerprints VALUES (?, ?, ?)", (path, signature, fingerprint))

    def close(self) -> None:
        self.db.close()
