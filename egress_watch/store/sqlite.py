"""sqlite-utils, imported without numpy.

sqlite-utils imports numpy whenever it is installed, only to map numpy column types, which the
history never holds. numpy is installed for the code index's bulk indexing and costs about
0.15 s to import: the daemon, ``status`` and the dashboard must not pay it. Every module of
egress-watch takes ``Database`` (and ``Migrations``) from here.
"""

from __future__ import annotations

import sys

_BLOCKED = "numpy" not in sys.modules
if _BLOCKED:  # an import of a None entry fails, so sqlite-utils goes without numpy types
    sys.modules["numpy"] = None  # type: ignore[assignment]
try:
    from sqlite_utils import Database
    from sqlite_utils.migrations import Migrations
finally:
    if _BLOCKED:
        del sys.modules["numpy"]

__all__ = ["Database", "Migrations"]
