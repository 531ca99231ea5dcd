"""Workstation: this machine around the proxy (data home, CA, trust, service install,
shell variables, doctor, notifications)."""
