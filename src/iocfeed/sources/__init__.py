"""Feeds pulled from elsewhere: what a source is (``model``) and how each kind reads (``kinds``).

Pure: no HTTP and no SQL. Downloading is ``iocfeed.worker.downloads``; a run (download, read,
store, record) is ``iocfeed.worker.runs``; sources and their runs are kept by
``iocfeed.store.sources``.
"""
