"""Indicator lifecycle: false-positive lists, decay and sightings (pure)."""
