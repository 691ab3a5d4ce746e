"""citysim metrics."""
