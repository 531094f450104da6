"""Configuration read once from the environment, with defaults for the embedded mode (README, Configuration)."""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path


class ConfigError(Exception):
    """An environment variable has a value the service cannot use (exit code 2)."""


INTEGER_VARIABLES = {
    "PORT": 5000,
    "UNSTRACT_WORKERS": 2,
    "UNSTRACT_WEB_THREADS": 8,
    "UNSTRACT_MAX_UPLOAD_FILES": 32,
    "MAX_CONTENT_LENGTH": 104857600,
    "UNSTRACT_MAX_FILE_EXECUTION_COUNT": 3,
    "UNSTRACT_MAX_PENDING_EXECUTIONS": 100,
    "UNSTRACT_FILE_LEASE_SECONDS": 120,
    "UNSTRACT_MAX_ATTEMPTS": 3,
    "UNSTRACT_REAP_INTERVAL_SECONDS": 30,
    "UNSTRACT_STEP_IDLE_TIMEOUT_SECONDS": 10800,
    "UNSTRACT_TOOL_TIMEOUT_SECONDS": 600,
    "UNSTRACT_FILE_BATCH_SIZE": 16,
    "UNSTRACT_MAX_RESULT_BYTES": 8 * 1024 * 1024,
    "UNSTRACT_MAX_TEXT_CHARS": 2_000_000,
    "UNSTRACT_MAX_FORM_PARTS": 1000,
    "UNSTRACT_SYNC_POLL_SECONDS": 2,
    "UNSTRACT_TRANSIENT_RETRY_SECONDS": 60,
    "UNSTRACT_RETRY_UPLOAD_HOURS": 24,
    "UNSTRACT_LOG_RETENTION_DAYS": 30,
    "UNSTRACT_EXECUTION_RETENTION_DAYS": 90,
    "UNSTRACT_SCHEDULE_TICK_SECONDS": 5,
    "UNSTRACT_WEBHOOK_TIMEOUT_SECONDS": 10,
    "UNSTRACT_FILE_CONCURRENCY": 8,
    "UNSTRACT_ADAPTER_SLOT_LEASE_SECONDS": 60,
    "UNSTRACT_ADAPTER_SLOT_WAIT_SECONDS": 3600,
}

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off"}


def _integer(env: dict[str, str], name: str) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return INTEGER_VARIABLES[name]
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}.") from None


def _positive(env: dict[str, str], name: str) -> int:
    value = _integer(env, name)
    if value < 1:
        raise ConfigError(f"{name} must be at least 1, got {value}.")
    return value


def _not_negative(env: dict[str, str], name: str) -> int:
    value = _integer(env, name)
    if value < 0:
        raise ConfigError(f"{name} must be 0 or more, got {value}.")
    return value


def _boolean(env: dict[str, str], name: str, default: bool) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if raw == "":
        return default
    if raw in TRUE_WORDS:
        return True
    if raw in FALSE_WORDS:
        return False
    raise ConfigError(f"{name} must be true or false, got {env.get(name)!r}.")


def _seconds(env: dict[str, str], name: str, default: float) -> float:
    """A positive number of seconds, fractions allowed (tests use tiny ones)."""
    raw = (env.get(name) or "").strip()
    if raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}.") from None
    if not value > 0 or value == float("inf"):
        raise ConfigError(f"{name} must be a positive number, got {raw!r}.")
    return value


def _words(env: dict[str, str], name: str) -> list[str]:
    """A comma-separated list; blanks dropped."""
    return [word.strip() for word in (env.get(name) or "").split(",") if word.strip()]


RATE_PERIODS = {"second": 1, "minute": 60, "hour": 3600}
RATE_FORM = re.compile(r"\s*(\d+)\s*/\s*(second|minute|hour)\s*", re.IGNORECASE)


def _rate(env: dict[str, str], name: str, default: str) -> tuple[int, int]:
    """`N/second`, `N/minute` or `N/hour` as (N, window seconds); N at least 1."""
    raw = env.get(name) or default
    match = RATE_FORM.fullmatch(raw)
    if match is None or int(match.group(1)) < 1:
        raise ConfigError(f"{name} must look like 60/minute (N/second, N/minute or N/hour, N >= 1), "
                          f"got {raw!r}.")
    return int(match.group(1)), RATE_PERIODS[match.group(2).lower()]


def data_dir_from(env: dict[str, str]) -> Path:
    """The data directory, absolute, so relative defaults do not depend on later chdir calls."""
    return Path(env.get("UNSTRACT_DATA_DIR") or "./instance").resolve()


