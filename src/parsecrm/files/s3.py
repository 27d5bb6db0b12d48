"""An S3-compatible object store (AWS S3, MinIO, Ceph, R2, …) through plain HTTP requests signed with AWS
Signature Version 4, path-style (`<endpoint>/<bucket>/<key>`), so no SDK is needed. Requests run in a thread."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import urllib.error
import urllib.request
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit

from ..settings import Settings

TIMEOUT = 30.0


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def sign(method: str, url: str, body: bytes, region: str, access: str, secret: str, now: datetime) -> dict[str, str]:
    """The headers (Host excluded: urllib sends it) that authenticate one request with SigV4."""
    parts = urlsplit(url)
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    day = stamp[:8]
    payload = hashlib.sha256(body).hexdigest()
    headers = {"host": parts.netloc, "x-amz-content-sha256": payload, "x-amz-date": stamp}
    signed = ";".join(sorted(headers))
    canonical = "\n".join(
        [method, parts.path or "/", parts.query, *(f"{k}:{headers[k]}" for k in sorted(headers)), "", signed, payload]
    )
    scope = f"{day}/{region}/s3/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = _hmac(_hmac(_hmac(_hmac(("AWS4" + secret).encode(), day), region), "s3"), "aws4_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    auth = f"AWS4-HMAC-SHA256 Credential={access}/{scope}, SignedHeaders={signed}, Signature={signature}"
    return {"Authorization": auth, "x-amz-content-sha256": payload, "x-amz-date": stamp}


class S3Files:
    def __init__(self, settings: Settings) -> None:
        self.endpoint = settings.s3_endpoint
        self.bucket = settings.s3_bucket
        self.prefix = settings.s3_prefix
        self.region = settings.s3_region
        self.access = settings.s3_access_key
        self.secret = settings.s3_secret_key

    def _url(self, name: str) -> str:
        return f"{self.endpoint}/{quote(self.bucket)}/{quote(self.prefix + name, safe='/')}"

    def _request(self, method: str, name: str, body: bytes = b"", content_type: str = "") -> bytes | None:
        url = self._url(name)
        headers = sign(method, url, body, self.region, self.access, self.secret, datetime.now(UTC))
        if content_type:
            headers["Content-Type"] = content_type
        req = urllib.request.Request(url, data=body if method == "PUT" else None, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=TIMEOUT) as resp:
                return bytes(resp.read())
        except urllib.error.HTTPError as exc:
            if exc.code == 404 and method in ("GET", "DELETE"):
                return None
            raise OSError(f"S3 {method} failed with HTTP {exc.code}") from exc

    async def put(self, name: str, data: bytes, content_type: str) -> None:
        await asyncio.to_thread(self._request, "PUT", name, data, content_type)

    async def get(self, name: str) -> bytes | None:
        return await asyncio.to_thread(self._request, "GET", name)

    async def delete(self, name: str) -> None:
        await asyncio.to_thread(self._request, "DELETE", name)
