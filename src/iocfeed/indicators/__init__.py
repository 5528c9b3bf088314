"""Indicators of compromise: types, refanging, normalisation, merge rules. Pure code, no I/O."""
