"""Recognise the user's own code in outgoing text: tokenizers, winnowing, a local index."""
