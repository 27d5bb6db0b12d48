"""Settings: one frozen object read from the environment at start-up, validated once.

Every knob the server has is here, with its environment variable and default; README's table mirrors this file.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    try:
        return int(raw) if raw else default
    except ValueError as exc:
        raise SystemExit(f"{name} must be an integer, got {raw!r}") from exc


def _list(value: str | None, default: tuple[str, ...]) -> tuple[str, ...]:
    if value is None:
        return default
    return tuple(part.strip() for part in value.split(",") if part.strip())


@dataclass(frozen=True)
class Rate:
    """A rate limit: at most `count` requests per `seconds`, refilled evenly (a token bucket of `count`)."""

    count: int
    seconds: float


def _rate(name: str, value: str | None, default: Rate | None, enabled: bool) -> Rate | None:
    """`N/S` (N requests per S seconds); `off` or `0` disables one limit, PARSE_RATE_LIMITS=off all of them."""
    if not enabled:
        return None
    if value is None or value.strip() == "":
        return default
    text = value.strip().lower()
    if text in ("off", "0", "none"):
        return None
    count, _, seconds = text.partition("/")
    try:
        rate = Rate(int(count), float(seconds))
    except ValueError as exc:
        raise SystemExit(f"{name} must look like 30/60 (requests per seconds) or off, got {value!r}") from exc
    if rate.count < 1 or not 0 < rate.seconds < 10**7:
        raise SystemExit(f"{name} must be a positive count per a positive number of seconds, got {value!r}")
    return rate


def _choice(name: str, value: str | None, choices: tuple[str, ...]) -> str:
    text = (value or choices[0]).strip().lower()
    if text not in choices:
        raise SystemExit(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return text


@dataclass(frozen=True)
class Settings:
    app_id: str = "crm"
    master_key: str = ""
    read_only_master_key: str = ""
    javascript_key: str = ""
    rest_api_key: str = ""
    database_url: str = ""  # empty: the embedded PostgreSQL under data_dir
    data_dir: Path = Path(".data")
    host: str = "127.0.0.1"
    port: int = 1337
    mount_path: str = "/parse"
    public_url: str = ""
    allow_client_class_creation: bool = False
    master_key_ips: tuple[str, ...] = ("127.0.0.1/32", "::1/128")
    session_length: int = 365 * 24 * 3600  # seconds
    max_body_bytes: int = 20 * 1024 * 1024
    max_limit: int = 10_000  # a find never returns more rows than this
    batch_limit: int = 1000  # sub-requests per /batch for non-master callers
    idempotency_ttl: int = 300  # seconds a replayable response is kept
    bcrypt_rounds: int = 10
    login_max_failures: int = 5  # failed log-ins per account before lock-out
    login_lockout_seconds: int = 300
    cloud: str = ""  # an importable module or a .py path with the deployment's own hooks
    crm_enabled: bool = True  # apply the CRM schema and register its rules
    deal_stages: tuple[str, ...] = ("lead", "qualified", "proposal", "negotiation", "won", "lost")
    db_pool_size: int = 10
    debug: bool = False
    web_dir: Path | None = None
    # -- GraphQL and the reference pages (README: "GraphQL") -------------------------------------------------------
    graphql_path: str = "/graphql"  # outside the mount, like parse-server's graphQLPath
    graphql_introspection: bool = True  # off: __schema/__type are refused (and the playground cannot autocomplete)
    graphql_max_depth: int = 12  # deepest selection nesting a query may have (introspection fields excepted)
    graphql_max_cost: int = 20_000  # estimated objects x fields a query may touch (see graphql/limits.py)
    api_reference: bool = True  # serve /schema, /api and <mount>/openapi.json (they show every class's fields)
    # -- AI guide: API tokens and the MCP server (agent/) ---------------------------------------------------------
    token_rate_limit: int = 300  # requests a minute per API token, per server process (0: unlimited)
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

    # -- hardening (issue 8): request limits, rate limits, sign-up policy, logging ------------------------------------
    # Kept together so the settings table can absorb them in one piece; README's "Limits and hardening" table.
    max_json_depth: int = 100  # nesting levels of any JSON the server decodes (MongoDB's own document limit)
    max_query_bytes: int = 1024 * 1024  # a query string (`where=` …) larger than this is refused
    db_connect_timeout: float = 5.0  # seconds; while PostgreSQL is away requests answer 503 after at most this
    rate_login_ip: Rate | None = Rate(30, 60)  # log-ins per client address
    rate_login_user: Rate | None = Rate(10, 60)  # log-ins per account named (username or email)
    rate_signup_ip: Rate | None = Rate(20, 3600)  # sign-ups (and invite requests) per client address
    rate_reset_ip: Rate | None = Rate(10, 3600)  # password-reset mails per client address
    rate_reset_user: Rate | None = Rate(3, 3600)  # password-reset (and invite) mails per address
    signup: str = "open"  # open | invite | domains
    signup_domains: tuple[str, ...] = ()
    invite_ttl: int = 7 * 24 * 3600  # seconds an invitation link works
    mail_dir: Path | None = None  # the development mail sender's outbox (default: data_dir/outbox)
    log_format: str = "text"  # text | json
    access_log: bool = False

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
        for net in self.master_key_ips:
            try:
                if addr in ipaddress.ip_network(net, strict=False):
                    return True
            except ValueError:
                continue
        return False


def _persistent_master_key(data_dir: Path) -> str:
    """A master key generated once and kept under the data directory, so restarts keep clients working."""
    path = data_dir / "master_key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(24)
    path.write_text(key + "\n")
    path.chmod(0o600)
    return key


def from_env(env: dict[str, str] | None = None) -> Settings:
    e = os.environ if env is None else env
    data_dir = Path(e.get("CRM_DATA_DIR", ".data")).resolve()
    master_key = e.get("PARSE_MASTER_KEY", "") or _persistent_master_key(data_dir)
    mount = "/" + e.get("PARSE_MOUNT_PATH", "/parse").strip("/")
    stages = _list(e.get("CRM_DEAL_STAGES"), Settings.deal_stages)
    web_dir = e.get("CRM_WEB_DIR")
    return Settings(
        app_id=e.get("PARSE_APP_ID", "crm"),
        master_key=master_key,
        read_only_master_key=e.get("PARSE_READ_ONLY_MASTER_KEY", ""),
        javascript_key=e.get("PARSE_JAVASCRIPT_KEY", ""),
        rest_api_key=e.get("PARSE_REST_API_KEY", ""),
        database_url=e.get("DATABASE_URL", ""),
        data_dir=data_dir,
        host=e.get("HOST", "127.0.0.1"),
        port=_int("PORT", 1337) if env is None else int(e.get("PORT", "1337")),
        mount_path=mount,
        public_url=e.get("PARSE_PUBLIC_SERVER_URL", ""),
        allow_client_class_creation=_bool(e.get("PARSE_ALLOW_CLIENT_CLASS_CREATION"), False),
        master_key_ips=_list(e.get("PARSE_MASTER_KEY_IPS"), Settings.master_key_ips),
        session_length=int(e.get("PARSE_SESSION_LENGTH", Settings.session_length)),
        max_body_bytes=int(e.get("PARSE_MAX_BODY_BYTES", Settings.max_body_bytes)),
        max_limit=int(e.get("PARSE_MAX_LIMIT", Settings.max_limit)),
        batch_limit=int(e.get("PARSE_BATCH_LIMIT", Settings.batch_limit)),
        idempotency_ttl=int(e.get("PARSE_IDEMPOTENCY_TTL", Settings.idempotency_ttl)),
        bcrypt_rounds=int(e.get("PARSE_BCRYPT_ROUNDS", Settings.bcrypt_rounds)),
        login_max_failures=int(e.get("PARSE_LOGIN_MAX_FAILURES", Settings.login_max_failures)),
        login_lockout_seconds=int(e.get("PARSE_LOGIN_LOCKOUT_SECONDS", Settings.login_lockout_seconds)),
        cloud=e.get("PARSE_CLOUD", ""),
        crm_enabled=_bool(e.get("CRM_ENABLED"), True),
        deal_stages=stages,
        db_pool_size=int(e.get("CRM_DB_POOL_SIZE", Settings.db_pool_size)),
        debug=_bool(e.get("CRM_DEBUG"), False),
        web_dir=Path(web_dir) if web_dir else None,
        graphql_path="/" + e.get("PARSE_GRAPHQL_PATH", "/graphql").strip("/"),
        graphql_introspection=_bool(e.get("CRM_GRAPHQL_INTROSPECTION"), True),
        graphql_max_depth=int(e.get("CRM_GRAPHQL_MAX_DEPTH", Settings.graphql_max_depth)),
        graphql_max_cost=int(e.get("CRM_GRAPHQL_MAX_COST", Settings.graphql_max_cost)),
        api_reference=_bool(e.get("CRM_API_REFERENCE"), True),
        # live queries
        live_query_classes=_list(e.get("PARSE_LIVE_QUERY_CLASSES"), Settings.live_query_classes),
        live_query_client_buffer=int(e.get("PARSE_LIVE_QUERY_CLIENT_BUFFER", Settings.live_query_client_buffer)),
        redis_url=e.get("REDIS_URL", ""),
        live_query_compression=_bool(e.get("PARSE_LIVE_QUERY_COMPRESSION"), False),
        # -- AI guide --
        token_rate_limit=int(e.get("CRM_TOKEN_RATE_LIMIT", Settings.token_rate_limit)),
        mcp_enabled=_bool(e.get("CRM_MCP_ENABLED"), True),
        **_file_settings(e, data_dir),
        **_hardening(e, data_dir),
    )


def _file_settings(e: Mapping[str, str], data_dir: Path) -> dict[str, Any]:
    adapter = e.get("PARSE_FILES_ADAPTER", "postgres").strip().lower()
    if adapter not in ("postgres", "filesystem", "s3"):
        raise SystemExit(f"PARSE_FILES_ADAPTER must be postgres, filesystem or s3, got {adapter!r}")
    if adapter == "s3" and not (e.get("PARSE_S3_BUCKET") and e.get("PARSE_S3_ENDPOINT")):
        raise SystemExit("PARSE_FILES_ADAPTER=s3 needs PARSE_S3_BUCKET and PARSE_S3_ENDPOINT")
    return {
        "files_adapter": adapter,
        "files_dir": Path(e.get("PARSE_FILES_DIR") or data_dir / "files"),
        "file_max_bytes": int(e.get("PARSE_FILE_MAX_BYTES", Settings.file_max_bytes)),
        "file_upload_public": _bool(e.get("PARSE_FILE_UPLOAD_PUBLIC"), Settings.file_upload_public),
        "file_upload_anonymous": _bool(e.get("PARSE_FILE_UPLOAD_ANONYMOUS"), Settings.file_upload_anonymous),
        "file_upload_authenticated": _bool(
            e.get("PARSE_FILE_UPLOAD_AUTHENTICATED"), Settings.file_upload_authenticated
        ),
        "file_extensions": _list(e.get("PARSE_FILE_EXTENSIONS"), Settings.file_extensions),
        "s3_bucket": e.get("PARSE_S3_BUCKET", ""),
        "s3_endpoint": e.get("PARSE_S3_ENDPOINT", "").rstrip("/"),
        "s3_region": e.get("PARSE_S3_REGION", Settings.s3_region),
        "s3_access_key": e.get("PARSE_S3_ACCESS_KEY", ""),
        "s3_secret_key": e.get("PARSE_S3_SECRET_KEY", ""),
        "s3_prefix": e.get("PARSE_S3_PREFIX", ""),
    }


def _hardening(e: Any, data_dir: Path) -> dict[str, Any]:
    """The hardening block of Settings (see the field comments there)."""
    limits = _bool(e.get("PARSE_RATE_LIMITS"), True)
    signup = _choice("CRM_SIGNUP", e.get("CRM_SIGNUP"), ("open", "invite", "domains"))
    domains = tuple(d.lower().lstrip("@") for d in _list(e.get("CRM_SIGNUP_DOMAINS"), ()))
    if signup == "domains" and not domains:
        raise SystemExit("CRM_SIGNUP=domains needs CRM_SIGNUP_DOMAINS (e.g. example.com,example.org)")
    mail_dir = e.get("CRM_MAIL_DIR")
    return {
        "max_json_depth": int(e.get("PARSE_MAX_JSON_DEPTH", Settings.max_json_depth)),
        "max_query_bytes": int(e.get("PARSE_MAX_QUERY_BYTES", Settings.max_query_bytes)),
        "db_connect_timeout": float(e.get("CRM_DB_CONNECT_TIMEOUT", Settings.db_connect_timeout)),
        "rate_login_ip": _rate(
            "PARSE_RATE_LIMIT_LOGIN_IP", e.get("PARSE_RATE_LIMIT_LOGIN_IP"), Settings.rate_login_ip, limits
        ),
        "rate_login_user": _rate(
            "PARSE_RATE_LIMIT_LOGIN_USER", e.get("PARSE_RATE_LIMIT_LOGIN_USER"), Settings.rate_login_user, limits
        ),
        "rate_signup_ip": _rate(
            "PARSE_RATE_LIMIT_SIGNUP_IP", e.get("PARSE_RATE_LIMIT_SIGNUP_IP"), Settings.rate_signup_ip, limits
        ),
        "rate_reset_ip": _rate(
            "PARSE_RATE_LIMIT_RESET_IP", e.get("PARSE_RATE_LIMIT_RESET_IP"), Settings.rate_reset_ip, limits
        ),
        "rate_reset_user": _rate(
            "PARSE_RATE_LIMIT_RESET_USER", e.get("PARSE_RATE_LIMIT_RESET_USER"), Settings.rate_reset_user, limits
        ),
        "signup": signup,
        "signup_domains": domains,
        "invite_ttl": int(e.get("CRM_INVITE_TTL", Settings.invite_ttl)),
        "mail_dir": Path(mail_dir).resolve() if mail_dir else data_dir / "outbox",
        "log_format": _choice("CRM_LOG_FORMAT", e.get("CRM_LOG_FORMAT"), ("text", "json")),
        "access_log": _bool(e.get("CRM_ACCESS_LOG"), False),
    }
