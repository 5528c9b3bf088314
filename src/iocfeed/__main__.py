"""``python -m iocfeed`` is the ``iocfeed`` command."""

from iocfeed.cli.main import app

app()
