"""Load egress-watch into mitmproxy: ``mitmdump -s addons/egress_watch.py`` (or mitmweb)."""

from __future__ import annotations

from egress_watch.capture.addon import EgressWatch

addons = [EgressWatch()]
