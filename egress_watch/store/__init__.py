"""Store: events in (one writer, committed before the request is forwarded); the SQLite history
and its read models out, for the CLI, the dashboard, the report and the export. Triage
(acknowledge, allow) writes here too.
"""
