"""CLI: the ``egress-watch`` command line. Arguments in; text, JSON and exit codes out.

``main`` is the group and registers every command; each command has its own module and takes
what commands share (``--home``, exit codes, error translation) from ``options``, never from
the group.
"""
