"""``python -m carecircle``: the command line, the same as the ``carecircle`` command."""

from __future__ import annotations

from carecircle.cli import main

if __name__ == "__main__":
    main(prog_name="carecircle")
