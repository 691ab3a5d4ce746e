"""citysim control."""
