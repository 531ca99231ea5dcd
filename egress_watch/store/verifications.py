"""Live-verification outcomes by fingerprint (``[secrets] verify``); never a value."""

from __future__ import annotations

import threading
from pathlib import Path

from egress_watch.classify.verify import Outcome
from egress_watch.store.database import open_writer


class VerificationStore:
    """The verifier's own connection (checks are rare and rate-limited; the event writer keeps
    its batches); thread-safe."""

    def __init__(self, path: Path) -> None:
        self._db = open_writer(path)
        self._lock = threading.Lock()

    def record(self, outcome: Outcome) -> None:
        row = {"fingerprint": outcome.fingerprint, "outcome": outcome.outcome,
               "checked_at": outcome.checked_at}  # fmt: skip
        with self._lock:
            self._db.table("verifications").upsert(row, pk="fingerprint")

    def known(self, fingerprint: str) -> bool:
        with self._lock:
            rows = self._db.execute(
                "SELECT 1 FROM verifications WHERE fingerprint = ?", [fingerprint]
            ).fetchall()
        return bool(rows)

    def outcome(self, fingerprint: str) -> tuple[str, str] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT outcome, checked_at FROM verifications WHERE fingerprint = ?",
                [fingerprint],
            ).fetchone()
        return None if row is None else (row[0], row[1])

    def close(self) -> None:
        with self._lock:
            self._db.conn.close()
