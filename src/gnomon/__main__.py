"""``python -m gnomon``: the command line."""

from gnomon.cli.command import main

main()
