"""Our own source files as a sample codebase: tests index and match egress_watch's modules.

Tests name a module by its flat name from before the stage packages (``policy.py``), which is
also the name its copy gets inside a test repository; ``own_source`` finds it in today's tree
through the old -> new module map of tools/restructure.py.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).parents[2]
PACKAGE = ROOT / "egress_watch"


@cache
def restructure_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("restructure", ROOT / "tools" / "restructure.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def own_source(name: str) -> Path:
    """The file or folder of the package named ``name`` (a path relative to the package)."""
    direct = PACKAGE / name
    if direct.exists():
        return direct
    by_path = restructure_tool().FILE_MOVES.get(f"egress_watch/{name}")
    if by_path is not None:
        return ROOT / by_path
    dotted = "egress_watch." + name.removesuffix(".py").replace("/", ".")
    moved = restructure_tool().new_module(dotted)
    if moved is None:
        raise FileNotFoundError(f"no module {name} in {PACKAGE}")
    suffix = ".py" if name.endswith(".py") else ""
    return ROOT / (moved.replace(".", "/") + suffix)
