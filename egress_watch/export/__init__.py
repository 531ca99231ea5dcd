"""Export: feed each event to the security team's own log pipeline (syslog, OTLP, files, HTTP).

Events reach an outbox in the event's own transaction; a background exporter in the daemon
delivers them in order, at least once, to every configured sink.
"""
