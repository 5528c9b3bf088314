"""Feeds coming in by themselves: the adapter that fetches them and runs sources on a schedule.

Reading a feed's bytes is pure (``iocfeed.sources``, over the ``iocfeed.formats`` readers);
this package does the I/O around it, the way ``iocfeed.web`` does for HTTP:

- ``downloads``: a feed's download, streamed to a temporary file, with conditional GET,
  size and time limits and retries;
- ``taxii_pull``: a TAXII collection read with taxii2-client from a checkpoint;
- ``runs``: one run of one source (lease, download, read, ingest, provenance, delta);
- ``loop``: ``iocfeed worker``'s loop over due sources and the expiry sweep.
"""
