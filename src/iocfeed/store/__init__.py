"""Persistence: the only package that speaks SQL (SQLite and PostgreSQL through SQLAlchemy Core)."""
