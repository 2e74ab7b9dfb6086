"""`python -m tests.support.imported`: `python -m bot` that, on exit, writes the names of the
modules it imported to the file named by IMPORTED_MODULES_FILE (one per line)."""

from __future__ import annotations

import atexit
import os
import sys
from pathlib import Path


def _write() -> None:
    Path(os.environ["IMPORTED_MODULES_FILE"]).write_text("\n".join(sorted(sys.modules)))


if __name__ == "__main__":
    atexit.register(_write)
    from bot.__main__ import main

    sys.exit(main())
