"""Webster's optimal cycle and green splits for a fixed-time signal (Webster 1958)."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["MAX_CYCLE_S", "MIN_CYCLE_S", "webster_delay_s", "webster_timing"]

MIN_CYCLE_S = 30.0
MAX_CYCLE_S = 180.0


def webster_timing(
    critical_flows_vphpl: Sequence[float],
    lost_time_per_phase_s: float,
    saturation_flow_vphpl: float,
    intergreen_s: float,
    min_green_s: float,
) -> tuple[float, tuple[float, ...]]:
    """Optimal cycle ``C0 = (1.5 L + 5) / (1 - Y)`` and greens proportional to flow ratios.

    Args:
        critical_flows_vphpl: Per phase, the highest approach flow per lane (veh/h/lane).
        lost_time_per_phase_s: Start-up plus clearance lost time of each phase (s).
        saturation_flow_vphpl: Saturation flow per lane (veh/h/lane).
        intergreen_s: Yellow plus all-red of each phase (s).
        min_green_s: Shortest displayed green (s).

    Returns:
        The cycle (s), clipped to [30, 180], and the displayed green of each phase (s):
        effective green + lost time - intergreen, at least ``min_green_s`` (the longest
        green gives up what the minimum adds, so greens and intergreens fill the cycle).
    """
    n = len(critical_flows_vphpl)
    ratios = [max(q, 0.0) / saturation_flow_vphpl for q in critical_flows_vphpl]
    total_ratio = sum(ratios)
    lost_s = n * lost_time_per_phase_s
    cycle = MAX_CYCLE_S if total_ratio >= 0.95 else (1.5 * lost_s + 5.0) / (1.0 - total_ratio)
    cycle = min(max(cycle, MIN_CYCLE_S, n * (min_green_s + intergreen_s)), MAX_CYCLE_S)
    effective = cycle - lost_s
    shares = [r / total_ratio for r in ratios] if total_ratio > 0 else [1.0 / n] * n
    greens = [max(min_green_s, effective * s + lost_time_per_phase_s - intergreen_s) for s in shares]
    # a green raised to the minimum is paid for by the longest one, so the cycle holds
    longest = greens.index(max(greens))
    greens[longest] -= sum(greens) + n * intergreen_s - cycle
    return cycle, tuple(greens)


def webster_delay_s(cycle_s: float, effective_green_s: float, flow_vph: float, capacity_vph: float) -> float:
    """Webster's mean delay per vehicle (s) on one approach.

    ``d = C(1-λ)² / (2(1-λx)) + x² / (2q(1-x)) - 0.65 (C/q²)^(1/3) x^(2+5λ)``, with
    ``λ = g/C`` and ``x = q / capacity``; flows are converted to veh/s.
    """
    lam = effective_green_s / cycle_s
    q = flow_vph / 3600.0
    x = flow_vph / capacity_vph
    uniform = cycle_s * (1.0 - lam) ** 2 / (2.0 * (1.0 - lam * x))
    random = x * x / (2.0 * q * (1.0 - x))
    correction = 0.65 * (cycle_s / (q * q)) ** (1.0 / 3.0) * x ** (2.0 + 5.0 * lam)
    return uniform + random - correction
