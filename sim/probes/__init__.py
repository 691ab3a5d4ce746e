"""citysim probes: live readings of a running model, above it, as frames for the plots.

:mod:`sim.probes.snapshot` reads what the explorer draws (:class:`~sim.metrics.frames.CityFrame`);
:mod:`sim.probes.trajectories` steps a model and samples a corridor
(:class:`~sim.metrics.frames.CorridorTrajectories`). Probes read the model and its
``TrafficState``; ``sim.metrics`` and ``sim.plots`` never import them.
"""
