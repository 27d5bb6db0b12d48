"""Settings: one table of every knob (name, environment variable, type, default, help), one loader, one frozen
`Settings` object made at start-up.

`from_env()` reads the environment once and stops start-up with a `SettingsError` naming the first variable it
cannot read ("PARSE_MASTER_KEY_IPS: '10.0.0.300/8' is not a network"). It has no side effects: the master key
that `crm serve` generates when none is set is made and kept by the CLI (`persistent_master_key`). README's table
is generated from `SETTINGS` (`python -m parsecrm.settings` prints it; tests/test_docs.py checks it is current).
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
DEAL_STAGES = ("lead", "qualified", "proposal", "negotiation", "won", "lost")


class SettingsError(SystemExit):
    """A variable that cannot be read: start-up stops with this message."""


def _bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{raw!r} is not a boolean (true/false)")


def _count(raw: str) -> int:
    value = int(raw)
    if value < 0:
        raise ValueError(f"{raw!r} is negative")
    return value


def _positive(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise ValueError(f"{raw!r} must be at least 1")
    return value


def _names(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def _networks(raw: str) -> tuple[Network, ...]:
    out = []
    for part in _names(raw):
        try:
            out.append(ipaddress.ip_network(part, strict=False))
        except ValueError as exc:
            raise ValueError(f"{part!r} is not a network (e.g. 10.0.0.0/8 or ::1/128)") from exc
    return tuple(out)


def _path(raw: str) -> Path:
    return Path(raw)


def _mount(raw: str) -> str:
    return "/" + raw.strip("/")


def _url(raw: str) -> str:
    return raw.strip().rstrip("/")


FILE_ADAPTERS = ("postgres", "filesystem", "s3")


def _files_adapter(raw: str) -> str:
    value = raw.strip().lower()
    if value not in FILE_ADAPTERS:
        raise ValueError(f"{raw!r} is not one of {', '.join(FILE_ADAPTERS)}")
    return value


@dataclass(frozen=True)
class Rate:
    """A rate limit: at most `count` requests per `seconds`, refilled evenly (a token bucket of `count`)."""

    count: int
    seconds: float


def _rate(raw: str) -> Rate | None:
    """`N/S` (N requests per S seconds); `off` or `0` disables one limit (PARSE_RATE_LIMITS=false all of them)."""
    text = raw.strip().lower()
    if text in ("off", "0", "none"):
        return None
    count, _, seconds = text.partition("/")
    try:
        rate = Rate(int(count), float(seconds))
    except ValueError as exc:
        raise ValueError(f"{raw!r} must look like 30/60 (requests per seconds) or off") from exc
    if rate.count < 1 or not 0 < rate.seconds < 10**7:
        raise ValueError(f"{raw!r} must be a positive count per a positive number of seconds")
    return rate


def _choice(*choices: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        text = raw.strip().lower()
        if text not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}, got {raw!r}")
        return text

    return parse


def _domains(raw: str) -> tuple[str, ...]:
    return tuple(d.lower().lstrip("@") for d in _names(raw))


def _seconds(raw: str) -> float:
    value = float(raw)
    if not value > 0:
        raise ValueError(f"{raw!r} must be a positive number of seconds")
    return value


@dataclass(frozen=True)
class Setting:
    field: str  # the attribute of Settings
    env: str
    parse: Callable[[str], Any]
    default: Any
    help: str
    shown: str = ""  # the default as README shows it, when it is not the plain value

    def readme_default(self) -> str:
        if self.shown:
            return self.shown
        if isinstance(self.default, bool):
            return f"`{str(self.default).lower()}`"
        if isinstance(self.default, tuple):
            return "`" + ",".join(str(v) for v in self.default) + "`"
        return f"`{self.default}`"


SETTINGS: tuple[Setting, ...] = (
    Setting("database_url", "DATABASE_URL", str, "", "PostgreSQL DSN. Unset: the embedded PostgreSQL under `CRM_DATA_DIR/pg`", "*(unset)*"),
    Setting("data_dir", "CRM_DATA_DIR", _path, Path(".data"), "Where the embedded database and the generated master key live"),
    Setting("app_id", "PARSE_APP_ID", str, "crm", "Application id every request must carry"),
    Setting("master_key", "PARSE_MASTER_KEY", str, "", "Full access; accepted only from `PARSE_MASTER_KEY_IPS`. A generated key is shown once, by the run that made it; later banners say where it is kept", "generated once, kept in `.data/master_key`"),
    Setting("master_key_ips", "PARSE_MASTER_KEY_IPS", _networks, _networks("127.0.0.1/32,::1/128"), "Networks the master key is accepted from", "`127.0.0.1/32,::1/128`"),
    Setting("read_only_master_key", "PARSE_READ_ONLY_MASTER_KEY", str, "", "Reads everything, writes nothing (119)", "*(unset)*"),
    Setting("javascript_key", "PARSE_JAVASCRIPT_KEY", str, "", "When this or the REST key is set, non-master requests must carry one of them", "*(unset)*"),
    Setting("rest_api_key", "PARSE_REST_API_KEY", str, "", "See `PARSE_JAVASCRIPT_KEY`", "*(unset)*"),
    Setting("allow_client_class_creation", "PARSE_ALLOW_CLIENT_CLASS_CREATION", _bool, False, "Whether clients (not the master key) may create classes"),
    Setting("session_length", "PARSE_SESSION_LENGTH", _positive, 365 * 24 * 3600, "Session lifetime in seconds"),
    Setting("bcrypt_rounds", "PARSE_BCRYPT_ROUNDS", _positive, 10, "bcrypt cost for new password hashes"),
    Setting("login_max_failures", "PARSE_LOGIN_MAX_FAILURES", _count, 5, "Failed log-ins before an account is locked (`0`: never locked)"),
    Setting("login_lockout_seconds", "PARSE_LOGIN_LOCKOUT_SECONDS", _count, 300, "How long a locked account stays locked"),
    Setting("max_body_bytes", "PARSE_MAX_BODY_BYTES", _positive, 20 * 1024 * 1024, "Request body limit (413 above it)"),
    Setting("max_limit", "PARSE_MAX_LIMIT", _positive, 10_000, "Largest `limit` a non-master find may use"),
    Setting("statement_timeout_ms", "PARSE_STATEMENT_TIMEOUT_MS", _count, 5000, "Longest any SQL statement of a request may run (master key included); longer ones are cancelled and answered 124 \"Timeout\". `0`: no limit. Schema changes, purges and `crm` commands are exempt"),
    Setting("max_where_depth", "PARSE_MAX_WHERE_DEPTH", _positive, 20, "Deepest nesting of a `where` (`$or`/`$and`/`$nor`, sub-queries, nested values): deeper is 102"),
    Setting("max_where_clauses", "PARSE_MAX_WHERE_CLAUSES", _positive, 1000, "Most conditions in one `where`: more is 102"),
    Setting("max_query_params", "PARSE_MAX_QUERY_PARAMS", _positive, 10_000, "Most SQL parameters one query may need (PostgreSQL's hard limit is 32767): more is 102"),
    Setting("max_regex_length", "PARSE_MAX_REGEX_LENGTH", _positive, 1000, "Longest `$regex` pattern: longer is 102 (back-references and nested quantifiers are always 102)"),
    Setting("batch_limit", "PARSE_BATCH_LIMIT", _positive, 1000, "Largest non-master `/batch`"),
    Setting("idempotency_ttl", "PARSE_IDEMPOTENCY_TTL", _positive, 300, "Seconds a write's answer is kept for replay to retries with the same `X-Parse-Request-Id`"),
    Setting("mount_path", "PARSE_MOUNT_PATH", _mount, "/parse", "Where the API is mounted"),
    Setting("public_url", "PARSE_PUBLIC_SERVER_URL", str, "", "Used in `Location` headers and links", "`http://HOST:PORT/parse`"),
    Setting("cloud", "PARSE_CLOUD", str, "", "Your Cloud Code: a module name or a `.py` path defining `cloud = Cloud()`", "*(unset)*"),
    Setting("crm_enabled", "CRM_ENABLED", _bool, True, "Apply the CRM schema and rules (off: a plain Parse-compatible server)"),
    Setting("deal_stages", "CRM_DEAL_STAGES", _names, DEAL_STAGES, "Allowed `Deal.stage` values"),
    Setting("db_pool_size", "CRM_DB_POOL_SIZE", _positive, 10, "Connections per server process"),
    Setting("web_dir", "CRM_WEB_DIR", _path, None, "Static web app served at `/`", "the built app (`src/parsecrm/web/dist`, package data)"),
    Setting("debug", "CRM_DEBUG", _bool, False, "Adds a `Server-Timing` header with each request's stages (parse, plan, sql, db, hooks)"),
    Setting("job_scheduler", "CRM_JOB_SCHEDULER", _bool, True, "Run the `_JobSchedule` rows (Parse Dashboard's scheduled jobs) in this process; every process may: each run is claimed by exactly one (docs/cloud-code.md \"Scheduled jobs\")"),
    Setting("job_scheduler_tick", "CRM_JOB_SCHEDULER_TICK", _seconds, 30.0, "Seconds between the scheduler's looks at `_JobSchedule`: a scheduled run starts at most this late", "`30`"),
    Setting("host", "HOST", str, "127.0.0.1", "Listen address"),
    Setting("port", "PORT", _positive, 1337, "Listen port"),
    # -- live queries (livequery/) --
    Setting("live_query_classes", "PARSE_LIVE_QUERY_CLASSES", _names, ("Deal", "Activity", "Contact", "Company"), "Classes whose changes are published to live queries", "`Deal,Activity,Contact,Company`"),
    Setting("live_query_client_buffer", "PARSE_LIVE_QUERY_CLIENT_BUFFER", _positive, 1000, "Frames queued per live-query client before it is disconnected as too slow (close code 1013)"),
    Setting("live_query_compression", "PARSE_LIVE_QUERY_COMPRESSION", _bool, False, "WebSocket permessage-deflate for live queries (off, as parse-server: it costs CPU per frame and subscriber; see docs/performance.md)"),
    Setting("redis_url", "REDIS_URL", str, "", "e.g. `redis://127.0.0.1:6379/0`: live events reach every server process over Redis pub/sub (one relay per database listens to PostgreSQL) instead of each process listening itself; see docs/protocol.md \"How events travel\"", "*(unset)*"),
    # -- GraphQL and the reference pages (README: "GraphQL and the API reference") --
    Setting("graphql_path", "PARSE_GRAPHQL_PATH", _mount, "/graphql", "Where GraphQL is served (outside the mount, like parse-server's `graphQLPath`)"),
    Setting("graphql_introspection", "CRM_GRAPHQL_INTROSPECTION", _bool, True, "`false` refuses `__schema`/`__type` queries"),
    Setting("graphql_max_depth", "CRM_GRAPHQL_MAX_DEPTH", _positive, 12, "Deepest selection nesting a GraphQL query may have (400 above it)"),
    Setting("graphql_max_cost", "CRM_GRAPHQL_MAX_COST", _positive, 20_000, "Largest estimated GraphQL cost (fields x objects; a connection counts `first` or 100 objects)"),
    Setting("api_reference", "CRM_API_REFERENCE", _bool, True, "Serve `/schema`, `/api` and `/parse/openapi.json` (they show every class's fields)"),
    # -- AI guide: API tokens and the MCP server (docs/ai-guide.md) --
    Setting("token_rate_limit", "CRM_TOKEN_RATE_LIMIT", _count, 300, "Requests a minute per API token, counted across all server processes (429 / code 100 with Retry-After beyond, as parse-server's rate limiter; `0`: unlimited)"),
    Setting("mcp_enabled", "CRM_MCP_ENABLED", _bool, True, "Serve MCP over streamable HTTP at `/mcp` (bearer API tokens)"),
    # -- files (files/): where bytes live, who may upload, what and how much --
    Setting("files_adapter", "PARSE_FILES_ADAPTER", _files_adapter, "postgres", "Where file bytes live: `postgres` (in the database, 1 MiB chunks: nothing else needed), `filesystem`, or `s3`"),
    Setting("files_dir", "PARSE_FILES_DIR", _path, None, "The `filesystem` adapter's directory", "`CRM_DATA_DIR/files`"),
    Setting("file_max_bytes", "PARSE_FILE_MAX_BYTES", _positive, 20 * 1024 * 1024, "Largest file (413, code 130, above it)"),
    Setting("file_upload_public", "PARSE_FILE_UPLOAD_PUBLIC", _bool, False, "parse-server's `fileUpload.enableForPublic`: uploads without a session"),
    Setting("file_upload_anonymous", "PARSE_FILE_UPLOAD_ANONYMOUS", _bool, False, "`fileUpload.enableForAnonymousUser`"),
    Setting("file_upload_authenticated", "PARSE_FILE_UPLOAD_AUTHENTICATED", _bool, True, "`fileUpload.enableForAuthenticatedUser`"),
    Setting("file_extensions", "PARSE_FILE_EXTENSIONS", _names, ("^(?!(h|H)(t|T)(m|M)(l|L)?$)",), "`fileUpload.fileExtensions`: comma-separated patterns an extension must match (`*`: any); the default refuses `html`/`htm`", "`^(?!(h\\|H)(t\\|T)(m\\|M)(l\\|L)?$)`"),
    Setting("s3_bucket", "PARSE_S3_BUCKET", str, "", "The `s3` adapter's bucket", "*(unset)*"),
    Setting("s3_endpoint", "PARSE_S3_ENDPOINT", _url, "", "The `s3` adapter's endpoint (path-style, e.g. `https://s3.eu-west-1.amazonaws.com` or a MinIO URL)", "*(unset)*"),
    Setting("s3_region", "PARSE_S3_REGION", str, "us-east-1", "Signing region of the `s3` adapter"),
    Setting("s3_access_key", "PARSE_S3_ACCESS_KEY", str, "", "The `s3` adapter's access key (requests are signed with AWS Signature V4)", "*(unset)*"),
    Setting("s3_secret_key", "PARSE_S3_SECRET_KEY", str, "", "The `s3` adapter's secret key", "*(unset)*"),
    Setting("s3_prefix", "PARSE_S3_PREFIX", str, "", "A key prefix inside the bucket", "*(empty)*"),
    # -- hardening (issue 8): request limits, rate limits, sign-up policy, logging (README: "Limits and hardening") --
    Setting("max_json_depth", "PARSE_MAX_JSON_DEPTH", _positive, 100, "Deepest nesting of objects/arrays in any JSON the server decodes (bodies, `where`, function params, context); deeper → 400, code 107"),
    Setting("max_query_bytes", "PARSE_MAX_QUERY_BYTES", _positive, 1024 * 1024, "Largest query string (`?where=…`); larger → 414, code 107"),
    Setting("rate_limits", "PARSE_RATE_LIMITS", _bool, True, "`false` turns every rate limit below off"),
    Setting("rate_login_ip", "PARSE_RATE_LIMIT_LOGIN_IP", _rate, Rate(30, 60), "Log-ins (and `verifyPassword`, GraphQL `logIn`) per client address; over it → 429 `{\"code\":100,\"error\":\"Too many requests.\"}` with `Retry-After`, as parse-server answers", "`30/60`"),
    Setting("rate_login_user", "PARSE_RATE_LIMIT_LOGIN_USER", _rate, Rate(10, 60), "Log-ins per account named (username or email), from any address", "`10/60`"),
    Setting("rate_signup_ip", "PARSE_RATE_LIMIT_SIGNUP_IP", _rate, Rate(20, 3600), "Sign-ups and invitation requests per client address", "`20/3600`"),
    Setting("rate_reset_ip", "PARSE_RATE_LIMIT_RESET_IP", _rate, Rate(10, 3600), "Password-reset requests per client address", "`10/3600`"),
    Setting("rate_reset_user", "PARSE_RATE_LIMIT_RESET_USER", _rate, Rate(3, 3600), "Reset and invitation mails per address mailed", "`3/3600`"),
    Setting("signup", "CRM_SIGNUP", _choice("open", "invite", "domains"), "open", "Who may create an account: `open`, `invite` or `domains` (see below)"),
    Setting("signup_domains", "CRM_SIGNUP_DOMAINS", _domains, (), "With `CRM_SIGNUP=domains`: the email domains that may ask for an invitation (`example.com,example.org`)", "*(unset)*"),
    Setting("invite_ttl", "CRM_INVITE_TTL", _positive, 7 * 24 * 3600, "Seconds an invitation link works"),
    Setting("mail_dir", "CRM_MAIL_DIR", _path, None, "Without a mail sender (`@cloud.mail_sender`), mails are written here, one file each, never to the log", "`CRM_DATA_DIR/outbox`"),
    Setting("db_connect_timeout", "CRM_DB_CONNECT_TIMEOUT", _seconds, 5.0, "Seconds to wait for a database connection; while PostgreSQL is away requests answer 503 (code 1, `Retry-After: 1`) and the server recovers by itself", "`5`"),
    Setting("log_format", "CRM_LOG_FORMAT", _choice("text", "json"), "text", "`json`: one JSON object per log line (`time`, `level`, `logger`, `message`, `request_id`, `exception`)"),
    Setting("access_log", "CRM_ACCESS_LOG", _bool, False, "One line per API request (address, method, path, status, size, time, request id), redacted"),
    # -- users without a password, email verification (auth/): parse-server's options of the same names --
    Setting("enable_anonymous_users", "PARSE_ENABLE_ANONYMOUS_USERS", _bool, True, "parse-server's `enableAnonymousUsers`: the built-in `anonymous` auth provider (`Parse.AnonymousUtils.logIn()`)"),
    Setting("verify_user_emails", "PARSE_VERIFY_USER_EMAILS", _bool, False, "`verifyUserEmails`: sign-up and an email change set `emailVerified: false` and mail a verification link"),
    Setting("prevent_login_with_unverified_email", "PARSE_PREVENT_LOGIN_WITH_UNVERIFIED_EMAIL", _bool, False, "`preventLoginWithUnverifiedEmail`: with verification on, no session until the address is verified (log-in answers 205)"),
    Setting("email_verify_token_validity", "PARSE_EMAIL_VERIFY_TOKEN_VALIDITY_DURATION", _count, 0, "`emailVerifyTokenValidityDuration`: seconds a verification link works (`0`: until used or replaced)"),
    Setting("email_verify_success_on_invalid_email", "PARSE_EMAIL_VERIFY_SUCCESS_ON_INVALID_EMAIL", _bool, True, "`emailVerifySuccessOnInvalidEmail`: `verificationEmailRequest` answers `{}` for unknown or verified addresses, so it cannot probe for accounts (off: 205 / 141 as parse-server)"),
)  # fmt: skip


@dataclass(frozen=True)
class Settings:
    database_url: str = ""  # empty: the embedded PostgreSQL under data_dir
    data_dir: Path = Path(".data")
    app_id: str = "crm"
    master_key: str = ""
    master_key_ips: tuple[Network, ...] = _networks("127.0.0.1/32,::1/128")
    read_only_master_key: str = ""
    javascript_key: str = ""
    rest_api_key: str = ""
    allow_client_class_creation: bool = False
    session_length: int = 365 * 24 * 3600  # seconds
    bcrypt_rounds: int = 10
    login_max_failures: int = 5  # failed log-ins per account before lock-out
    login_lockout_seconds: int = 300
    max_body_bytes: int = 20 * 1024 * 1024
    max_limit: int = 10_000  # a find never returns more rows than this
    statement_timeout_ms: int = 5000  # every SQL statement a request runs (0: none)
    max_where_depth: int = 20
    max_where_clauses: int = 1000
    max_query_params: int = 10_000  # PostgreSQL's protocol allows 32 767 parameters per statement
    max_regex_length: int = 1000
    batch_limit: int = 1000  # sub-requests per /batch for non-master callers
    idempotency_ttl: int = 300  # seconds a replayable response is kept
    mount_path: str = "/parse"
    public_url: str = ""
    cloud: str = ""  # an importable module or a .py path with the deployment's own hooks
    crm_enabled: bool = True  # apply the CRM schema and register its rules
    deal_stages: tuple[str, ...] = DEAL_STAGES
    db_pool_size: int = 10
    web_dir: Path | None = None
    debug: bool = False
    job_scheduler: bool = True  # run the _JobSchedule rows here (jobschedule.py); each run is claimed by one process
    job_scheduler_tick: float = 30.0  # seconds between looks at _JobSchedule
    host: str = "127.0.0.1"
    port: int = 1337
    # -- GraphQL and the reference pages ------------------------------------------------------------------------
    graphql_path: str = "/graphql"  # outside the mount, like parse-server's graphQLPath
    graphql_introspection: bool = True  # off: __schema/__type are refused (and the playground cannot autocomplete)
    graphql_max_depth: int = 12  # deepest selection nesting a query may have (introspection fields excepted)
    graphql_max_cost: int = 20_000  # estimated objects x fields a query may touch (see graphql/limits.py)
    api_reference: bool = True  # serve /schema, /api and <mount>/openapi.json (they show every class's fields)
    # -- AI guide: API tokens and the MCP server (agent/) ---------------------------------------------------------
    token_rate_limit: int = 300  # requests a minute per API token, all processes together (0: unlimited)
    mcp_enabled: bool = True  # serve the MCP endpoint at /mcp (bearer API tokens)
    # -- files (see files/): where bytes live, who may upload, what and how much ----------------------------------
    files_adapter: str = "postgres"  # postgres | filesystem | s3
    files_dir: Path | None = None  # filesystem adapter: default <data_dir>/files
    file_max_bytes: int = 20 * 1024 * 1024
    file_upload_public: bool = False  # parse-server's fileUpload.enableForPublic
    file_upload_anonymous: bool = False  # fileUpload.enableForAnonymousUser
    file_upload_authenticated: bool = True  # fileUpload.enableForAuthenticatedUser
    file_extensions: tuple[str, ...] = ("^(?!(h|H)(t|T)(m|M)(l|L)?$)",)  # fileUpload.fileExtensions: not html/htm
    s3_bucket: str = ""
    s3_endpoint: str = ""  # e.g. https://s3.eu-west-1.amazonaws.com or a MinIO URL; path-style requests
    s3_region: str = "us-east-1"
    s3_access_key: str = ""
    s3_secret_key: str = ""
    s3_prefix: str = ""
    # -- live queries (livequery/) --------------------------------------------------------------------------------
    live_query_classes: tuple[str, ...] = ("Deal", "Activity", "Contact", "Company")  # classes that publish events
    live_query_client_buffer: int = 1000  # frames queued per WebSocket before the client is cut off as too slow
    redis_url: str = ""  # live events between processes over Redis pub/sub instead of PostgreSQL NOTIFY
    # WebSocket permessage-deflate: off, as parse-server's `ws` server. Compressing costs CPU per frame *per
    # subscriber* (a third of the fan-out time at 1 000 subscribers, docs/performance.md) to save bandwidth
    live_query_compression: bool = False
    # -- hardening (issue 8): request limits, rate limits, sign-up policy, logging --------------------------------
    max_json_depth: int = 100  # nesting levels of any JSON the server decodes (MongoDB's own document limit)
    max_query_bytes: int = 1024 * 1024  # a query string (`where=` …) larger than this is refused
    rate_limits: bool = True  # false: every rate_* below is None (from_env applies it)
    rate_login_ip: Rate | None = Rate(30, 60)  # log-ins per client address
    rate_login_user: Rate | None = Rate(10, 60)  # log-ins per account named (username or email)
    rate_signup_ip: Rate | None = Rate(20, 3600)  # sign-ups (and invite requests) per client address
    rate_reset_ip: Rate | None = Rate(10, 3600)  # password-reset mails per client address
    rate_reset_user: Rate | None = Rate(3, 3600)  # password-reset (and invite) mails per address
    signup: str = "open"  # open | invite | domains
    signup_domains: tuple[str, ...] = ()
    invite_ttl: int = 7 * 24 * 3600  # seconds an invitation link works
    mail_dir: Path | None = None  # the development mail sender's outbox (from_env: data_dir/outbox)
    db_connect_timeout: float = 5.0  # seconds; while PostgreSQL is away requests answer 503 after at most this
    log_format: str = "text"  # text | json
    access_log: bool = False
    # -- users without a password, email verification (auth/): parse-server's options of the same names ---------
    enable_anonymous_users: bool = True  # enableAnonymousUsers: the built-in `anonymous` auth provider
    verify_user_emails: bool = False  # verifyUserEmails: mail a verification link on sign-up and email change
    prevent_login_with_unverified_email: bool = False  # preventLoginWithUnverifiedEmail (needs verify_user_emails)
    email_verify_token_validity: int = 0  # emailVerifyTokenValidityDuration, seconds; 0: the link never expires
    email_verify_success_on_invalid_email: bool = True  # emailVerifySuccessOnInvalidEmail: no account probing

    @property
    def server_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}{self.mount_path}"

    def master_ip_allowed(self, ip: str | None) -> bool:
        if not ip:
            return False
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            return False
        return any(addr in net for net in self.master_key_ips)


def from_env(env: Mapping[str, str] | None = None) -> Settings:
    """The settings the environment asks for; a SettingsError names the first variable that cannot be read."""
    source = os.environ if env is None else env
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = source.get(setting.env)
        if raw is None or raw.strip() == "":
            values[setting.field] = setting.default
            continue
        try:
            values[setting.field] = setting.parse(raw)
        except ValueError as exc:
            raise SettingsError(f"{setting.env}: {exc}") from exc
    values["data_dir"] = Path(values["data_dir"]).resolve()
    if values["files_dir"] is None:
        values["files_dir"] = values["data_dir"] / "files"
    if values["files_adapter"] == "s3" and not (values["s3_bucket"] and values["s3_endpoint"]):
        raise SettingsError("PARSE_FILES_ADAPTER: s3 needs PARSE_S3_BUCKET and PARSE_S3_ENDPOINT")
    return Settings(**_derived(values))


_RATES = ("rate_login_ip", "rate_login_user", "rate_signup_ip", "rate_reset_ip", "rate_reset_user")


def _derived(values: dict[str, Any]) -> dict[str, Any]:
    """Settings that depend on others: the master rate-limit switch, the outbox under the data directory, and
    `domains` sign-up, which is meaningless without domains."""
    if not values["rate_limits"]:
        values.update(dict.fromkeys(_RATES))
    mail_dir = values["mail_dir"]
    values["mail_dir"] = Path(mail_dir).resolve() if mail_dir else values["data_dir"] / "outbox"
    if values["signup"] == "domains" and not values["signup_domains"]:
        raise SettingsError("CRM_SIGNUP_DOMAINS: CRM_SIGNUP=domains needs the domains (e.g. example.com,example.org)")
    return values


def persistent_master_key(data_dir: Path) -> str:
    """A master key generated once and kept under the data directory, so restarts keep clients working (what
    `crm serve` uses when PARSE_MASTER_KEY is unset)."""
    path = data_dir / "master_key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(24)
    path.write_text(key + "\n")
    path.chmod(0o600)
    return key


def markdown_table() -> str:
    """README's settings table."""
    lines = ["| Variable | Default | Meaning |", "|---|---|---|"]
    lines += [f"| `{s.env}` | {s.readme_default()} | {s.help} |" for s in SETTINGS]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.stdout.write(markdown_table() + "\n")
