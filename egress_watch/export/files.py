"""JSON lines to a local file, rotated by size, for Fluent Bit / Vector / Filebeat to tail."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from egress_watch.config.export_sinks import SinkConfig
from egress_watch.export.sink import Health, Record, SinkError
from egress_watch.paths import make_private_dirs


class FileSink:
    """Append one JSON object per line; ``name.1`` … ``name.N`` keep the rotated ones."""

    confirm_delay_s = 0.0

    def __init__(self, config: SinkConfig) -> None:
        self._path = Path(config.path).expanduser()
        self._max_bytes = config.max_mib * 2**20
        self._backups = config.backups

    def _rotate(self) -> None:
        """Shift ``name.N`` to ``name.N+1`` (the oldest is overwritten), then ``name`` to ``.1``."""
        for number in range(self._backups - 1, 0, -1):
            older = self._path.with_name(f"{self._path.name}.{number}")
            if older.exists():
                older.replace(self._path.with_name(f"{self._path.name}.{number + 1}"))
        self._path.replace(self._path.with_name(f"{self._path.name}.1"))

    def send(self, records: Sequence[Record]) -> None:
        """Append and fsync the batch (delivered means on disk); rotate first when full."""
        data = "".join(r.json() + "\n" for r in records).encode()
        try:
            make_private_dirs(self._path.parent)
            if self._path.exists() and self._path.stat().st_size + len(data) > self._max_bytes:
                self._rotate()
            fd = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                os.write(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as error:
            raise SinkError(f"{self._path}: {error.strerror}") from None

    def check(self) -> Health:
        return "ok"

    def close(self) -> None:
        """Nothing held open between batches."""
