"""The ``config.toml`` written on first run: every key at its default, with what it does.

tests/unit/test_settings.py checks that it parses to ``Settings()``, so the two never drift.
"""

DEFAULT_CONFIG = """\
# egress-watch configuration. Every key is optional: the values below are the defaults.
# Command-line flags (egress-watch start --listen-port ...) override this file.

[proxy]
# Address the proxy listens on. Keep it on loopback unless you know why not.
listen_host = "127.0.0.1"
listen_port = 8080
# A listen_host beyond loopback (other machines could relay through this one) is refused
# unless this is true or `egress-watch start --allow-remote` is given.
allow_remote = false
# Chain to a corporate proxy, e.g. "http://proxy.example.com:3128". Empty: connect directly.
upstream_proxy = ""
# monitor: record only.
# redact: replace each finding at or above block_severity in flight with
#         [REDACTED:<rule>:<short fingerprint>]; the rest of the request goes on unchanged.
# block:  answer locally with an API-shaped error when a finding reaches block_severity;
#         the request never leaves.
mode = "monitor"
# Severity at or above which redact and block modes act: low, medium, high, critical.
block_severity = "high"
# What an internal error does to your request: "open" forwards it (and records the error),
# "closed" answers with an error. Empty: open in monitor mode, closed in redact and block mode.
fail_mode = ""
# Bodies larger than this (MiB, after decompression) are recorded as uninspected;
# [policy] uninspected decides what happens to them (block mode blocks them by default).
max_body_mib = 32
# Milliseconds one request may spend being classified. Past it the request is recorded as
# uninspected (reason "time budget", with what was found so far) and [policy] uninspected
# decides; other requests are inspected meanwhile either way. Where a finding would redact or
# block (redact or block mode, or a [policy] entry at redact or above), a request is read to
# its end for up to 10 times this, so a busy machine never forwards unread text nor blocks an
# innocent request only because it was busy.
inspect_budget_ms = 3000

[store]
# Days of history to keep. Older events are pruned in small batches while the daemon runs;
# the list of exposed values (fingerprints, first and last seen) is kept.
retention_days = 90

# Findings not to report (known false positives). Inline "pragma: allowlist" comments inside
# outgoing text are never honoured: anyone can type one into a prompt.
[allowlist]
# Fingerprints shown by `egress-watch events` / `scan --json` ("hmac-sha256:...").
fingerprints = []
# Rule ids, e.g. ["high-entropy-string"].
rules = []
# Regexes: a secret value matching one is not reported, e.g. ["^sk_test_"].
values = []
# Globs: nothing is reported in text a request names with such a path, e.g. ["tests/fixtures/*"].
paths = []
# detect-secrets .secrets.baseline files (their hashed values are allowed) and gitleaks
# .gitleaksignore files (file:rule:line entries allow that rule in that file); relative paths
# are relative to this file's folder.
baselines = []

# What to do with each finding: monitor (record), alert (record + desktop notification),
# redact (replace the value in flight), block (answer with an error in the API's own shape).
# Keys are severities (critical, high, medium, low) or categories (secret, proprietary, infra,
# pii, marker, logic, uninspected); a category's entry wins over a severity's. proxy.mode
# redact/block (or `start --mode`) overrides this for findings at or above block_severity.
# An allowed fingerprint (`egress-watch allow`) is only recorded, whatever this says.
# uninspected: a body egress-watch cannot read (binary, too large, truncated stream). Unset,
# block mode blocks such requests and the other modes record them; "redact" means block.
[policy]
critical = "alert"
high = "alert"
# secret = "redact"
# Redacted values come back in the answers the tool receives (the provider never sees them;
# the originals stay in the daemon's memory only, for the conversation).
restore = true
# "bracketed": [REDACTED:<rule>:<short fingerprint>]; "stand-in": a value of the same shape
# (an AKIA... that is not the key) that egress-watch recognises as its own.
redact_style = "bracketed"
# Requests to endpoints whose terms may train on them by default (`services` shows may_train):
# training = "alert"
# One service's entries (ids from `egress-watch services`) win over the ones above:
# [policy.services.cursor]
# secret = "block"
# restore = false
# By jurisdiction of a service's operator or parent (`egress-watch services` shows the codes):
# [policy.jurisdictions]
# CN = "block"                      # every request to such a service
# [policy.jurisdictions.RU]
# default = "alert"                 # every request; categories and severities as in [policy]
# secret = "block"

# Extra AI services (a company LLM gateway, a self-hosted OpenAI-compatible server), or a
# built-in one replaced by id. `egress-watch services` lists the catalog in force.
# [[services]]
# id = "corp-gateway"
# name = "Company LLM gateway"
# hosts = ["llm.corp.example", "*.llm.corp.example"]
# profile = "openai-compatible"     # /chat/completions, /responses, /messages, ...
# endpoints = [{ path = "/v2/generate", family = "openai-completions" }]
# family = "auto"                   # for other paths: sniff the body shape
# operator = "Example Corp"         # who runs it, and where (shown by `services`, the report)
# jurisdictions = ["US"]            # ISO codes of the operator and its parent; "SG?" = unconfirmed
# region = "EU"                     # CN-mainland, global, customer-chosen, unknown or a code
# may_train = "no"                  # yes, some-tiers, no, unknown (for [policy] training)
# An entry with a built-in id and no hosts amends that service, e.g. a region you confirmed:
# [[services]]
# id = "deepseek"
# status = "confirmed"

# Fleet export: the daemon delivers every event, in order and at least once, to each sink
# (schema egress-watch.event/1; never a secret value, a body or an auth header).
# `egress-watch export status` shows each sink's lag and errors.
# [export]
# drop_process_details = false      # true: no command lines, executable / working-dir paths
# max_backlog = 100000              # undelivered events kept while a sink is down
# [[export.sinks]]
# name = "siem"
# type = "syslog"                   # syslog | otlp | file | webhook
# url = "tls://logs.corp.example:6514"   # syslog: udp:// tcp:// tls://; otlp: http(s)://…/v1/logs
# format = "egress-watch"           # or "ocsf" (OCSF 1.3 Data Security Finding)
# ca_file = "/etc/ssl/corp-ca.pem"

# Your organisation's names, for the infra and marker categories (private IPs, *.internal URLs,
# CONFIDENTIAL-style labels, emails, phone, card numbers and IBANs are found without this).
[infra]
# Internal domains: any host name or URL in them is an infra finding, e.g. ["corp.example"].
domains = []
[markers]
# Codenames and other words that must not leave, e.g. ["Project Falcon"] (case-insensitive).
words = []
# Copyright holders: a "Copyright ... <name>" line is a marker finding, e.g. ["Acme Corp"].
copyright_holders = []

# Live verification of leaked secrets, OFF by default: when on, each newly seen secret is SENT
# TO ITS ISSUER (the provider's API, through kingfisher's validators) after the request was
# forwarded, once per value, to learn whether it is still active. Active values come first in
# the dashboard and the weekly report ("rotate now"). The value is never written anywhere.
[secrets]
verify = false
# Extra kingfisher rule files (YAML) for your own issuers; relative to this file's folder.
verify_rules = []
# Most verification requests started per minute.
verify_per_minute = 30
# Let validators reach private and loopback addresses (self-hosted issuers only).
verify_private_networks = false
"""
