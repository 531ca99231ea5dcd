"""Which TLS sessions may be decrypted: the name in the ClientHello decides, not CONNECT (pure).

mitmproxy decrypts a connection when *any* of its names (CONNECT host, SNI, Host header)
matches ``allow_hosts``, so ``CONNECT api.openai.com`` followed by a ClientHello for
``storage.googleapis.com`` would get a certificate minted for the foreign name. A session is
decrypted only when the name the client's TLS asks for is in the catalog itself.
"""

from __future__ import annotations

import re
from collections.abc import Sequence


def sni_outside_catalog(sni: str | None, port: int, allow_hosts: Sequence[str]) -> bool:
    """True when the ClientHello names a host that ``allow_hosts`` does not allow.

    No SNI (an IP literal, an old client): the CONNECT host already decided. No allow list
    (the addon loaded into a user's own mitmproxy that decrypts everything): not ours to judge.
    """
    if not sni or not allow_hosts:
        return False
    name = f"{sni}:{port}"
    return not any(re.search(pattern, name, re.IGNORECASE) for pattern in allow_hosts)
