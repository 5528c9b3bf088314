"""The ``iocfeed`` command line: one module per command group; only this package prints."""
