"""`parsecrm.asgi:app` — the application built from the environment (what each server worker imports)."""

from __future__ import annotations

from .app import App
from .cloud.registry import Cloud, load
from .settings import Settings, from_env


def build_cloud(settings: Settings) -> Cloud:
    cloud = Cloud()
    if settings.crm_enabled:
        from .crm.rules import build as crm_rules

        cloud.merge(crm_rules(settings))
    if settings.cloud:
        cloud.merge(load(settings.cloud))
    return cloud


def create_app(settings: Settings | None = None) -> App:
    settings = settings or from_env()
    if not settings.database_url:
        raise SystemExit("DATABASE_URL is not set; start the server with `crm serve`, which can embed PostgreSQL")
    return App(settings, settings.database_url, build_cloud(settings))


def __getattr__(name: str) -> App:  # built lazily so that importing this module has no side effects
    if name == "app":
        return create_app()
    raise AttributeError(name)
