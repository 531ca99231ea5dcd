"""Local answers in each service's own error shape, so the AI tool shows the reason."""

from __future__ import annotations

import json

BLOCK_STATUS = 403
ERROR_STATUS = 502


def error_body(family: str, message: str) -> bytes:
    """An API-shaped JSON error body for ``family``."""
    if family.startswith("anthropic"):
        shape: dict[str, object] = {
            "type": "error",
            "error": {"type": "permission_error", "message": message},
        }
    else:  # OpenAI's shape is what most compatible clients parse
        shape = {
            "error": {
                "message": message,
                "type": "egress_watch_blocked",
                "param": None,
                "code": "egress_watch_policy",
            }
        }
    return json.dumps(shape).encode()
