"""``python -m egress_watch`` runs the CLI (the daemon starts itself this way)."""

from egress_watch.cli.main import main

main()
