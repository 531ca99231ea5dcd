"""Classify: extracted segments in, findings out (secrets, proprietary code, infrastructure,
PII, markers, security logic); masked and fingerprinted, never the value. ``proprietary`` holds
the index of the user's own code.
"""
