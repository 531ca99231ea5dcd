"""The egress-watch terminal dashboard."""
