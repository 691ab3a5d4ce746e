"""Emissions and energy per vehicle-step, computed in the kernel's step, and their readers (numpy, numba).

As the positions stage moves a vehicle (:func:`add_step`, called by
:func:`sim.traffic.kernel.advance`'s step), the vehicle adds its step's emissions to its own
totals and to those of the edge it is on, from its speed ``v`` at the end of the step, its
acceleration ``a`` over the step (``(v - v_last) / dt``; in its first step ``v_last`` is its
speed of insertion) and the edge's slope, at the rates of its emission class (mg/s; electricity
Wh/s) times ``dt``. The outputs, in SUMO's order: CO2, CO, HC, fuel,
NOx, PMx (PM10), electricity (:data:`~sim.traffic.emission_codes.OUTPUTS`).

Two models, those of SUMO 1.28 (the class table comes from :mod:`sim.emissions.classes`):

- ``hbefa4``: SUMO's HBEFA 4.2-based polynomial per class and output,
  ``c0 + c_v v + c_a a + c_v2 v^2 + c_v3 v^3 + c_av a v + c_av2 a v^2``, negative values of the
  pollutants cut to 0 (electricity may be negative). A fuel-burning vehicle faster than
  :data:`~sim.traffic.emission_codes.COAST_MIN_MPS` that decelerates more than it would coasting
  emits nothing (its engine is off): SUMO's coasting threshold for the class's vehicle mass and
  frontal area.
- ``energy``: SUMO's electric "Energy" model: the power for climbing, kinetic and rotating
  energy, air drag and rolling resistance, over the propulsion efficiency when positive and
  times the recuperation efficiency when negative (braking recharges), plus auxiliaries.

Most steps cost a few additions and no branch. An HBEFA class whose pollutant coefficients are
all non-negative (every HBEFA class SUMO ships) has rates linear in the step's terms
``1, v, a, v^2, v^3, a v, a v^2`` wherever no pollutant falls below 0. Each step of such a
vehicle adds its terms, times 1 with the engine on and 0 when it coasts, to its row of
``Emissions.veh`` while it stays on one edge; the terms are multiplied by the class's
coefficients when it next makes a step on another edge, or when the totals are read
(:meth:`EmissionRecords.flush_emissions`): the same amounts up to rounding. A braking step
below its speed's bound (:func:`cut_below`; 4% of grid10's steps) may have a pollutant below 0:
it is set aside, and :func:`settle_cuts` takes back those parts once every vehicle has moved.
Energy classes, and HBEFA classes with a negative coefficient, are evaluated in full each step.

With no classes loaded (:meth:`EmissionRecords.enable_emissions` never called) the positions
stage never calls :func:`add_step`: a run without ``[emissions]`` does no other work.
"""

from __future__ import annotations

import math

import numpy as np

from sim.traffic.emission_codes import (
    CLASS_COLUMNS,
    COAST_MIN_MPS,
    COAST_RAMP_MPS,
    E_ELEC,
    G_COAST_MPS2,
    MODEL_CODES,
    OUTPUTS,
    RECORD_COLUMNS,
    RECORD_SCALE,
)
from sim.traffic.layout import Emissions, compiled, inline

__all__ = [
    "EmissionRecords",
    "add_step",
    "class_rates",
    "empty_emissions",
    "cut_below",
    "linear_classes",
    "settle_cuts",
    "to_edge",
]

_HBEFA_FUEL, _ENERGY = MODEL_CODES["hbefa4_fuel"], MODEL_CODES["energy"]
(
    _C_MODEL,
    _C_INCL,
    _C_BASE,
    _C_EMASS,
    _C_ROT,
    _C_DRAG,
    _C_ROLL,
    _C_AUX,
    _C_ETA,
    _C_REC,
) = range(len(CLASS_COLUMNS))
_N_TERMS = 7  # the polynomial's terms 1, v, a, v^2, v^3, a v, a v^2
# The columns of a vehicle's row of Emissions.veh: its added-up terms and its last step's
# acceleration fill one 64-byte cache line (all a step touches), its totals the next.
_TERMS, _ACCEL, _SUM = 0, 7, 8
_ROW = 16  # 128 bytes: two cache lines (column 15 is padding)
_PER_RAMP = 1.0 / COAST_RAMP_MPS
_BIN_MPS = 1.0
"""The width of the speed bins of :func:`cut_below` (m/s)."""
_N_BINS = 42  # v = 0, then up to 40 m/s, then every speed above
_PER_BIN = 1.0 / _BIN_MPS
_G = 9.80665


