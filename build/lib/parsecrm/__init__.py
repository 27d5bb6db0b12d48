"""parsecrm: a Parse-compatible CRM backend over PostgreSQL."""

__version__ = "0.1.0"
