"""The `unstract` command: Flask's CLI group plus org, user, apikey, serve, worker, reap, purge, schedule and
notification (README, Command line)."""

from __future__ import annotations

import logging
import sys
from functools import partial

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from unstract import errors
from unstract.config import ConfigError, read_settings
from unstract.logcontext import tell_operator
from unstract.models import AUTHORIZATION_TYPES, EVENTS, FORMATS, ApiKeyPermission, OrgRole

EXIT_CONFLICT = 1
EXIT_USAGE = 2
NO_REDIS_MESSAGE = "REDIS_URL is not set and no embedded Redis socket was found."


class CommandFailed(click.ClickException):
    """A message on stderr and an exit code (1 conflict/unknown object, 2 invalid input)."""

    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.exit_code = exit_code

    def show(self, file=None) -> None:
        tell_operator(self.message, "unstract.cli", logging.ERROR)


class UnstractGroup(FlaskGroup):
    """FlaskGroup whose every command exits 2 when the environment cannot be read."""

    def invoke(self, ctx: click.Context):
        try:
            read_settings()
            return super().invoke(ctx)
        except ConfigError as exc:
            raise CommandFailed(str(exc), EXIT_USAGE) from None


def _create_app() -> Flask:
    from unstract.app import create_app

    app = create_app()
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.call_on_close(partial(_dispose_engine, app))
    return app


def _dispose_engine(app: Flask) -> None:
    """Close the command's pooled connections (matters when commands run in-process, as in tests)."""
    from unstract.extensions import db

    with app.app_context():
        db.engine.dispose()


@click.group(cls=UnstractGroup, create_app=_create_app, add_default_commands=True)
def main() -> None:
    """Unstract workflow service."""


def _run(service, *args, **kwargs):
    """Call a service function, turning its domain errors into the CLI's exit codes."""
    try:
        return service(*args, **kwargs)
    except errors.ValidationFailed as exc:
        raise CommandFailed(str(exc), EXIT_USAGE) from None
    except errors.DomainError as exc:
        raise CommandFailed(str(exc), EXIT_CONFLICT) from None


@click.group("org")
def org_group() -> None:
    """Organizations."""


@org_group.command("create")
@click.argument("org_id")
@click.option("--name", help="Display name; defaults to ORG_ID.")
@with_appcontext
def org_create(org_id: str, name: str | None) -> None:
    """Create an organization and print its id."""
    from unstract.services import accounts

    org = _run(accounts.create_org, org_id, name)
    click.echo(org.org_id)


@click.group("user")
def user_group() -> None:
    """Users."""


@user_group.command("create")
@click.argument("email")
@click.option("--password", required=True, help="At least 8 characters.")
@click.option("--org", "org_id", required=True, help="Organization id.")
@click.option("--role", type=click.Choice([r.value for r in OrgRole]), default=OrgRole.MEMBER.value,
              show_default=True)
@with_appcontext
def user_create(email: str, password: str, org_id: str, role: str) -> None:
    """Create a user (or add an existing one) as a member of an organization; print the user id."""
    from unstract.services import accounts

    user = _run(accounts.add_user, email, password, org_id, role)
    click.echo(str(user.id))


@user_group.command("set-password")
@click.argument("email")
@with_appcontext
def user_set_password(email: str) -> None:
    """Set a user's password, read from a prompt (or a line of standard input); ends all their sessions."""
    from unstract.services import accounts

    password = click.prompt("New password", hide_input=True, confirmation_prompt=_interactive(), err=True)
    user = _run(accounts.set_password, email, password)
    click.echo(str(user.id))


@user_group.command("remove")
@click.argument("email")
@click.option("--org", "org_id", required=True, help="Organization id.")
@with_appcontext
def user_remove(email: str, org_id: str) -> None:
    """Remove a user from an organization: the membership and their API keys there go, and every session of
    theirs ends. The user account itself stays."""
    from unstract.services import accounts

    _run(accounts.remove_member, org_id, email)


def _interactive() -> bool:
    """Ask twice only when a person is typing; a piped password comes once."""
    return sys.stdin.isatty()


@click.group("apikey")
def apikey_group() -> None:
    """API keys."""


@apikey_group.command("create")
@click.option("--org", "org_id", required=True, help="Organization id.")
@click.option("--email", required=True, help="A member of the organization.")
@click.option("--permission", type=click.Choice([p.value for p in ApiKeyPermission]),
              default=ApiKeyPermission.READ_WRITE.value, show_default=True)
@click.option("--name", default="", help="What the key is for (optional, shown in the dashboard's key list).")
@with_appcontext
def apikey_create(org_id: str, email: str, permission: str, name: str) -> None:
    """Create an API key and print it; it cannot be shown again."""
    from unstract.services import accounts

    click.echo(_run(accounts.create_api_key, org_id, email, permission, name))


@click.group("schedule")
def schedule_group() -> None:
    """Workflow schedules (docs/EXECUTION.md, Schedules)."""