@inline
def _coasting_decel(v: float, coast_grade: float, incl: float, base: float) -> float:
    """The strongest deceleration (m/s^2, <= 0) at which the engine still runs (SUMO 1.28).

    ``coast_grade`` is ``g sin(slope)`` (m/s^2), ``incl`` and ``base`` the class's
    :func:`~sim.traffic.emission_codes.coasting_terms`.
    """
    decel = min(0.0, incl * max(v, COAST_RAMP_MPS) + base - coast_grade)
    return max(decel * v * _PER_RAMP, decel)  # below the ramp's speed, decel * v / ramp (no branch)


@inline
def _engine_on(v: float, a: float, sin_slope: float, coast: np.ndarray, c: int) -> bool:
    """Whether a step of class ``c`` ending at ``v`` with acceleration ``a`` runs the engine.

    Only a fuel-burning class faster than :data:`~sim.traffic.emission_codes.COAST_MIN_MPS` that
    decelerates more than it would coasting does not (``coast``: ``Emissions.coast``). Computed
    without branches (``|``, not ``or``): a branch on it would be mispredicted in many steps.
    """
    decel = _coasting_decel(v, G_COAST_MPS2 * sin_slope, coast[c, 0], coast[c, 1])
    return (a >= decel) | (v <= COAST_MIN_MPS)


@inline
def _bin(v: float) -> np.uint64:
    """The speed bin of :func:`cut_below` of speed ``v`` (m/s)."""
    return np.uint64(min(math.ceil(v * _PER_BIN), _N_BINS - 1))


@inline
def _rate(f: np.ndarray, c: int, k: int, v: float, a: float) -> float:
    """Output ``k``'s polynomial rate of class ``c`` (mg/s; Wh/s): ``P(v) + a Q(v)``, nothing cut."""
    r = f[c, k, 0] + v * (f[c, k, 1] + v * (f[c, k, 3] + v * f[c, k, 4]))
    return r + a * (f[c, k, 2] + v * (f[c, k, 5] + v * f[c, k, 6]))


@inline
def _battery_w(v: float, a: float, sin_slope: float, dt: float, cls: np.ndarray, c: int) -> float:
    """The Energy model's battery power (W; negative: recuperation) of a step ending at ``v``."""
    mass = cls[c, _C_EMASS]
    v0 = v - a * dt
    power = mass * _G * sin_slope * v
    power += (mass + cls[c, _C_ROT]) * (v * v - v0 * v0) / (2.0 * dt)
    power += cls[c, _C_DRAG] * v * v * v + cls[c, _C_ROLL] * mass * _G * v
    power = power / cls[c, _C_ETA] if power > 0.0 else power * cls[c, _C_REC]
    return power + cls[c, _C_AUX]


@inline
def _flush(vid: int, dt: float, em: Emissions) -> None:
    """Turn vehicle ``vid``'s added-up terms into amounts, added to its totals and its edge's; clear them."""
    e = em.veh_edge[vid]
    if e < 0:
        return
    c, f, row = em.veh_class[vid], em.coef, em.veh[vid]
    for k in range(f.shape[1]):
        r = 0.0
        for j in range(_N_TERMS):
            r += f[c, k, j] * row[_TERMS + j]
        row[_SUM + k] += r * dt
        em.edge_sum[e, k] += r * dt
    row[_TERMS : _TERMS + _N_TERMS] = 0.0


