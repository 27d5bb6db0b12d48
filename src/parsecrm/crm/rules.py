"""The CRM's business rules as Cloud Code hooks."""

from __future__ import annotations

from ..cloud import Cloud
from ..settings import Settings


def build(settings: Settings) -> Cloud:
    return Cloud()