def _acting(org_id: str, email: str):
    """The member `email` acting in `org_id`; exit 1 when there is no such member."""
    from unstract.services import accounts

    user = accounts.find_user(email)
    who = accounts.default_requester(user, org_id) if user is not None else None
    if who is None:
        raise CommandFailed(f"{email} is not a member of organization {org_id}.", EXIT_CONFLICT)
    return who


@schedule_group.command("list")
@click.option("--org", "org_id", required=True, help="Organization id.")
@with_appcontext
def schedule_list(org_id: str) -> None:
    """Print the organization's schedules, one a line: id, workflow, state, next run, last run, cron in words."""
    from unstract.services import accounts, schedules

    org = _run(accounts.get_org, org_id)
    for schedule, workflow_name in schedules.org_schedules(org.id):
        state = "active" if schedule.is_active else "paused"
        next_run = schedule.next_run_at.isoformat() if schedule.next_run_at else "-"
        last = schedules.last_run_status(schedule) or "-"
        click.echo("\t".join((str(schedule.id), workflow_name, state, next_run, last,
                              schedules.crontab.describe(schedule.cron, schedule.timezone))))


@schedule_group.command("add")
@click.option("--org", "org_id", required=True, help="Organization id.")
@click.option("--email", required=True, help="An owner of the workflow; runs start as this user.")
@click.option("--workflow", "workflow_id", type=click.UUID, required=True, help="Workflow id.")
@click.option("--cron", required=True, help="Five fields, e.g. '0 6 * * 1-5'.")
@click.option("--timezone", default="UTC", show_default=True, help="IANA time zone, e.g. Europe/Berlin.")
@click.option("--description", default="", help="Free text.")
@click.option("--paused", is_flag=True, help="Create it paused.")
@click.option("--allow-overlap", is_flag=True, help="Start a run while the previous one is still going.")
@with_appcontext
def schedule_add(org_id: str, email: str, workflow_id, cron: str, timezone: str, description: str,
                 paused: bool, allow_overlap: bool) -> None:
    """Schedule a workflow; prints the schedule's id and its next run."""
    from unstract.services import schedules

    data = {"cron": cron, "timezone": timezone, "description": description, "is_active": not paused,
            "allow_overlap": allow_overlap}
    schedule = _run(schedules.create, _acting(org_id, email), workflow_id, data, [])
    click.echo(f"{schedule['id']}\t{schedule['next_run_at'].isoformat() if schedule['next_run_at'] else '-'}")


@schedule_group.command("remove")
@click.argument("schedule_id", type=click.UUID)
@click.option("--org", "org_id", required=True, help="Organization id.")
@click.option("--email", required=True, help="An owner of the workflow.")
@with_appcontext
def schedule_remove(schedule_id, org_id: str, email: str) -> None:
    """Delete a schedule and its run history."""
    from unstract.services import schedules

    who = _acting(org_id, email)
    _run(lambda: schedules.delete_schedule(schedules.get_schedule(who, schedule_id, owner=True)))


@click.group("notification")
def notification_group() -> None:
    """Webhooks of a workflow (docs/API.md, Notifications)."""


@notification_group.command("list")
@click.option("--org", "org_id", required=True, help="Organization id.")
@click.option("--email", required=True, help="A member who sees the workflow.")
@click.option("--workflow", "workflow_id", type=click.UUID, required=True, help="Workflow id.")
@with_appcontext
def notification_list(org_id: str, email: str, workflow_id) -> None:
    """Print the workflow's webhooks, one a line: id, URL, format, events, state, authorization type."""
    from unstract.extensions import db
    from unstract.policy import get_visible_workflow
    from unstract.services import notifications

    workflow = _run(get_visible_workflow, _acting(org_id, email), workflow_id)
    for notification in db.session.scalars(notifications.list_query(workflow)):
        click.echo("\t".join((str(notification.id), notification.url, notification.format,
                              ",".join(notification.events), "active" if notification.is_active else "inactive",
                              notification.authorization_type)))


@notification_group.command("add")
@click.option("--org", "org_id", required=True, help="Organization id.")
@click.option("--email", required=True, help="An owner of the workflow.")
@click.option("--workflow", "workflow_id", type=click.UUID, required=True, help="Workflow id.")
@click.option("--url", required=True, help="http(s) URL on a public address.")
@click.option("--format", "kind", type=click.Choice(FORMATS), default="json", show_default=True)
@click.option("--event", "events", multiple=True, type=click.Choice(EVENTS), help="Repeat; default: all events.")
@click.option("--authorization-type", type=click.Choice(AUTHORIZATION_TYPES), default="none", show_default=True)
@click.option("--authorization-header", default=None, help="Header name, for custom_header.")
@with_appcontext
def notification_add(org_id: str, email: str, workflow_id, url: str, kind: str, events: tuple[str, ...],
                     authorization_type: str, authorization_header: str | None) -> None:
    """Add a webhook; prints its id and its generated signing secret (shown this once). The authorization
    key is asked for on the terminal (or read from stdin), never taken from the command line."""
    from unstract.policy import get_visible_workflow
    from unstract.services import notifications

    who = _acting(org_id, email)
    workflow = _run(get_visible_workflow, who, workflow_id, owner=True)
    data = {"url": url, "format": kind, "authorization_type": authorization_type,
            "authorization_header": authorization_header}
    if events:
        data["events"] = list(events)
    if authorization_type != "none":
        data["authorization_key"] = click.prompt("Authorization key", hide_input=True, err=True)
    created = _run(notifications.create, who, workflow, data, [], **notifications.write_settings(current_app.config))
    click.echo(f"{created['id']}\t{created['secret']}")


