"""``python -m moda_cli.cli``: the console entry point."""

from . import main

main()
