"""API keys, plans and scopes, and rate limits: who may read what, how far back, how often."""
