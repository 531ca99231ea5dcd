"""Command lines are masked by position: real curl, httpie, git, docker and npm command lines.

The credentials here are in formats no secret rule knows (so only their position can give them
away), assembled at run time; the real-process tests start curl, git and npm against a local
listener that never answers, and read their command line back the way the proxy does.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from egress_watch.capture.attribution import describe
from egress_watch.capture.cmdline import MASK, mask_args
from egress_watch.classify.engine import Engine


def opaque() -> str:
    """An API key in a format no rule recognises (the issue's ``sk-4f9c…``)."""
    return "sk-" + "4f9c" + "e21b" + "77ad" + "0c93" + "b5e8" + "16fa"


def password() -> str:
    return "Wint" + "er2026" + "!corr"


K, P = opaque(), password()

CASES = [
    # curl
    (["curl", "-H", f"Authorization: Bearer {K}", "https://api.example.com/v1"],
     ["curl", "-H", f"Authorization: {MASK}", "https://api.example.com/v1"]),
    (["curl", f"--header=x-api-key: {K}", "-H", "Content-Type: application/json"],
     ["curl", f"--header=x-api-key: {MASK}", "-H", "Content-Type: application/json"]),
    (["curl", "-u", f"deploy:{P}", "https://ci.example.com"],
     ["curl", "-u", f"deploy:{MASK}", "https://ci.example.com"]),
    (["curl", "--oauth2-bearer", K, "-b", f"session={K}", "https://x"],
     ["curl", "--oauth2-bearer", MASK, "-b", f"session={MASK}", "https://x"]),
    (["/usr/bin/curl", f"https://deploy:{P}@git.example.com/a?x=1"],
     ["/usr/bin/curl", f"https://deploy:{MASK}@git.example.com/a?x=1"]),
    (["curl", f"https://api.example.com/v1?model=x&api_key={K}", "-d", f'{{"token": "{K}"}}'],
     ["curl", f"https://api.example.com/v1?model=x&api_key={MASK}", "-d",
      f'{{"token": "{MASK}"}}']),
    # httpie
    (["http", "POST", "api.example.com/v1", f"Authorization:Bearer {K}", "model=gpt"],
     ["http", "POST", "api.example.com/v1", f"Authorization: {MASK}", "model=gpt"]),
    (["http", "--auth-type", "bearer", "--auth", K, "api.example.com"],
     ["http", "--auth-type", "bearer", "--auth", MASK, "api.example.com"]),
    (["https", "-a", f"me:{P}", "example.com", f"api_key=={K}", f"token:={K}"],
     ["https", "-a", f"me:{MASK}", "example.com", f"api_key=={MASK}", f"token:={MASK}"]),
    # git
    (["git", "-c", f"http.extraHeader=Authorization: Bearer {K}", "fetch", "origin"],
     ["git", "-c", f"http.extraHeader=Authorization: {MASK}", "fetch", "origin"]),
    (["git", "clone", f"https://{K}@github.com/acme/app.git"],
     ["git", "clone", f"https://{MASK}@github.com/acme/app.git"]),
    (["git", "clone", "https://git@github.com/acme/app.git"],
     ["git", "clone", "https://git@github.com/acme/app.git"]),
    (["git", "config", "--global", "github.token", K],
     ["git", "config", "--global", "github.token", K]),  # not after "set": content rules' job
    (["git", "commit", "-m", "tokenize the auth path"],
     ["git", "commit", "-m", "tokenize the auth path"]),
    # docker
    (["docker", "login", "-u", "ci", "-p", P, "registry.example.com"],
     ["docker", "login", "-u", "ci", "-p", MASK, "registry.example.com"]),
    (["docker", "login", "--password-stdin", "-u", "ci"],
     ["docker", "login", "--password-stdin", "-u", "ci"]),
    (["docker", "run", "-p", "8080:80", "-e", f"OPENAI_API_KEY={K}", "img"],
     ["docker", "run", "-p", "8080:80", "-e", f"OPENAI_API_KEY={MASK}", "img"]),
    (["docker", "build", "--build-arg", f"NPM_TOKEN={K}", "."],
     ["docker", "build", "--build-arg", f"NPM_TOKEN={MASK}", "."]),
    # npm
    (["npm", "install", f"--//registry.npmjs.org/:_authToken={K}"],
     ["npm", "install", f"--//registry.npmjs.org/:_authToken={MASK}"]),
    (["npm", "config", "set", "//npm.example.com/:_authToken", K],
     ["npm", "config", "set", "//npm.example.com/:_authToken", MASK]),
    (["npm", "login", "--auth-type=web", "--registry", "https://npm.example.com"],
     ["npm", "login", "--auth-type=web", "--registry", "https://npm.example.com"]),
    # environment prefixes, modes and places
    (["env", f"ANTHROPIC_API_KEY={K}", "GIT_DIR=/src/.git", "claude"],
     ["env", f"ANTHROPIC_API_KEY={MASK}", "GIT_DIR=/src/.git", "claude"]),
    (["qwen", "--auth-type", "openai", "--token-file", "/home/u/.tok", "-p", "hi"],
     ["qwen", "--auth-type", "openai", "--token-file", "/home/u/.tok", "-p", "hi"]),
    (["ssh-add", "SSH_AUTH_SOCK=/tmp/a.sock"], ["ssh-add", "SSH_AUTH_SOCK=/tmp/a.sock"]),
    (["mysql", "-h", "db", "-P", "3306", f"-p{P}"],
     ["mysql", "-h", "db", "-P", "3306", f"-p{MASK}"]),
]  # fmt: skip


@pytest.mark.parametrize(("args", "expected"), CASES)
def test_credentials_are_masked_by_position(args: list[str], expected: list[str]) -> None:
    assert mask_args(args) == expected


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A 127.0.0.1 listener that accepts and never answers, so clients wait on it."""
    server = socket.create_server(("127.0.0.1", 0))
    server.listen(16)
    try:
        yield server.getsockname()[1]
    finally:
        server.close()


def _real_cmdline(args: list[str], cwd: Path) -> str:
    """Start ``args``, read its masked command line as the proxy would, then stop it."""
    engine = Engine(b"k" * 32)
    child = subprocess.Popen(args, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            info = describe(child.pid, engine.classify_text)
            if info is not None and info.cmdline and len(info.cmdline.split()) > 2:
                return info.cmdline
        raise AssertionError(f"no command line read for {args[0]}")
    finally:
        child.kill()
        child.wait(timeout=10)


@pytest.mark.parametrize(
    "make",
    [
        lambda port: ["curl", "-sS", "-m", "20", "-H", f"Authorization: Bearer {K}",
                      "-u", f"deploy:{P}", f"http://127.0.0.1:{port}/v1/models"],
        lambda port: ["git", "-c", f"http.extraHeader=Authorization: Bearer {K}", "ls-remote",
                      f"http://deploy:{P}@127.0.0.1:{port}/acme/app.git"],
        lambda port: ["npm", "view", "left-pad", "--registry", f"http://127.0.0.1:{port}/",
                      f"--//127.0.0.1:{port}/:_authToken={K}", "--fetch-timeout=20000"],
    ],
    ids=["curl", "git", "npm"],
)  # fmt: skip
def test_real_command_lines_keep_no_credential(
    make: object, silent_server: int, tmp_path: Path
) -> None:
    args = make(silent_server)  # type: ignore[operator]
    if shutil.which(args[0]) is None:
        pytest.skip(f"{args[0]} is not installed")
    text = _real_cmdline(args, tmp_path)
    assert K not in text
    assert P not in text
    assert MASK in text
    assert str(silent_server) in text  # the rest of the command line is still there
