"""Create the data home on first use: private directory, commented config, fingerprint key."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from egress_watch.config.defaults import DEFAULT_CONFIG
from egress_watch.errors import ConfigError
from egress_watch.paths import HomePaths, make_private_dirs

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
KEY_BYTES = 32


def write_private(path: Path, data: bytes) -> None:
    """Create ``path`` with mode 0600 from the first byte on (no window where others can read)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def prepare_home(paths: HomePaths) -> None:
    """Make the home 0700 and write the default config and HMAC key if they are missing."""
    try:
        make_private_dirs(paths.home)
        if paths.home.stat().st_mode & 0o777 != PRIVATE_DIR:  # a read-only home is fine as is
            os.chmod(paths.home, PRIVATE_DIR)
        if not paths.config.exists():
            write_private(paths.config, DEFAULT_CONFIG.encode())
        if not paths.hmac_key.exists():
            write_private(paths.hmac_key, secrets.token_bytes(KEY_BYTES))
    except FileExistsError:
        pass  # another process created it between our check and our write
    except OSError as error:
        raise ConfigError(f"{paths.home}: cannot prepare data home: {error.strerror}") from None


def load_hmac_key(paths: HomePaths) -> bytes:
    """Read the per-install fingerprint key; refuse a key that others can read."""
    try:
        key = paths.hmac_key.read_bytes()
        mode = paths.hmac_key.stat().st_mode & 0o777
    except OSError as error:
        raise ConfigError(f"{paths.hmac_key}: cannot read key: {error.strerror}") from None
    if mode & 0o077:
        raise ConfigError(f"{paths.hmac_key}: key is readable by others (mode {mode:o}); chmod 600")
    if len(key) < 16:
        raise ConfigError(f"{paths.hmac_key}: key is too short; delete it to make a new one")
    return key
