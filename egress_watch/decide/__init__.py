"""Decide: findings, service and policy in; a Decision, the redacted body and restored
answers out (pure: no I/O)."""
