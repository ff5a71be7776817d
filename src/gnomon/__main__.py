"""``python -m gnomon``: the command line."""

from gnomon.command import main

main()