def load_secret_key(data_dir: Path) -> str:
    """Read the generated key from the data dir, creating it (mode 0600) on first use."""
    key_file = data_dir / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def secret_key_of(settings: Settings) -> str:
    """SECRET_KEY when set, else the generated key of the data dir."""
    return settings.secret_key or load_secret_key(settings.data_dir)


@dataclass
class Settings:
    """Typed view of the environment; becomes Flask config keys of the same names."""

    data_dir: Path
    database_url: str
    redis_url: str | None
    secret_key: str | None
    host: str
    port: int
    workers: int
    web_threads: int
    local_storage_roots: list[str] = field(default_factory=list)
    max_upload_files: int = 32
    max_content_length: int = 104857600
    max_file_execution_count: int = 3
    max_pending_executions: int = 100
    file_lease_seconds: int = 120
    max_attempts: int = 3
    reap_interval_seconds: int = 30
    step_idle_timeout_seconds: int = 10800
    tool_timeout_seconds: int = 600
    file_batch_size: int = 16
    admin_email: str = "admin@example.com"
    admin_password: str | None = None
    bootstrap: bool = True
    secure_cookies: bool = False
    external_url: str | None = None
    trusted_hosts: list[str] = field(default_factory=list)
    trusted_proxies: list[str] = field(default_factory=list)
    max_result_bytes: int = 8 * 1024 * 1024
    max_text_chars: int = 2_000_000
    max_form_parts: int = 1000
    sync_poll_seconds: int = 2
    sync_wakeups: bool = True
    transient_retry_seconds: int = 60
    deployment_rate_limit: tuple[int, int] = (60, 60)
    retry_upload_hours: int = 24
    log_retention_days: int = 30
    execution_retention_days: int = 90
    schedule_tick_seconds: int = 5
    log_format: str = "text"
    metrics_token: str | None = None
    webhook_retry_base_seconds: float = 10.0
    webhook_allow_private_networks: bool = False
    webhook_timeout_seconds: int = 10
    file_concurrency: int = 8
    adapter_slot_lease_seconds: int = 60
    adapter_slot_wait_seconds: int = 3600


