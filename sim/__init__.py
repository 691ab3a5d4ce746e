"""citysim: a fast multi-agent smart-city traffic simulator."""

__version__ = "0.1.0"
