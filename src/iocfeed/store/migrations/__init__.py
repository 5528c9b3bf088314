"""Alembic migrations for the store; run them with ``iocfeed db upgrade``."""
