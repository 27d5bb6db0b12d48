"""CLI commands of the CRM (seed, import, export)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any


def register(sub: Any, database_url: Callable[[], str]) -> None:
    del sub, database_url


__all__ = ["argparse", "register"]
