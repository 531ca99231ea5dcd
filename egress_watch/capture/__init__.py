"""Capture: the proxy process. Flows in from mitmproxy; Events to the store and
forwarded, redacted or blocked requests out."""
