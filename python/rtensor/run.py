"""`python -m rtensor.run script.py [args...]`: runs a Theano program on rtensor.

Installs the `theano` alias (`rtensor.compat.theano`), then runs the script
as `__main__` with `sys.argv` set to the script and its arguments.
"""

from __future__ import annotations

import runpy
import sys


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if argv else 2
    from .compat import theano  # noqa: F401  (installs the alias)

    sys.argv = argv
    runpy.run_path(argv[0], run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main())