@inline
def to_edge(vid: int, e: int, dt: float, em: Emissions) -> None:
    """Vehicle ``vid`` moves onto edge ``e`` (-1: off the network); its terms so far go to the edge it left.

    The kernel calls it when a vehicle enters the network, crosses to its next edge or arrives,
    so a step adds its terms without asking which edge they belong to.
    """
    if em.coef.shape[0] > 0:
        _flush(vid, dt, em)
        em.veh_edge[vid] = e


@compiled
def _leave(vid: int, dt: float, em: Emissions) -> None:
    to_edge(vid, -1, dt, em)


@compiled
def _flush_all(n: int, dt: float, em: Emissions) -> None:
    for vid in range(n):
        _flush(vid, dt, em)


@inline
def _evaluate(vid: int, e: int, v: float, a: float, sin_slope: float, dt: float, em: Emissions) -> None:
    """Add one step evaluated in full: the Energy model, or the polynomial, coasting and cut to 0."""
    c, cls, f = em.veh_class[vid], em.cls, em.coef
    if cls[c, _C_MODEL] == _ENERGY:
        wh = _battery_w(v, a, sin_slope, dt, cls, c) * dt / 3600.0
        em.veh[vid, _SUM + E_ELEC] += wh
        em.edge_sum[e, E_ELEC] += wh
        return
    if not _engine_on(v, a, sin_slope, em.coast, c):
        return
    for k in range(f.shape[1]):
        r = _rate(f, c, k, v, a)
        amount = (r if k == E_ELEC or r > 0.0 else 0.0) * dt
        em.veh[vid, _SUM + k] += amount
        em.edge_sum[e, k] += amount


@inline
def settle_cuts(speed: np.ndarray, dt: float, em: Emissions) -> None:
    """Take back the parts below 0 of the pollutant rates of the steps :func:`add_step` set aside.

    SUMO cuts them to 0; the steps were added up as terms with them. Only the pollutants whose
    own bound (``Emissions.cut_each``) the step is below are evaluated. Called once a step, after
    every vehicle's :func:`add_step`, while each vehicle's terms are still on the step's edge;
    ``speed``: each vehicle's speed at the end of the step (m/s).
    """
    f = em.coef
    for i in range(em.cut_n[0]):
        vid = em.cut_vid[i]
        c, e, v, a = em.veh_class[vid], em.veh_edge[vid], speed[vid], em.veh[vid, _ACCEL]
        b = _bin(v)
        for k in range(E_ELEC):
            if a >= em.cut_each[c, k, b]:
                continue
            r = _rate(f, c, k, v, a)
            if r < 0.0:
                em.veh[vid, _SUM + k] -= r * dt
                em.edge_sum[e, k] -= r * dt
    em.cut_n[0] = 0


@inline
def add_step(vid: int, e: int, v: float, a: float, sin_slope: float, dt: float, em: Emissions) -> None:
    """Add vehicle ``vid``'s step on edge ``e`` to its totals and to the edge's.

    ``v``: its speed at the end of the step (m/s), ``a``: its acceleration over the step
    (m/s^2), ``sin_slope``: the sine of the road's slope.
    """
    u = np.uint64(vid)
    c = np.uint64(em.veh_class[u])
    if not em.linear[c]:
        _evaluate(vid, e, v, a, sin_slope, dt, em)
        return
    on = _engine_on(v, a, sin_slope, em.coast, c)
    w = 1.0 if on else 0.0
    row = em.veh[u]
    v_on, av_on = v * w, a * v * w
    row[_TERMS] += w
    row[_TERMS + 1] += v_on
    row[_TERMS + 2] += a * w
    row[_TERMS + 3] += v_on * v
    row[_TERMS + 4] += v_on * v * v
    row[_TERMS + 5] += av_on
    row[_TERMS + 6] += av_on * v
    # a step whose rates may be cut is set aside for settle_cuts, without a branch here
    row[_ACCEL] = a
    n = em.cut_n[0]
    em.cut_vid[np.uint64(n)] = vid
    em.cut_n[0] = n + (on & (a < em.cut_below[c, _bin(v)]))


