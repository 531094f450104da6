"""`unstract serve` for bench/sync_wait.py, plus a count of the SQL statements the web process sends.

Run as a script (not `-m bench.…`) so that PYTHONPATH alone chooses the code under test, the current
tree or an older checkout. The count goes to $BENCH_STATEMENTS_FILE every 0.1 s (worker processes are
started with `python -m unstract.cli worker` and are not counted: they do the same work either way).
"""

import os
import sys
import threading
import time
from pathlib import Path

from sqlalchemy import Engine, event

sent = [0]


@event.listens_for(Engine, "before_cursor_execute")
def _count(*_args) -> None:
    sent[0] += 1


def _write_count(path: Path) -> None:
    scratch = path.with_suffix(".tmp")
    while True:
        scratch.write_text(str(sent[0]))
        scratch.replace(path)
        time.sleep(0.1)


if __name__ == "__main__":
    threading.Thread(target=_write_count, args=(Path(os.environ["BENCH_STATEMENTS_FILE"]),), daemon=True).start()
    from unstract.cli import main

    sys.argv = ["unstract", "serve"]
    main()
