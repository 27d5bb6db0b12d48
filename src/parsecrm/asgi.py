"""`parsecrm.asgi:app` — the application built from the environment (what each server worker imports)."""

from __future__ import annotations

from . import logs
from .app import App
from .cloud.registry import Cloud, load
from .settings import Settings, from_env


def build_cloud(settings: Settings) -> Cloud:
    from .invites import cloud as invite_functions

    cloud = Cloud()
    cloud.merge(invite_functions())  # first, so a deployment's own function of the same name wins
    if settings.crm_enabled:
        from .crm.rules import build as crm_rules

        cloud.merge(crm_rules(settings))
        from .agent.functions import build as agent_functions

        cloud.merge(agent_functions(settings))
    if settings.cloud:
        cloud.merge(load(settings.cloud))
    return cloud


def create_app(settings: Settings | None = None) -> App:
    settings = settings or from_env()
    logs.configure(settings.log_format)  # each worker process sets up its own logging
    for secret in (settings.master_key, settings.read_only_master_key):
        logs.add_secret(secret)
    if not settings.database_url:
        raise SystemExit("DATABASE_URL is not set; start the server with `crm serve`, which can embed PostgreSQL")
    if not settings.master_key:
        raise SystemExit("PARSE_MASTER_KEY is not set; set it, or start the server with `crm serve`, which makes one")
    return App(settings, settings.database_url, build_cloud(settings))


def __getattr__(name: str) -> App:  # built lazily so that importing this module has no side effects
    if name == "app":
        return create_app()
    raise AttributeError(name)