@compiled
def _cycle(em: Emissions, speed: np.ndarray, accel: np.ndarray, slope: np.ndarray, dt: float) -> None:
    for t in range(speed.shape[0]):
        to_edge(t, 0, dt, em)
        add_step(t, 0, speed[t], accel[t], slope[t], dt, em)
        settle_cuts(speed, dt, em)
        to_edge(t, -1, dt, em)


def linear_classes(coef: np.ndarray, cls: np.ndarray) -> np.ndarray:
    """Which classes' steps are added up as terms (the module's doc): ``(n_classes,)`` bool.

    Those of an HBEFA class whose pollutant coefficients are all non-negative.

    Args:
        coef: ``(n_classes, 7, 7)`` polynomials.
        cls: ``(n_classes, len(CLASS_COLUMNS))`` the classes' models and vehicles.
    """
    pollutants = np.delete(coef, E_ELEC, axis=1)
    return (cls[:, _C_MODEL] != _ENERGY) & (pollutants >= 0.0).all(axis=(1, 2))


def _ratio(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """``p / q``, ``inf`` where ``q`` is 0."""
    return np.divide(p, q, out=np.full(np.broadcast(p, q).shape, np.inf), where=q > 0)


def cut_below(coef: np.ndarray, v_max: float = 100.0, points_per_bin: int = 20) -> np.ndarray:
    """Per class, pollutant and speed bin, an acceleration (m/s^2, <= 0) from which its rate is not below 0.

    Bin 0 is ``v = 0``, bin ``i`` the speeds in ``((i - 1) w, i w]`` (``w``:
    :data:`_BIN_MPS`), the last bin every speed above. For a pollutant whose coefficients are all
    non-negative, the rate is ``P(v) + a Q(v)`` with ``P`` and ``Q`` non-decreasing in
    ``v >= 0``, so it is non-negative for ``a >= -P(v) / Q(v)``: at ``v = 0``, ``-c_0 / c_a``;
    between two points ``v_j < v_{j+1}`` of a fine speed grid up to ``v_max``,
    ``P(v) / Q(v) >= P(v_j) / Q(v_{j+1})``; past ``v_max`` (>= 1 m/s),
    ``P / Q >= (c_v2 + c_v3 v_max) / (c_a / v_max^2 + c_av / v_max + c_av2)``. Only the rows
    of :func:`linear_classes` are used.

    Args:
        coef: ``(n_classes, 7, 7)`` polynomials.
        v_max: Where the fine grid ends (m/s, a multiple of the bin width past the last bin's start).
        points_per_bin: Intervals of the fine grid per bin.

    Returns:
        ``(n_classes, 6, _N_BINS)`` float, the pollutants in ``OUTPUTS`` order.
    """
    pol = np.delete(coef, E_ELEC, axis=1)
    v = np.linspace(0.0, v_max, round(v_max / _BIN_MPS) * points_per_bin + 1)
    p = (pol[..., [0, 1, 3, 4], None] * v ** np.arange(4)[:, None]).sum(axis=2)
    q = (pol[..., [2, 5, 6], None] * v ** np.arange(3)[:, None]).sum(axis=2)
    intervals = _ratio(p[..., :-1], q[..., 1:])
    bins = np.minimum(np.ceil(np.round(v[1:] / _BIN_MPS, 9)).astype(int), _N_BINS - 1)
    ratio = np.full((*pol.shape[:2], _N_BINS), np.inf)
    np.minimum.at(ratio, (slice(None), slice(None), bins), intervals)
    ratio[..., 0] = _ratio(p[..., 0], q[..., 0])
    tail_q = (pol[..., [2, 5, 6]] / np.array([v_max**2, v_max, 1.0])).sum(axis=2)
    tail_p = pol[..., 3] + pol[..., 4] * v_max
    ratio[..., -1] = np.minimum(ratio[..., -1], _ratio(tail_p, tail_q))
    return np.minimum(-ratio, 0.0)


def _vehicle_rows(n: int) -> np.ndarray:
    """``(n, _ROW)`` zeros, each row starting a 64-byte cache line."""
    raw = np.zeros(n * _ROW + 8)
    start = (-raw.ctypes.data % 64) // raw.itemsize
    return raw[start : start + n * _ROW].reshape(n, _ROW)


_NEVER_COASTS = -1e30
"""The coasting ``base`` (m/s^2) of a class that does not burn fuel: its engine always runs."""


def _coast(cls: np.ndarray) -> np.ndarray:
    """``Emissions.coast`` of the classes ``cls``."""
    coast = np.ascontiguousarray(cls[:, [_C_INCL, _C_BASE]], dtype=float)
    coast[cls[:, _C_MODEL] != _HBEFA_FUEL, 1] = _NEVER_COASTS
    return coast


def _emissions(veh_class: np.ndarray, coef: np.ndarray, cls: np.ndarray, sin_slope: np.ndarray) -> Emissions:
    """The container of ``len(veh_class)`` vehicles with this class table, nothing added up yet."""
    n_veh = len(veh_class) if len(coef) else 0
    cut_each = cut_below(coef)
    return Emissions(
        veh_class=veh_class,
        coef=np.ascontiguousarray(coef, dtype=float),
        cls=np.ascontiguousarray(cls, dtype=float),
        coast=_coast(cls),
        linear=linear_classes(coef, cls),
        cut_below=cut_each.max(axis=1),
        cut_each=cut_each,
        sin_slope=sin_slope,
        veh_edge=np.full(n_veh, -1, dtype=np.int32),
        veh=_vehicle_rows(n_veh),
        edge_sum=np.zeros((len(sin_slope) if len(coef) else 0, coef.shape[1])),
        cut_vid=np.zeros(n_veh, dtype=np.int32),
        cut_n=np.zeros(1, dtype=np.int64),
    )


def class_rates(
    coef: np.ndarray, cls: np.ndarray, c: int, speed_mps: np.ndarray, accel_mps2: np.ndarray,
    slope_deg: np.ndarray | None = None, dt_s: float = 1.0,
) -> np.ndarray:  # fmt: skip
    """One vehicle of class ``c`` driving a cycle: its emissions of each step, as the kernel computes them.

    Args:
        coef: The class table's polynomials, ``(n_classes, 7, 7)``.
        cls: The class table's rows (:data:`~sim.traffic.emission_codes.CLASS_COLUMNS`).
        c: The class (row index).
        speed_mps: Speed at the end of each step (m/s).
        accel_mps2: Acceleration over each step (m/s^2).
        slope_deg: Road slope at each step (deg; default level).
        dt_s: Step length (s).

    Returns:
        ``(steps, 7)`` amounts per step in :data:`~sim.traffic.emission_codes.OUTPUTS` order (mg; Wh).
    """
    speed = np.ascontiguousarray(speed_mps, dtype=float)
    n = len(speed)
    slope = np.zeros(n) if slope_deg is None else np.ascontiguousarray(slope_deg, dtype=float)
    em = _emissions(np.full(n, c, dtype=np.int32), coef, cls, np.zeros(1))
    _cycle(em, speed, np.ascontiguousarray(accel_mps2, dtype=float), np.sin(np.radians(slope)), float(dt_s))
    return em.veh[:, _SUM : _SUM + len(OUTPUTS)]


def empty_emissions(capacity: int, n_edges: int) -> Emissions:
    """The container of a run without emissions: no classes, every vehicle of class 0."""
    no_classes = np.zeros((0, len(OUTPUTS), _N_TERMS)), np.zeros((0, len(CLASS_COLUMNS)))
    return _emissions(np.zeros(capacity, dtype=np.int32), *no_classes, np.zeros(n_edges))


class EmissionRecords:
    """The emission writers and readers of :class:`~sim.traffic.state.TrafficState` (a mixin).

    Attributes:
        em: The kernel's :class:`~sim.traffic.layout.Emissions` container.
        n_vehicles: Vehicles created so far.
        dt_s: The step (s).
        step_no: Steps run.
    """

    em: Emissions
    n_vehicles: int
    dt_s: float
    step_no: int

    @property
    def emissions_on(self) -> bool:
        """Whether the kernel computes emissions (:meth:`enable_emissions` was called)."""
        return self.em.coef.shape[0] > 0

    def enable_emissions(
        self, coef: np.ndarray, cls: np.ndarray, slope_deg: np.ndarray | None = None
    ) -> None:
        """Compute emissions from the next step on, with this class table.

        Args:
            coef: ``(n_classes, 7, 7)`` polynomials (mg/s; Wh/s), one row per output.
            cls: ``(n_classes, len(CLASS_COLUMNS))`` the classes' models and vehicles.
            slope_deg: Each edge's slope (deg); default level roads.

        Raises:
            ValueError: If a vehicle's class is not a row of the table, shapes disagree, or
                the first step was run.
        """
        em = self.em
        if self.step_no:
            raise ValueError("emissions are enabled before the first step")
        n_edges = len(em.sin_slope)
        if (
            coef.shape[1:] != (len(OUTPUTS), _N_TERMS)
            or cls.shape != (len(coef), len(CLASS_COLUMNS))
            or not len(coef)
        ):
            raise ValueError(f"emission class table: coef {coef.shape}, cls {cls.shape} do not match")
        if self.n_vehicles and em.veh_class[: self.n_vehicles].max() >= len(coef):
            raise ValueError(f"a vehicle's emission class is not one of the table's {len(coef)}")
        slope = np.zeros(n_edges) if slope_deg is None else np.asarray(slope_deg, dtype=float)
        self.em = _emissions(em.veh_class, coef, cls, np.sin(np.radians(slope)))

    def set_emission_class(self, ids: np.ndarray, emission_class: int | np.ndarray) -> None:
        """Give vehicles their emission class (an index of the class table), once, when they are added."""
        self.em.veh_class[ids] = emission_class

    def _grow_emissions(self, cap: int) -> None:
        """Give the per-vehicle emission arrays room for ``cap`` vehicles, keeping those of the first ones."""
        old, n = self.em, self.n_vehicles
        veh_class = np.zeros(cap, dtype=np.int32)
        veh_class[:n] = old.veh_class[:n]
        self.em = _emissions(veh_class, old.coef, old.cls, old.sin_slope)._replace(edge_sum=old.edge_sum)
        self.em.veh_edge[:n] = old.veh_edge[:n]
        self.em.veh[:n] = old.veh[:n]

    def leave_emissions(self, vid: int) -> None:
        """Vehicle ``vid`` leaves the network outside the kernel: its terms go to its last edge."""
        _leave(vid, self.dt_s, self.em)

    def flush_emissions(self) -> None:
        """Turn every vehicle's added-up terms into amounts (before its totals or the edges' are read)."""
        if self.emissions_on:
            _flush_all(self.n_vehicles, self.dt_s, self.em)

    def emission_totals(self, n: int) -> np.ndarray:
        """``(n, 7)`` totals of vehicles ``0..n-1`` so far, in ``OUTPUTS`` order (mg; Wh; a copy)."""
        self.flush_emissions()
        return self.em.veh[:n, _SUM : _SUM + len(OUTPUTS)].copy()

    def emission_trip_columns(self, n: int) -> dict[str, np.ndarray]:
        """The totals of vehicles ``0..n-1`` as trip columns ``RECORD_COLUMNS`` (none while off)."""
        if not self.emissions_on:
            return {}
        return dict(zip(RECORD_COLUMNS, (self.emission_totals(n) * RECORD_SCALE).T, strict=True))

    def take_emission_sums(self) -> np.ndarray:
        """``(n_edges, 7)`` each edge's sums since the last call, and reset them (mg; Wh)."""
        self.flush_emissions()
        sums = self.em.edge_sum.copy()
        self.em.edge_sum[:] = 0.0
        return sums
