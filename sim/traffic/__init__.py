"""citysim traffic."""
