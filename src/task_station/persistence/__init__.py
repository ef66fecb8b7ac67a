"""SQL persistence: models, migrations and repositories that speak domain objects.

Only this package (and the top-level ``migrations/``) imports SQLAlchemy and Alembic;
everything it hands out is a domain dataclass or a plain Python value.
"""

from task_station.persistence.database import Database, migrations_dir, sqlite_url

__all__ = ["Database", "migrations_dir", "sqlite_url"]
