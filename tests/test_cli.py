"""The `unstract` command: output and exit codes 0 (ok), 1 (conflict/unknown), 2 (bad input)."""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from tests.support import ApiClient, start_embedded_redis
from unstract.cli import main
from unstract.extensions import db
from unstract.models import ApiKey, Organization, OrgMembership, User
from unstract.services import accounts

KEY_PATTERN = re.compile(r"uk_[A-Za-z0-9_-]{43}")


@pytest.fixture
def unstract(base_env):
    """Run `unstract ARGS...` in-process against the test database; env entries set to None are unset."""
    def run(*args: str, **env: str | None):
        return CliRunner().invoke(main, list(args), env={**base_env, **env}, catch_exceptions=False)
    return run


@pytest.fixture
def acme():
    accounts.create_org("acme", "Acme")
    return accounts.add_user("ada@acme.test", "password123", "acme", "member")


def assert_fails(result, code: int, message: str | None = None) -> None:
    assert result.exit_code == code, (result.stdout, result.stderr)
    assert result.stdout == ""
    if message is not None:
        assert result.stderr == message + "\n"


def org(org_id: str) -> Organization | None:
    return db.session.scalar(select(Organization).where(Organization.org_id == org_id))


# org create

def test_org_create_prints_the_id_and_names_it_after_the_id_by_default(unstract):
    result = unstract("org", "create", "acme")
    assert (result.exit_code, result.stdout) == (0, "acme\n")
    assert org("acme").name == "acme"


def test_org_create_takes_a_display_name(unstract):
    assert unstract("org", "create", "Acme_2", "--name", "Acme Inc.").stdout == "Acme_2\n"
    assert org("Acme_2").name == "Acme Inc."


def test_org_create_of_an_existing_id_exits_1(unstract, acme):
    assert_fails(unstract("org", "create", "acme"), 1, "Organization 'acme' already exists.")


@pytest.mark.parametrize("org_id", ["bad id", "_leading", "a" * 65, "dots.not.allowed"])
def test_org_create_with_an_invalid_id_exits_2(unstract, org_id):
    assert_fails(unstract("org", "create", org_id), 2)
    assert org(org_id) is None


# user create

def test_user_create_prints_the_new_user_id_as_a_member(unstract, acme):
    result = unstract("user", "create", "Bob@Acme.test", "--password", "password123", "--org", "acme")
    assert result.exit_code == 0
    user = accounts.find_user("bob@acme.test")
    assert result.stdout == f"{user.id}\n"
    assert uuid.UUID(result.stdout.strip()).version == 4
    assert accounts.membership(user, org("acme")).role == "member"
    assert accounts.verify_password("bob@acme.test", "password123") == user


def test_user_create_with_admin_role(unstract, acme):
    result = unstract("user", "create", "boss@acme.test", "--password", "password123", "--org", "acme",
                      "--role", "admin")
    assert result.exit_code == 0
    assert accounts.membership(accounts.find_user("boss@acme.test"), org("acme")).role == "admin"


def test_user_create_adds_an_existing_user_to_another_org_keeping_the_password(unstract, acme):
    accounts.create_org("other")
    result = unstract("user", "create", "ada@acme.test", "--password", "different-pass", "--org", "other")
    assert (result.exit_code, result.stdout) == (0, f"{acme.id}\n")
    assert accounts.membership(acme, org("other")) is not None
    assert accounts.verify_password("ada@acme.test", "password123") is not None
    assert accounts.verify_password("ada@acme.test", "different-pass") is None


def test_user_create_of_an_existing_member_exits_1(unstract, acme):
    result = unstract("user", "create", "ADA@acme.test", "--password", "password123", "--org", "acme")
    assert_fails(result, 1, "User 'ada@acme.test' is already a member of 'acme'.")


def test_user_create_in_an_unknown_org_exits_1(unstract):
    assert_fails(unstract("user", "create", "bob@acme.test", "--password", "password123", "--org", "nope"), 1)
    assert accounts.find_user("bob@acme.test") is None


def test_user_create_with_a_short_password_exits_2(unstract, acme):
    assert_fails(unstract("user", "create", "bob@acme.test", "--password", "1234567", "--org", "acme"), 2)
    assert accounts.find_user("bob@acme.test") is None


@pytest.mark.parametrize("args", [
    ["--password", "password123", "--org", "acme", "--role", "owner"],
    ["--org", "acme"],
    ["--password", "password123"],
])
def test_user_create_with_bad_or_missing_options_exits_2(unstract, acme, args):
    result = unstract("user", "create", "bob@acme.test", *args)
    assert result.exit_code == 2 and result.stdout == ""
    assert accounts.find_user("bob@acme.test") is None


# apikey create

def test_apikey_create_prints_only_a_key_that_authenticates(unstract, acme, app):
    result = unstract("apikey", "create", "--org", "acme", "--email", "ada@acme.test")
    assert result.exit_code == 0
    key = result.stdout.removesuffix("\n")
    assert KEY_PATTERN.fullmatch(key), result.stdout
    stored = db.session.scalar(select(ApiKey))
    assert (stored.permission, stored.user_id) == ("read_write", acme.id)
    assert key not in stored.key_hash
    api = ApiClient(app.test_client(), "acme", key)
    response = api.get("member/")
    assert response.status_code == 200
    assert [m["email"] for m in response.get_json()["results"]] == ["ada@acme.test"]


def test_apikey_create_with_read_permission_cannot_post(unstract, acme, app):
    key = unstract("apikey", "create", "--org", "acme", "--email", "ada@acme.test",
                   "--permission", "read").stdout.strip()
    api = ApiClient(app.test_client(), "acme", key)
    assert api.get("member/").status_code == 200
    response = api.post("member/", json={})
    assert response.status_code == 403
    assert response.get_json()["errors"][0]["code"] == "api_key_permission"


