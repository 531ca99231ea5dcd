"""Naming the tool, not its runtime: npm layouts on disk, python -m, and real node processes."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from egress_watch.capture.attribution import describe
from egress_watch.capture.toolname import read_package_json, script_of, tool_name


def npm_global(root: Path, package: str, bins: dict[str, str], script: str) -> Path:
    """An npm global install: ``lib/node_modules/<package>`` plus ``bin/<name>`` symlinks."""
    folder = root / "lib" / "node_modules" / package
    (folder / Path(script).parent).mkdir(parents=True, exist_ok=True)
    (folder / script).write_text("console.log('hi')\n")
    (folder / "package.json").write_text(json.dumps({"name": package, "bin": bins}))
    (root / "bin").mkdir(parents=True, exist_ok=True)
    for name, target in bins.items():
        link = root / "bin" / name
        if not link.exists():
            link.symlink_to(folder / target)
    return folder / script


@pytest.mark.parametrize(
    ("package", "bins", "script", "tool"),
    [
        ("@anthropic-ai/claude-code", {"claude": "cli.js"}, "cli.js", "claude"),
        ("@qwen-code/qwen-code", {"qwen": "cli.js"}, "cli.js", "qwen"),
        ("@google/gemini-cli", {"gemini": "dist/index.js"}, "dist/index.js", "gemini"),
        ("@openai/codex", {"codex": "bin/codex.js"}, "bin/codex.js", "codex"),
        ("some-agent", {"sa": "dist/main.js", "sa-server": "dist/srv.js"}, "dist/main.js", "sa"),
        ("@acme/helper", {}, "index.js", "helper"),
    ],
)
def test_a_node_script_is_named_by_its_package(
    tmp_path: Path, package: str, bins: dict[str, str], script: str, tool: str
) -> None:
    path = npm_global(tmp_path, package, bins, script)
    read_package_json.cache_clear()
    # started through the bin symlink (what a shell does) and by the real path
    links = [str(tmp_path / "bin" / b) for b, target in bins.items() if target == script]
    for started in [*links, str(path)]:
        args = ["node", "--no-warnings", started, "-p", "hello"]
        assert tool_name("node", "/usr/bin/node", args) == tool, started


@pytest.mark.parametrize(
    ("name", "exe", "args", "tool"),
    [
        ("codex", "/opt/codex/codex", ["codex", "exec", "hi"], "codex"),  # native binary
        ("claude", "/home/u/.local/share/claude/versions/2.1.0", ["claude", "-p"], "claude"),
        ("python3.12", "/usr/bin/python3.12", ["python3.12", "-m", "aider", "--yes"], "aider"),
        ("python3", "/usr/bin/python3.12", ["python3", "/home/u/.local/bin/aider"], "aider"),
        ("python3", "/usr/bin/python3", ["python3", "-c", "import x"], "python3"),
        ("node", "/usr/bin/node", ["node", "-e", "fetch('x')"], "node"),
        ("node", "/usr/bin/node", ["node", "-r", "ts-node/register", "/w/bot.ts"], "bot"),
        ("bun", "/usr/bin/bun", ["bun", "run", "/w/agent.ts"], "agent"),
        ("deno", "/usr/bin/deno", ["deno", "run", "-A", "/w/tool.ts"], "tool"),
        ("curl", "/usr/bin/curl", ["curl", "https://api.openai.com"], "curl"),
        ("Cursor.exe", None, ["C:\\Cursor\\Cursor.exe"], "cursor"),
    ],
)
def test_tools_runtimes_and_plain_programs(
    name: str, exe: str | None, args: list[str], tool: str
) -> None:
    assert tool_name(name, exe, args, read_package=lambda _: None) == tool


def test_script_of_skips_runtime_options() -> None:
    assert script_of(["node", "--max-old-space-size=4096", "/a/cli.js", "x"]) == (
        "path",
        "/a/cli.js",
    )
    assert script_of(["python3", "-X", "utf8", "-m", "llm.cli"]) == ("module", "llm")
    assert script_of(["node"]) is None


def test_a_relative_script_resolves_against_the_working_directory(tmp_path: Path) -> None:
    npm_global(tmp_path, "@qwen-code/qwen-code", {"qwen": "cli.js"}, "cli.js")
    read_package_json.cache_clear()
    cwd = tmp_path / "lib" / "node_modules" / "@qwen-code" / "qwen-code"
    assert tool_name("node", None, ["node", "cli.js"], cwd=str(cwd)) == "qwen"


def test_a_broken_package_json_falls_back_to_the_script_name(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "package.json").write_text("{not json")
    (tmp_path / "pkg" / "runner.mjs").write_text("")
    read_package_json.cache_clear()
    assert tool_name("node", None, ["node", str(tmp_path / "pkg" / "runner.mjs")]) == "runner"


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_a_real_node_process_is_named_by_its_package(tmp_path: Path) -> None:
    """Two tools on one runtime get two names (the issue: qwen and gemini were both node)."""
    names = {}
    for package, tool in (("@qwen-code/qwen-code", "qwen"), ("@google/gemini-cli", "gemini")):
        script = npm_global(tmp_path / tool, package, {tool: "cli.js"}, "cli.js")
        script.write_text("setTimeout(() => {}, 20000)\n")
        read_package_json.cache_clear()
        node = shutil.which("node")
        assert node is not None
        child = subprocess.Popen([node, str(tmp_path / tool / "bin" / tool), "-p", "hi"])
        try:
            deadline = time.monotonic() + 10
            info = describe(child.pid, lambda _: [])
            while (info is None or info.name != "node") and time.monotonic() < deadline:
                info = describe(child.pid, lambda _: [])
            assert info is not None
            assert info.name == "node"
            names[tool] = info.tool
        finally:
            child.kill()
            child.wait(timeout=10)
    assert names == {"qwen": "qwen", "gemini": "gemini"}
