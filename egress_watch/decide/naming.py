"""Stable placeholders: the same value gets the same name for the whole conversation.

The name is a bracketed placeholder (rule and short fingerprint, lengthened on a clash with
another value of the conversation) or, with ``redact_style = "stand-in"``, a value of the
same shape. The vault keeps which name each value got and, when answers are restored, the
value itself (in memory only).
"""

from __future__ import annotations

from dataclasses import dataclass

from egress_watch.decide.rewrite import Namer
from egress_watch.decide.standin import stand_in
from egress_watch.decide.vault import Vault
from egress_watch.masking import FINGERPRINT_PREFIX
from egress_watch.model import Finding


def bracketed(finding: Finding, attempt: int) -> str:
    """``[REDACTED:<rule>:<4 hex>]``; each further attempt shows one more fingerprint digit."""
    digits = finding.fingerprint.removeprefix(FINGERPRINT_PREFIX)[: 4 + attempt]
    return f"[REDACTED:{finding.rule}:{digits}]"


@dataclass(frozen=True, slots=True)
class Naming:
    """Makes a conversation's namer; shared by every inspection (the vault is thread-safe)."""

    key: bytes
    vault: Vault
    style: str = "bracketed"

    def namer(self, conversation: str, keep_originals: bool) -> Namer:
        def name(finding: Finding, value: str) -> str:
            def candidate(attempt: int) -> str:
                if self.style == "stand-in":
                    made = stand_in(self.key, value, attempt)
                    if made is not None:
                        return made
                return bracketed(finding, attempt)

            return self.vault.placeholder(
                conversation, finding.fingerprint, value, candidate, keep_originals
            )

        return name
