"""Which ClientHello names may be decrypted: only those the catalog's allow list names."""

from __future__ import annotations

import pytest

from egress_watch.capture.tls_identity import sni_outside_catalog
from egress_watch.catalog.services import builtin_catalog

ALLOW = builtin_catalog().allow_hosts()


@pytest.mark.parametrize(
    ("sni", "outside"),
    [
        ("api.openai.com", False),
        ("API.OpenAI.com", False),  # names are case-insensitive
        ("storage.googleapis.com", True),  # under a constrained domain, yet not a catalog host
        ("api.openai.com.evil.example", True),
        ("evilapi.openai.com", True),
        (None, False),  # no SNI: the CONNECT host already decided
        ("", False),
    ],
)
def test_only_catalog_names_are_decrypted(sni: str | None, outside: bool) -> None:
    assert sni_outside_catalog(sni, 443, ALLOW) is outside


def test_without_an_allow_list_the_addon_does_not_judge() -> None:
    # Loaded into a user's own mitmproxy that decrypts everything: not ours to refuse.
    assert sni_outside_catalog("storage.googleapis.com", 443, []) is False
