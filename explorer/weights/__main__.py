"""`python -m explorer.weights import FILE --name NAME`: convert a checkpoint into weights/NAME.*

The command lives in explorer/importers/cli.py; this entry point only names it, so the checkpoint
module itself never imports the importers (they import it)."""

from ..importers.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