def test_apikey_keys_are_distinct(unstract, acme):
    keys = {unstract("apikey", "create", "--org", "acme", "--email", "ada@acme.test",
                     "--permission", "full_access").stdout for _ in range(3)}
    assert len(keys) == 3


@pytest.mark.parametrize(("org_id", "email"), [("acme", "nobody@acme.test"), ("nope", "ada@acme.test")])
def test_apikey_create_for_a_non_member_or_unknown_org_exits_1(unstract, acme, org_id, email):
    assert_fails(unstract("apikey", "create", "--org", org_id, "--email", email), 1)
    accounts.create_org("other")
    accounts.add_user("olga@other.test", "password123", "other")
    assert_fails(unstract("apikey", "create", "--org", "acme", "--email", "olga@other.test"), 1)
    assert db.session.scalar(select(ApiKey)) is None


def test_apikey_create_with_an_unknown_permission_exits_2(unstract, acme):
    result = unstract("apikey", "create", "--org", "acme", "--email", "ada@acme.test",
                      "--permission", "admin")
    assert result.exit_code == 2 and result.stdout == ""
    assert db.session.scalar(select(ApiKey)) is None


# worker, reap, Flask's own commands

def test_worker_without_redis_url_or_embedded_socket_exits_2(unstract, tmp_path):
    result = unstract("worker", "--burst", REDIS_URL=None, UNSTRACT_DATA_DIR=str(tmp_path))
    assert_fails(result, 2, "REDIS_URL is not set and no embedded Redis socket was found.")


@pytest.mark.slow
def test_worker_burst_on_an_empty_queue_exits_0(unstract):
    assert unstract("worker", "--burst").exit_code == 0


@pytest.mark.slow
def test_worker_uses_the_embedded_socket_when_redis_url_is_unset(unstract, tmp_path):
    process, _ = start_embedded_redis(tmp_path)
    try:
        result = unstract("worker", "--burst", REDIS_URL=None, UNSTRACT_DATA_DIR=str(tmp_path))
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert result.exit_code == 0, result.stderr


def test_reap_prints_the_counts(unstract):
    result = unstract("reap")
    assert (result.exit_code, result.stdout) == (0, "requeued=0 failed=0 finalized=0\n")


def test_flask_routes_command_is_available(unstract):
    result = unstract("routes")
    assert result.exit_code == 0
    assert "/healthz" in result.stdout and "/api/v1/unstract/<org_id>/member/" in result.stdout


@pytest.mark.parametrize("workers", ["-1", "two"])
def test_serve_with_a_bad_worker_count_exits_2_before_starting_anything(unstract, workers, tmp_path):
    result = unstract("serve", "--workers", workers, UNSTRACT_DATA_DIR=str(tmp_path / "data"))
    assert result.exit_code == 2 and result.stdout == ""
    assert not (tmp_path / "data" / "redis.sock").exists()


def test_unknown_command_exits_2(unstract):
    assert unstract("frobnicate").exit_code == 2


@pytest.mark.parametrize("args", [
    ["org", "create", "acme"],
    ["user", "create", "a@b.test", "--password", "password123", "--org", "acme"],
    ["apikey", "create", "--org", "acme", "--email", "a@b.test"],
    ["worker", "--burst"],
    ["serve"],
    ["reap"],
    ["routes"],
])
@pytest.mark.parametrize("variable", ["PORT", "UNSTRACT_MAX_ATTEMPTS"])
def test_a_non_integer_integer_variable_makes_every_command_exit_2(unstract, args, variable):
    result = unstract(*args, **{variable: "12abc"})
    assert_fails(result, 2)
    assert variable in result.stderr
    assert org("acme") is None


@pytest.mark.slow
def test_console_script_returns_the_exit_codes(base_env):
    """The installed entry point, as a real process."""
    script = Path(sys.executable).with_name("unstract")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "unstract.cli"]
    env = {**base_env, "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin"}

    def run(*args):
        return subprocess.run([*command, *args], env=env, capture_output=True, text=True, timeout=120)

    created = run("org", "create", "cli-org")
    assert (created.returncode, created.stdout) == (0, "cli-org\n"), created.stderr
    again = run("org", "create", "cli-org")
    assert (again.returncode, again.stderr) == (1, "Organization 'cli-org' already exists.\n")
    assert run("org", "create", "bad id").returncode == 2
    assert org("cli-org") is not None


def test_user_membership_rows_are_created_once(unstract, acme):
    unstract("user", "create", "bob@acme.test", "--password", "password123", "--org", "acme")
    unstract("user", "create", "bob@acme.test", "--password", "password123", "--org", "acme")
    bob = accounts.find_user("bob@acme.test")
    rows = list(db.session.scalars(select(OrgMembership).where(OrgMembership.user_id == bob.id)))
    assert len(rows) == 1
    assert db.session.scalar(select(User).where(User.email == "bob@acme.test")) == bob


def test_apikey_create_with_a_name(unstract, acme):
    result = unstract("apikey", "create", "--org", "acme", "--email", "ada@acme.test", "--name", " Nightly import ")
    assert result.exit_code == 0 and KEY_PATTERN.fullmatch(result.stdout.strip())
    assert db.session.scalar(select(ApiKey.name)) == "Nightly import"
    too_long = unstract("apikey", "create", "--org", "acme", "--email", "ada@acme.test", "--name", "x" * 65)
    assert too_long.exit_code == 2 and db.session.scalar(select(func.count()).select_from(ApiKey)) == 1
