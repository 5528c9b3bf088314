"""Use cases behind the subscriber and admin pages and the ``accounts``/``users``/``keys``
commands: accounts and keys, people and sign-in, usage, the audit trail and service health.

The web pages and the CLI call these and nothing below them; each module holds one noun.
"""
