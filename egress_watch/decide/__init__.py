"""Decide: findings, the service and the policy in; a Decision (pass, alert, redact, block), the
redacted body, stable placeholders and restored answers out. Pure: no I/O.
"""
