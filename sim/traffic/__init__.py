"""citysim traffic: the compiled kernel and the state around it (numpy and numba only).

Public: :mod:`sim.traffic.state` (``TrafficState``, the only door to the arrays, with named
readers and writers) and :mod:`sim.traffic.codes` (the codes found in those arrays). The
kernel's modules (``kernel``, ``layout``, ``buffers``, ``speeds``) are private to this package.
"""
