"""Process attribution helpers: masked command lines, repository roots, parent chains."""

from __future__ import annotations

import os
import shlex
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import pytest

from egress_watch.capture import attribution
from egress_watch.capture.attribution import (
    CMDLINE_HEAD,
    MASK,
    describe,
    mask_args,
    masked_cmdline,
    parent_chain,
    repo_root,
)
from egress_watch.classify.engine import Engine
from tests.conftest import fake_aws_key_id


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["claude", "--model", "opus"], ["claude", "--model", "opus"]),
        (["tool", "--api-key", "s3cr3t-value", "x"], ["tool", "--api-key", MASK, "x"]),
        (["tool", "--token=abc123"], ["tool", f"--token={MASK}"]),
        (["env", "OPENAI_API_KEY=abc123", "codex"], ["env", f"OPENAI_API_KEY={MASK}", "codex"]),
        (["mysql", "--password", "hunter2"], ["mysql", "--password", MASK]),
        (["tool", "--auth-header"], ["tool", "--auth-header"]),  # a flag at the very end
        (["git", "commit", "-m", "tokenize"], ["git", "commit", "-m", "tokenize"]),
    ],
)
def test_secret_options_are_masked_by_name(args: list[str], expected: list[str]) -> None:
    assert mask_args(args) == expected


def test_secrets_in_the_command_line_are_masked_by_content() -> None:
    engine = Engine(b"k" * 32)
    key_id = fake_aws_key_id()
    text = masked_cmdline(["deploy", "--region", "eu-west-1", key_id], engine.classify_text)
    assert key_id not in text
    assert "[REDACTED:aws-access-key:" in text
    assert text.startswith("deploy --region eu-west-1 ")


def test_only_the_head_of_a_long_command_line_is_kept() -> None:
    text = masked_cmdline(["node", *(["--flag"] * 500)], lambda _: [])
    assert len(text) == CMDLINE_HEAD
    assert text.startswith("node --flag")


def test_repo_root_is_the_nearest_folder_with_git(tmp_path: Path) -> None:
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    nested = tmp_path / "repo" / "src" / "pkg"
    nested.mkdir(parents=True)
    worktree = tmp_path / "worktree"
    worktree.mkdir()
    (worktree / ".git").write_text("gitdir: elsewhere\n")  # worktrees and submodules
    assert repo_root(str(nested)) == str(tmp_path / "repo")
    assert repo_root(str(worktree)) == str(worktree)
    assert repo_root(None) is None


def test_describe_names_this_process_its_exe_cwd_and_parents() -> None:
    info = describe(os.getpid(), lambda _: [])
    assert info is not None
    me = psutil.Process()
    assert (info.pid, info.name, info.exe, info.cwd) == (
        os.getpid(),
        me.name(),
        me.exe(),
        os.getcwd(),
    )
    assert info.parents
    assert info.parents[0] == f"{me.parent().name()}[{me.ppid()}]"  # type: ignore[union-attr]


def test_parent_chain_stops_at_an_ide_or_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """A tool started from a shell: the chain names the shell and stops there when it counts
    as a terminal, and goes on up otherwise."""
    code = "import os, sys; print(os.getpid(), flush=True); sys.stdin.read()"
    child = f"{shlex.quote(sys.executable)} -c {shlex.quote(code)}"
    shell = subprocess.Popen(
        ["sh", "-c", f"{child}; true"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert shell.stdout is not None
        tool = psutil.Process(int(shell.stdout.readline()))
        full = parent_chain(tool)
        assert full[:2] == (f"sh[{shell.pid}]", f"{psutil.Process().name()}[{os.getpid()}]")
        monkeypatch.setattr("egress_watch.capture.attribution.IDE_OR_TERMINAL", frozenset({"sh"}))
        assert parent_chain(tool) == (f"sh[{shell.pid}]",)
    finally:
        assert shell.stdin is not None
        shell.stdin.close()
        shell.wait(timeout=30)


def test_a_vanished_process_is_not_described() -> None:
    pid = max(psutil.pids()) + 100_000
    assert describe(pid, lambda _: []) is None


def test_many_connections_at_once_share_one_socket_table_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A burst of clients (a tool's connection pool, a load test) costs one scan of the socket
    table, not one each: reading it walks every process's descriptors."""
    reads = 0
    real = psutil.net_connections

    def counted(kind: str = "inet") -> list[object]:
        nonlocal reads
        reads += 1
        return list(real(kind))

    monkeypatch.setattr(psutil, "net_connections", counted)
    with socket.create_server(("127.0.0.1", 0)) as server:
        proxy = server.getsockname()
        clients = [socket.create_connection(proxy) for _ in range(16)]
        try:
            asked = time.monotonic()  # every client is connected by now
            start = threading.Barrier(len(clients))

            def lookup(client: socket.socket) -> int | None:
                start.wait(timeout=10)
                return attribution.owner_pid(client.getsockname(), proxy, asked)

            with ThreadPoolExecutor(len(clients)) as pool:
                owners = list(pool.map(lookup, clients))
        finally:
            for client in clients:
                client.close()
    assert owners == [os.getpid()] * len(clients)
    assert reads == 1
