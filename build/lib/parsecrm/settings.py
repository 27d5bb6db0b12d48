"""Settings: one frozen object read from the environment at start-up, validated once.

Every knob the server has is here, with its environment variable and default; README's table mirrors this file.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from dataclasses import dataclass
from pathlib import Path


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
    )
