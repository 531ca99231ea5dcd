"""Decoding: request bytes in; text and bounded JSON out (Content-Encoding undone with a cap,
declared charsets honoured, JSON parsed to a fixed depth).
"""
