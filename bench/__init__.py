"""Benchmarks that print tables; each measures a peer in the same run. ``make bench`` runs all."""
