"""SQLAlchemy 2 tables, the database handle and Alembic migrations. No business rules."""
