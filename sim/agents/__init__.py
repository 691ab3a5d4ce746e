"""citysim agents."""