def read_settings(env: dict[str, str] | None = None) -> Settings:
    """Parse the environment once; raises ConfigError naming the offending variable."""
    env = dict(os.environ if env is None else env)
    data_dir = data_dir_from(env)
    roots = env.get("UNSTRACT_LOCAL_STORAGE_ROOTS") or str(data_dir / "storage")
    return Settings(
        data_dir=data_dir,
        database_url=env.get("DATABASE_URL") or f"sqlite:///{data_dir / 'unstract.db'}",
        redis_url=env.get("REDIS_URL") or None,
        secret_key=env.get("SECRET_KEY") or None,
        host=env.get("HOST") or "127.0.0.1",
        port=_integer(env, "PORT"),
        workers=_integer(env, "UNSTRACT_WORKERS"),
        web_threads=_integer(env, "UNSTRACT_WEB_THREADS"),
        local_storage_roots=[str(Path(r).resolve()) for r in roots.split(":") if r],
        max_upload_files=_integer(env, "UNSTRACT_MAX_UPLOAD_FILES"),
        max_content_length=_integer(env, "MAX_CONTENT_LENGTH"),
        max_file_execution_count=_integer(env, "UNSTRACT_MAX_FILE_EXECUTION_COUNT"),
        max_pending_executions=_integer(env, "UNSTRACT_MAX_PENDING_EXECUTIONS"),
        file_lease_seconds=_integer(env, "UNSTRACT_FILE_LEASE_SECONDS"),
        max_attempts=_integer(env, "UNSTRACT_MAX_ATTEMPTS"),
        reap_interval_seconds=_integer(env, "UNSTRACT_REAP_INTERVAL_SECONDS"),
        step_idle_timeout_seconds=_integer(env, "UNSTRACT_STEP_IDLE_TIMEOUT_SECONDS"),
        tool_timeout_seconds=_integer(env, "UNSTRACT_TOOL_TIMEOUT_SECONDS"),
        file_batch_size=_positive(env, "UNSTRACT_FILE_BATCH_SIZE"),
        admin_email=(env.get("UNSTRACT_ADMIN_EMAIL") or "admin@example.com").strip().lower(),
        admin_password=env.get("UNSTRACT_ADMIN_PASSWORD") or None,
        bootstrap=env.get("UNSTRACT_BOOTSTRAP", "1") != "0",
        secure_cookies=_boolean(env, "UNSTRACT_SECURE_COOKIES", False),
        external_url=(env.get("UNSTRACT_EXTERNAL_URL") or "").strip().rstrip("/") or None,
        trusted_hosts=_words(env, "UNSTRACT_TRUSTED_HOSTS"),
        trusted_proxies=_words(env, "UNSTRACT_TRUSTED_PROXIES"),
        max_result_bytes=_positive(env, "UNSTRACT_MAX_RESULT_BYTES"),
        max_text_chars=_positive(env, "UNSTRACT_MAX_TEXT_CHARS"),
        max_form_parts=_positive(env, "UNSTRACT_MAX_FORM_PARTS"),
        sync_poll_seconds=_positive(env, "UNSTRACT_SYNC_POLL_SECONDS"),
        sync_wakeups=_boolean(env, "UNSTRACT_SYNC_WAKEUPS", True),
        transient_retry_seconds=_integer(env, "UNSTRACT_TRANSIENT_RETRY_SECONDS"),
        deployment_rate_limit=_rate(env, "UNSTRACT_DEPLOYMENT_RATE_LIMIT", "60/minute"),
        retry_upload_hours=_not_negative(env, "UNSTRACT_RETRY_UPLOAD_HOURS"),
        log_retention_days=_not_negative(env, "UNSTRACT_LOG_RETENTION_DAYS"),
        execution_retention_days=_not_negative(env, "UNSTRACT_EXECUTION_RETENTION_DAYS"),
        schedule_tick_seconds=_positive(env, "UNSTRACT_SCHEDULE_TICK_SECONDS"),
        log_format=_choice(env, "UNSTRACT_LOG_FORMAT", ("text", "json")),
        metrics_token=env.get("UNSTRACT_METRICS_TOKEN") or None,
        webhook_retry_base_seconds=_seconds(env, "UNSTRACT_WEBHOOK_RETRY_BASE_SECONDS", 10.0),
        webhook_allow_private_networks=_boolean(env, "UNSTRACT_WEBHOOK_ALLOW_PRIVATE_NETWORKS", False),
        webhook_timeout_seconds=_positive(env, "UNSTRACT_WEBHOOK_TIMEOUT_SECONDS"),
        file_concurrency=_positive(env, "UNSTRACT_FILE_CONCURRENCY"),
        adapter_slot_lease_seconds=_positive(env, "UNSTRACT_ADAPTER_SLOT_LEASE_SECONDS"),
        adapter_slot_wait_seconds=_positive(env, "UNSTRACT_ADAPTER_SLOT_WAIT_SECONDS"),
    )


def _choice(env: dict[str, str], name: str, choices: tuple[str, ...]) -> str:
    """One of `choices` (case-insensitive); the first is the default."""
    raw = (env.get(name) or "").strip().lower()
    if raw == "":
        return choices[0]
    if raw not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {env.get(name)!r}.")
    return raw


def flask_config(settings: Settings) -> dict:
    """Flask config mapping: Flask's own keys plus UNSTRACT_* keys the services read."""
    return {
        "SECRET_KEY": secret_key_of(settings),
        "SQLALCHEMY_DATABASE_URI": settings.database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options(settings.database_url, settings.file_concurrency),
        "MAX_CONTENT_LENGTH": settings.max_content_length,
        "MAX_FORM_PARTS": settings.max_form_parts,
        "REDIS_URL": settings.redis_url,
        "UNSTRACT_SETTINGS": settings,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": settings.secure_cookies,
        "REMEMBER_COOKIE_SECURE": settings.secure_cookies,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "WTF_CSRF_TIME_LIMIT": None,
        "WTF_CSRF_HEADERS": ["X-CSRFToken"],
        "JSON_SORT_KEYS": False,
    }


def engine_options(database_url: str, file_concurrency: int = 8) -> dict:
    """SQLite gets a busy timeout so concurrent workers wait instead of failing with 'locked'. A pool
    holds a connection for each of a worker's file lanes, with room for the job, the heartbeat and the
    periodic threads (docs/EXECUTION.md, Throughput)."""
    if database_url.startswith("sqlite"):
        return {"connect_args": {"timeout": 30, "check_same_thread": False},
                "pool_size": max(5, file_concurrency + 4), "max_overflow": 10}
    return {"pool_pre_ping": True, "pool_size": max(10, file_concurrency + 4), "max_overflow": 10}
