"""The dashboard and the alert expressions in docs/ name only metrics /metrics exposes."""

from __future__ import annotations

import json
import re
from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent / "docs"
METRIC_NAME = re.compile(r"\bunstract_[a-z_]+\b")
SAMPLE_SUFFIXES = ("", "_bucket", "_sum", "_count", "_total")


def exposed_names(client) -> set[str]:
    """Every sample name a family declared in /metrics can have (a histogram's or a labelled counter's
    samples appear only after their first event)."""
    text = client.get("/metrics").get_data(as_text=True)
    families = set(re.findall(r"^# TYPE (\S+) ", text, re.M))
    return {family + suffix for family in families for suffix in SAMPLE_SUFFIXES}


def dashboard_expressions() -> list[str]:
    dashboard = json.loads((DOCS / "grafana-dashboard.json").read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def test_every_dashboard_and_alert_metric_is_exposed(client):
    samples = exposed_names(client)
    named = {name for expr in dashboard_expressions() for name in METRIC_NAME.findall(expr)}
    for document in ("PRODUCTION.md", "prometheus-alerts.yml"):
        named |= set(METRIC_NAME.findall((DOCS / document).read_text()))
    assert len(named) >= 10
    unknown = {name for name in named if name not in samples}
    assert not unknown, unknown


def test_the_dashboard_covers_what_an_operator_watches():
    expressions = " ".join(dashboard_expressions())
    for family in ("unstract_executions_total", "unstract_files_total", "unstract_file_duration_seconds_bucket",
                   "unstract_queue_jobs", "unstract_llm_tokens_total", "unstract_llm_cost_usd_total",
                   "unstract_webhook_deliveries_total"):
        assert family in expressions, family
    assert "histogram_quantile(0.5," in expressions and "histogram_quantile(0.95," in expressions
