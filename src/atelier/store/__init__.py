"""SQLAlchemy 2 tables, the database handle and Alembic migrations. No business rules.

- ``models/``: the typed ORM models, one module per area (runs, compute, registry, data,
  endpoints, packages, secrets, access, mlflow), all on one ``Base``
- ``database``: engines, sessions and migrating a database to the latest schema
- ``dialect``: the differences between SQLite and PostgreSQL, in one place
- ``migrations/``: the Alembic environment and the schema's versions
"""
