"""Workstation: this machine around the proxy. The data home and settings in; its set-up out:
the CA and its trust, the per-user service, shell variables, the doctor's checks, desktop
notifications and the history's health.
"""
