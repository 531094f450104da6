"""htmx dashboard pages; one module per area, full page or partial by HX-Request."""

from __future__ import annotations

from flask import Flask, request

from unstract.auth import API_BASE, DEPLOYMENT_BASE
from unstract.extensions import csrf
from unstract.services.run_status import display_status


def register_web(app: Flask) -> None:
    from unstract.web import (
        adapters_pages,
        all_runs_pages,
        auth_pages,
        connectors_pages,
        deployments_pages,
        executions_pages,
        history_pages,
        keys_pages,
        notification_pages,
        orgs_pages,
        overview_pages,
        runs_pages,
        schedule_pages,
        tool_trial_pages,
        workflow_detail_pages,
        workflow_tools_pages,
        workflows_pages,
    )

    # Every page's badges name an execution's outcome by the one rule (templates/_macros.html, status_badge).
    app.jinja_env.globals["display_status"] = display_status
    pages = (auth_pages, orgs_pages, workflows_pages, workflow_detail_pages, workflow_tools_pages, runs_pages,
             executions_pages, all_runs_pages, history_pages, connectors_pages, keys_pages, overview_pages,
             deployments_pages, schedule_pages, notification_pages, adapters_pages, tool_trial_pages)
    # The workflows area's four modules share one blueprint (web.workflows_blueprint): register each once.
    for blueprint in dict.fromkeys(module.bp for module in pages):
        app.register_blueprint(blueprint)

    @app.before_request
    def _csrf_for_pages():
        """Forms and htmx posts carry the token; the API checks its own (docs/API.md, Authentication) in its guard."""
        if not request.path.startswith((API_BASE, DEPLOYMENT_BASE)) \
                and request.method not in ("GET", "HEAD", "OPTIONS"):
            csrf.protect()
