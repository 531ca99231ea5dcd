"""Mask credentials in a command line by where they sit, not only by what they look like.

A key in an unknown format (``curl -H 'Authorization: Bearer …'``) is caught by its position:
the value of a header option with an authorization-like name, of a ``--token``-style option,
a URL's userinfo, a ``NAME=value`` pair with a secret-like name, a program's own credential
options (``curl -u user:pass``, ``docker login -p``, ``mysql -pPASS``). Options that name a
mode or a place (``--auth-type openai``, ``--token-file PATH``) stay readable. Pure functions.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import PurePath

MASK = "[REDACTED]"

_SECRET_WORD = r"(?:key|token|secret|passw(?:or)?d|pwd|auth|credential|cookie|session|bearer)"  # noqa: S105
_SECRETISH_NAME = re.compile(rf"(?i){_SECRET_WORD}")
_NOT_A_SECRET = re.compile(
    r"(?i)(?:^|[-_.])(?:type|mode|method|provider|file|path|dir|env|name|id|helper|stdin|"
    r"scheme|kind|format|length|size|url|host|header|count|prompt|store|agent|version|"
    r"ttl|timeout|expiry|expires|cmd|command|sock|socket)$"
)
"""An option ending like this names a mode, a place or a setting: its value stays readable."""
_OPTION_WITH_VALUE = re.compile(r"(?s)^(--?[^=\s]+)=(.*)$")
_ASSIGNMENT = re.compile(r"(?s)^([A-Za-z_][\w.:/-]*)(==|=|:=)(.*)$")
_HEADER = re.compile(
    r"(?is)^\s*((?:proxy-)?authorization|cookie|set-cookie|"
    r"[\w-]*(?:api[-_]?key|token|secret|auth|password|session)[\w-]*)\s*:(?!=)\s*(\S.*)$"
)
_AUTH_SCHEME = re.compile(r"(?i)^((?:bearer|basic|token|digest|apikey)\s+)\S+")
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)([^/@\s:]*)(?::([^/@\s]*))?@")
_QUERY_SECRET = re.compile(
    r"(?i)([?&;][\w.-]*(?:key|token|secret|passw(?:or)?d|sig(?:nature)?|auth)[\w.-]*=)[^&#\s]+"
)
_JSON_SECRET = re.compile(
    r"(?i)(\"[\w.-]*(?:key|token|secret|passw(?:or)?d|auth)[\w.-]*\"\s*:\s*\")[^\"]+(\")"
)
_HEADER_OPTIONS = frozenset({"-H", "--header", "--proxy-header", "--headers"})
_USER_OPTIONS = {
    "curl": frozenset({"-u", "--user", "-U", "--proxy-user", "-E", "--cert"}),
    "wget": frozenset({"--password", "--http-password", "--ftp-password", "--proxy-password"}),
    "http": frozenset({"-a", "--auth"}),
    "https": frozenset({"-a", "--auth"}),
    "xh": frozenset({"-a", "--auth", "-A"}),
}
_LOGIN_PROGRAMS = frozenset({"docker", "podman", "nerdctl", "helm", "buildah", "skopeo", "oras"})
_ATTACHED_PASSWORD = frozenset({"mysql", "mariadb", "mysqldump", "mysqladmin"})
_PROGRAMS = frozenset({*_USER_OPTIONS, *_LOGIN_PROGRAMS, *_ATTACHED_PASSWORD, "git", "npm"})
_LONG_USER = 16
"""A URL user name this long (``https://<token>@github.com``) is a token, not a login."""


def secret_option(option: str) -> bool:
    """``--api-key``, ``--token``, ``--password``: an option whose value is a credential."""
    name = option.lstrip("-")
    return bool(_SECRETISH_NAME.search(name)) and not _NOT_A_SECRET.search(name)


def mask_header(value: str) -> str | None:
    """``Authorization: [REDACTED]`` for a credential header line; None for any other text."""
    found = _HEADER.match(value)
    if found and not _NOT_A_SECRET.search(found.group(1)):
        return f"{found.group(1)}: {MASK}"
    return None


def mask_urls(text: str) -> str:
    """URL userinfo hidden: ``https://user:[REDACTED]@host``, or a token used as the user."""

    def hide(found: re.Match[str]) -> str:
        scheme, user, password = found.group(1), found.group(2), found.group(3)
        if password is not None:
            return f"{scheme}{user}:{MASK}@"
        return f"{scheme}{MASK if len(user) >= _LONG_USER else user}@"

    return _URL_USERINFO.sub(hide, text)


def mask_inline(text: str) -> str:
    """Credentials inside one word: URL userinfo, ``?api_key=`` query values, JSON fields
    (``-d '{"api_key": "…"}'``) with secret-like names."""
    text = _QUERY_SECRET.sub(rf"\g<1>{MASK}", mask_urls(text))
    return _JSON_SECRET.sub(rf"\g<1>{MASK}\g<2>", text)


def _mask_user_password(value: str) -> str:
    """``user:[REDACTED]``; a lone word stays only when short enough to be a login name
    (``curl -u me`` prompts for the password; ``http -A bearer -a <token>`` is a token)."""
    user, colon, _ = value.partition(":")
    if colon:
        return f"{user}:{MASK}"
    return MASK if len(value) >= _LONG_USER else value


def _last_name(name: str) -> str:
    """``_authToken`` of ``//registry.npmjs.org/:_authToken``; ``token`` of ``token:``."""
    return next((part for part in reversed(re.split(r"[/:.]", name)) if part), "")


def _mask_word(arg: str) -> str:
    """One word on its own: a header line, an assignment, an auth scheme, URLs."""
    header = mask_header(arg)
    if header is not None:
        return header
    option = _OPTION_WITH_VALUE.match(arg)
    if option:
        name, value = option.group(1), option.group(2)
        if secret_option(_last_name(name)):
            return f"{name}={MASK}"
        if name in _HEADER_OPTIONS:
            return f"{name}={mask_header(value) or mask_inline(value)}"
        return f"{name}={_mask_word(value)}" if value else arg
    assignment = _ASSIGNMENT.match(arg)
    if assignment:
        name, sign, value = assignment.groups()
        if secret_option(_last_name(name)) and value:
            return f"{name}{sign}{MASK}"
        inner = mask_header(value)
        if inner is not None:
            return f"{name}{sign}{inner}"
    scheme = _AUTH_SCHEME.match(arg)
    if scheme:
        return f"{scheme.group(1)}{MASK}"
    return mask_inline(arg)


def _program(arg: str) -> str | None:
    name = PurePath(arg.replace("\\", "/")).name.lower().removesuffix(".exe")
    return name if name in _PROGRAMS else None


def mask_args(args: Sequence[str]) -> list[str]:
    """Every argument with its credentials replaced by ``[REDACTED]`` (see the module doc)."""
    masked: list[str] = []
    program: str | None = None
    login = False
    hide_next: str | None = None  # "all", "user" (keep a user name) or "header"
    for position, arg in enumerate(args):
        if hide_next is not None:
            if hide_next == "user":
                masked.append(_mask_user_password(arg))
            elif hide_next == "header":
                masked.append(mask_header(arg) or _mask_word(arg))
            else:
                masked.append(MASK)
            hide_next = None
            continue
        found = _program(arg)
        if found is not None:
            program, login = found, False
            masked.append(arg)
            continue
        if program in _LOGIN_PROGRAMS and arg == "login":
            login = True
        if arg in _HEADER_OPTIONS:
            hide_next = "header"
        elif program in _USER_OPTIONS and arg in _USER_OPTIONS[program]:
            hide_next = "all" if program in ("wget",) else "user"
        elif login and arg in ("-p", "--password"):
            hide_next = "all"
        elif program in _ATTACHED_PASSWORD and arg.startswith("-p") and len(arg) > 2:
            masked.append(f"-p{MASK}")
            continue
        elif arg.startswith("-") and "=" not in arg and secret_option(arg):
            hide_next = "all"
        elif (
            position >= 1
            and args[position - 1] == "set"
            and not arg.startswith("-")
            and secret_option(_last_name(arg))
        ):
            hide_next = "all"  # npm config set //registry/:_authToken VALUE, git config …
        masked.append(_mask_word(arg))
    return masked
