"""Where egress-watch keeps its files: one data home, chosen once per command."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

HOME_ENV = "EGRESS_WATCH_HOME"
APP_NAME = "egress-watch"


PRIVATE_DIR_MODE = 0o700


def make_private_dirs(path: Path) -> None:
    """Create ``path`` and any missing parents as 0700 (whatever the umask); existing folders
    are left as they are. ``Path.mkdir(parents=True)`` gives the parents the umask's 0755."""
    missing: list[Path] = []
    current = path
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=PRIVATE_DIR_MODE)
        except FileExistsError:
            continue  # another process made it meanwhile: theirs to keep
        os.chmod(folder, PRIVATE_DIR_MODE)


def resolve_home(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Pick the data home: ``--home`` first, then ``$EGRESS_WATCH_HOME``, then the platform dir."""
    if explicit:
        return Path(explicit).expanduser().absolute()
    from_env = os.environ.get(HOME_ENV)
    if from_env:
        return Path(from_env).expanduser().absolute()
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


@dataclass(frozen=True, slots=True)
class HomePaths:
    """Every file egress-watch reads or writes, derived from the data home."""

    home: Path

    @property
    def config(self) -> Path:
        return self.home / "config.toml"

    @property
    def database(self) -> Path:
        return self.home / "history.db"

    @property
    def confdir(self) -> Path:
        """mitmproxy's confdir: holds the CA certificate and key."""
        return self.home / "mitmproxy"

    @property
    def ca_cert(self) -> Path:
        return self.confdir / "mitmproxy-ca-cert.pem"

    @property
    def hmac_key(self) -> Path:
        return self.home / "fingerprint.key"

    @property
    def pidfile(self) -> Path:
        return self.home / "daemon.pid"

    @property
    def state(self) -> Path:
        """Health figures the running daemon publishes for ``status``."""
        return self.home / "daemon.json"

    @property
    def log(self) -> Path:
        return self.home / "daemon.log"
