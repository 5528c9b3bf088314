"""iocfeed: a self-hosted threat-intelligence feed server."""

__version__ = "0.1.0"
