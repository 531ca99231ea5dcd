"""Classifiers: turn extracted text into findings (secrets, code, infra, PII, markers)."""
