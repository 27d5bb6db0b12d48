"""Passwords: bcrypt hashes (as parse-server stores them, so users moved from a Parse database keep their passwords),
made and checked off the event loop. A check against no hash still costs one bcrypt at the configured cost, so the
time of a log-in does not tell whether the account exists."""

from __future__ import annotations

import asyncio

import bcrypt

_dummy_hashes: dict[int, bytes] = {}


async def hash_password(password: str, rounds: int) -> str:
    return (await asyncio.to_thread(bcrypt.hashpw, password.encode(), bcrypt.gensalt(rounds))).decode()


async def _dummy_hash(rounds: int) -> bytes:
    """A real hash at the configured cost, checked when the user does not exist (made once per process)."""
    found = _dummy_hashes.get(rounds)
    if found is None:
        found = _dummy_hashes[rounds] = await asyncio.to_thread(bcrypt.hashpw, b"no such user", bcrypt.gensalt(rounds))
    return found


async def verify_password(password: str, hashed: str | None, rounds: int = 10) -> bool:
    target = (hashed or "").encode() or await _dummy_hash(rounds)
    try:
        ok = await asyncio.to_thread(bcrypt.checkpw, password.encode(), target)
    except ValueError:
        return False
    return ok and hashed is not None
