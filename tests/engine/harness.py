"""Engine scenes (an invoice folder behind a connector) and real RQ workers drained in-process."""

from __future__ import annotations

from tests.factories import make_connector
from unstract.extensions import db
from unstract.models import Connector

INVOICE_RULES = [
    {"name": "invoice_number", "pattern": r"Invoice (?:Number|No\.?)[:#]?\s*([A-Z0-9-]+)", "group": 1},
    {"name": "total", "pattern": r"Total[:\s]*\$?([0-9][0-9,]*(?:\.[0-9]+)?)", "group": 1, "type": "number"},
]


def invoice_folder(storage_root, org_id, count: int, name: str = "{n}.txt") -> Connector:
    """`count` small invoices in `storage_root/in` (file names from `name`), and a local connector of
    `org_id` rooted at `storage_root`."""
    (storage_root / "in").mkdir()
    for n in range(count):
        (storage_root / "in" / name.format(n=n)).write_text(f"Invoice Number: INV-{n}\nTotal: {n}.50\n")
    return make_connector(org_id, "Local", "local_storage", {"path": str(storage_root)})


def run_jobs(app) -> None:
    """Drain the `unstract` queue with a real RQ SimpleWorker in this process (burst mode)."""
    from unstract.worker.jobs import bind_app
    from unstract.worker.process import build_worker

    bind_app(app)
    with app.app_context():
        worker = build_worker(app)
        # RQ 3.0 stops its pubsub thread with redis-py 8.2's stop(), which waits out the thread's 60 s
        # poll when the subscription is not confirmed yet. This worker never receives commands: no pubsub.
        worker.subscribe = lambda: None
        worker.work(burst=True, with_scheduler=False, logging_level="WARNING")
    db.session.rollback()
