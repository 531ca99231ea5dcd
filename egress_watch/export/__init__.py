"""Export: stored events in; the security team's log pipeline fed out (syslog, OTLP, files,
webhooks).

Events reach an outbox in the event's own transaction; a background exporter in the daemon
delivers them in order, at least once, to every configured sink.
"""
