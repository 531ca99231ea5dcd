"""Real loopback network fixtures (test CA, HTTPS upstream, CONNECT proxy) for tests."""
