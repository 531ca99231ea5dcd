"""Decode: request bytes in, text and bounded JSON out (Content-Encoding, charset)."""
