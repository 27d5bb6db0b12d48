"""File names, URLs and the headers a file is served with.

Stored names are `<32 random hex>_<client's name>` (as parse-server makes them), so a URL cannot be guessed and two
uploads of `photo.png` never collide. What a browser could execute — HTML, SVG, XML, JavaScript, anything not on the
inline list — is served as a download with `nosniff` and a sandboxing CSP, so an uploaded file never runs script in
the server's origin.
"""

from __future__ import annotations

import mimetypes
import re
import secrets
from urllib.parse import quote

from ..errors import ErrorCode, ParseError

NAME = re.compile(r"^[_a-zA-Z0-9][a-zA-Z0-9@. ~_-]*$")  # parse-server's rule for file names
MAX_NAME = 128
MIME = re.compile(r"^[a-zA-Z0-9!#$&^_.+-]{1,64}/[a-zA-Z0-9!#$&^_.+-]{1,64}$")

# Shown in the browser as themselves; none of them can carry script that runs in our origin.
INLINE_TYPES = frozenset(
    {
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "image/avif",
        "image/bmp",
        "image/x-icon",
        "text/plain",
        "text/csv",
        "application/pdf",
        "application/json",
    }
)
INLINE_PREFIXES = ("audio/", "video/")
# Types a browser would interpret even as a download target are replaced by an opaque one.
SCRIPTABLE = re.compile(r"html|xml|svg|javascript|ecmascript|x-sh|css|shockwave", re.IGNORECASE)

FILE_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"content-security-policy", b"default-src 'none'; style-src 'unsafe-inline'; sandbox"),
    (b"cache-control", b"private, max-age=86400"),
]


def check_name(name: str) -> str:
    if not name:
        raise ParseError(ErrorCode.INVALID_FILE_NAME, "Filename not provided.")
    if len(name) > MAX_NAME:
        raise ParseError(ErrorCode.INVALID_FILE_NAME, "Filename too long.")
    if not NAME.match(name):
        raise ParseError(ErrorCode.INVALID_FILE_NAME, "Filename contains invalid characters.")
    return name


def stored_name(client_name: str) -> str:
    return f"{secrets.token_hex(16)}_{check_name(client_name)}"


def url_for(server_url: str, app_id: str, name: str) -> str:
    return f"{server_url}/files/{quote(app_id, safe='')}/{quote(name, safe='')}"


def content_type(declared: str | None, name: str) -> str:
    """The declared type without parameters when it is well formed, else the one the extension implies."""
    base = (declared or "").split(";", 1)[0].strip().lower()
    if MIME.match(base):
        return base
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def extension(name: str, declared: str) -> str:
    """The extension parse-server's `fileExtensions` patterns are matched against: the name's, else the type's."""
    if "." in name:
        return name.rsplit(".", 1)[1]
    return declared.split("/", 1)[1] if "/" in declared else declared


def serve_headers(kind: str, name: str) -> list[tuple[bytes, bytes]]:
    """Content-Type and Content-Disposition for serving a stored file of type `kind`."""
    if kind in INLINE_TYPES or kind.startswith(INLINE_PREFIXES):
        return [(b"content-type", kind.encode()), *FILE_HEADERS]
    shown = "application/octet-stream" if SCRIPTABLE.search(kind) else kind
    original = name.split("_", 1)[1] if "_" in name else name
    disposition = f'attachment; filename="{original.replace(chr(34), "")}"'
    return [
        (b"content-type", shown.encode()),
        (b"content-disposition", disposition.encode("latin-1", "replace")),
        *FILE_HEADERS,
    ]
