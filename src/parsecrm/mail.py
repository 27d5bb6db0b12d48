"""Sending mail: through the deployment's sender (`@cloud.mail_sender`), else into a development outbox.

A reset or invitation mail carries a link whose token *is* the credential, so the mail body never goes to the log:
without a real sender it is written to one file per message in the outbox (`CRM_MAIL_DIR`, default
`CRM_DATA_DIR/outbox`, readable by the server's user only), and the log says only that a message was written there.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import time
from pathlib import Path

from .backend import Backend

log = logging.getLogger("parsecrm.mail")


async def send(backend: Backend, to: str, subject: str, text: str) -> None:
    if backend.cloud.mailer is not None:
        await backend.cloud.mailer(to, subject, text)
        return
    outbox = backend.settings.mail_dir or backend.settings.data_dir / "outbox"
    path = await asyncio.to_thread(_write, outbox, to, subject, text)
    log.warning("no mail sender configured: the message to %s (%s) is in %s", to, subject, path)


def _write(outbox: Path, to: str, subject: str, text: str) -> Path:
    outbox.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = outbox / f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(4)}.txt"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(f"To: {to}\nSubject: {subject}\n\n{text}\n")
    return path
