"""egress-watch: a data-egress monitor for AI coding tools."""

__version__ = "0.1.0"
