"""Parse files: upload, serve, delete, through one adapter interface (PostgreSQL by default, a directory, or S3)."""

from .service import Files, StoredFile

__all__ = ["Files", "StoredFile"]