@notification_group.command("remove")
@click.argument("notification_id", type=click.UUID)
@click.option("--org", "org_id", required=True, help="Organization id.")
@click.option("--email", required=True, help="An owner of the workflow.")
@with_appcontext
def notification_remove(notification_id, org_id: str, email: str) -> None:
    """Delete a webhook and its delivery log."""
    from unstract.services import notifications

    who = _acting(org_id, email)
    _run(lambda: notifications.delete(notifications.get_notification(who, notification_id, owner=True)))


@click.command("worker")
@click.option("--burst", is_flag=True, help="Exit when the queue is empty.")
@click.option("--parent-pid", type=int, default=None,
              help="Stop when this process (normally the parent, `unstract serve`) is gone.")
@click.option("--metrics-port", type=click.IntRange(0, 65535), default=None,
              help="Serve /metrics on this port (all interfaces), for a worker on another machine.")
@with_appcontext
def worker_command(burst: bool, parent_pid: int | None, metrics_port: int | None) -> None:
    """Run one RQ worker on queue `unstract` (with scheduler and reaper)."""
    from unstract.embedded_redis import socket_path
    from unstract.worker.process import run_worker

    app = current_app._get_current_object()
    settings = app.config["UNSTRACT_SETTINGS"]
    if not settings.redis_url and not socket_path(settings.data_dir).exists():
        raise CommandFailed(NO_REDIS_MESSAGE, EXIT_USAGE)
    if metrics_port is not None:
        from unstract.metrics_http import serve_worker_metrics

        try:
            serve_worker_metrics(app, "0.0.0.0", metrics_port)  # noqa: S104 - scraped from other machines
        except OSError as exc:
            raise CommandFailed(f"Cannot serve metrics on port {metrics_port}: {exc.strerror or exc}.",
                                EXIT_CONFLICT) from None
    run_worker(app, burst=burst, parent_pid=parent_pid)


@click.command("serve")
@click.option("--workers", type=int, default=None, help="Worker processes [default: UNSTRACT_WORKERS].")
@with_appcontext
def serve_command(workers: int | None) -> None:
    """Migrate, bootstrap and run the web server with embedded Redis and N workers."""
    from unstract import serve
    from unstract.embedded_redis import EmbeddedRedisError

    app = current_app._get_current_object()
    count = app.config["UNSTRACT_SETTINGS"].workers if workers is None else workers
    if count < 0:
        raise CommandFailed(f"The number of workers must be 0 or more, got {count}.", EXIT_USAGE)
    try:
        _run(serve.serve, app, count)
    except (EmbeddedRedisError, serve.StartupError) as exc:
        raise CommandFailed(str(exc), EXIT_CONFLICT) from None


@click.command("reap")
@with_appcontext
def reap_command() -> None:
    """Recover stuck executions once (docs/EXECUTION.md, Recovery)."""
    from unstract.worker.reaper import reap_once

    result = reap_once()
    click.echo(f"requeued={result.requeued} failed={result.failed} finalized={result.finalized}")


@click.command("purge")
@click.option("--dry-run", is_flag=True, help="Only print what would be deleted.")
@with_appcontext
def purge_command(dry_run: bool) -> None:
    """Apply the retention settings once: old logs, old ended executions, expired kept uploads
    (docs/EXECUTION.md, Retention). File history is never purged by age."""
    from unstract.services.retention import purge

    settings = current_app.config["UNSTRACT_SETTINGS"]
    click.echo(f"Log retention: {_days(settings.log_retention_days)}; execution retention: "
               f"{_days(settings.execution_retention_days)}; kept uploads: {settings.retry_upload_hours} h.")
    click.echo(purge(settings, dry_run=dry_run).describe(dry_run=dry_run))


def _days(days: int) -> str:
    return f"{days} day(s)" if days else "forever"


COMMANDS = [org_group, user_group, apikey_group, worker_command, serve_command, reap_command, purge_command,
            schedule_group, notification_group]


def register_cli(app: Flask) -> None:
    """Commands are attached to the app in create_app so `flask --app wsgi` sees them too."""
    for command in COMMANDS:
        app.cli.add_command(command)


if __name__ == "__main__":
    main()
