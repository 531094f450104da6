"""RQ entry points (thin, ids in) and the per-file runner."""
