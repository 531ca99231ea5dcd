"""Capture: the proxy process. mitmproxy flows in (requests, answers, connections); events to
the store and requests forwarded, redacted or answered locally out.

The addon (``addon``) runs each AI request through ``egress_watch.pipeline``, records the event
before it forwards, and restores redacted values in the answers; ``daemon`` runs mitmproxy with
it in the foreground or the background. Beside them: which process sent a request
(``attribution``), which TLS sessions may be decrypted, streamed bodies, upstream failures.
"""
