"""Pure rules of push delivery: events from versions, signatures, backoff, pacing, addresses."""
