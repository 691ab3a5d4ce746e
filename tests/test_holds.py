"""Signal holds: the arbiter's rules, holds on a running model, and the kernel's time to green."""

import pytest

from sim.control.holds import Holder, SignalHolds
from sim.model import CityModel
from sim.scenario import scenario_from_dict
from sim.traffic.codes import YELLOW

EMERGENCY, TRANSIT = Holder.EMERGENCY_PREEMPTION, Holder.TRANSIT_PRIORITY


def _arbiter():
    requests = []
    return SignalHolds(lambda signal, phase: requests.append((signal, phase))), requests


# ----- the arbiter's rules ------------------------------------------------------------------


def test_an_unheld_signal_belongs_to_its_controller():
    holds, requests = _arbiter()
    assert not holds.is_held(3)
    assert holds.phase(3) is None
    assert holds.holder(3) is Holder.CONTROLLER
    assert requests == []


def test_a_hold_is_requested_at_once_and_read_back():
    holds, requests = _arbiter()
    holds.hold(3, 7, TRANSIT)
    assert requests == [(3, 7)]
    assert holds.is_held(3) and holds.phase(3) == 7 and holds.holder(3) is TRANSIT
    assert not holds.is_held(4), "holds are per signal"


def test_a_higher_hold_takes_the_signal_and_a_lower_one_waits_under_it():
    holds, requests = _arbiter()
    holds.hold(0, 1, TRANSIT)
    holds.hold(0, 2, EMERGENCY)
    assert requests == [(0, 1), (0, 2)]
    holds.hold(0, 5, TRANSIT)  # changes the waiting hold's phase, not the signal's
    assert requests == [(0, 1), (0, 2)]
    assert holds.phase(0) == 2 and holds.holder(0) is EMERGENCY


def test_a_lower_hold_taken_later_is_not_requested():
    holds, requests = _arbiter()
    holds.hold(0, 2, EMERGENCY)
    holds.hold(0, 1, TRANSIT)
    assert requests == [(0, 2)]
    assert holds.phase(0) == 2


def test_releasing_a_lower_hold_never_drops_a_higher_one():
    holds, requests = _arbiter()
    holds.hold(0, 2, EMERGENCY)
    holds.hold(0, 1, TRANSIT)
    holds.release(0, TRANSIT, handover_phase=3)
    assert requests == [(0, 2)], "neither the released phase nor the handover is requested"
    assert holds.phase(0) == 2 and holds.holder(0) is EMERGENCY


def test_releasing_the_top_hold_hands_the_signal_to_the_next_one_then_to_the_controller():
    holds, requests = _arbiter()
    holds.hold(0, 1, TRANSIT)
    holds.hold(0, 2, EMERGENCY)
    holds.release(0, EMERGENCY)
    assert requests[-1] == (0, 1)
    assert holds.phase(0) == 1 and holds.holder(0) is TRANSIT
    holds.release(0, TRANSIT)
    assert requests == [(0, 1), (0, 2), (0, 1)], "the controller's next decision takes over"
    assert not holds.is_held(0) and holds.holder(0) is Holder.CONTROLLER


def test_the_handover_phase_is_requested_only_when_the_controller_gets_the_signal_back():
    holds, requests = _arbiter()
    holds.hold(0, 1, TRANSIT)
    holds.release(0, TRANSIT, handover_phase=4)
    assert requests == [(0, 1), (0, 4)]
    assert not holds.is_held(0)


def test_holding_again_changes_the_phase_and_keeps_one_hold_per_holder():
    holds, requests = _arbiter()
    holds.hold(0, 1, EMERGENCY)
    holds.hold(0, 2, EMERGENCY)
    assert requests == [(0, 1), (0, 2)]
    holds.release(0, EMERGENCY)
    assert not holds.is_held(0)


def test_the_controller_cannot_hold_and_only_a_holder_can_release():
    holds, _ = _arbiter()
    with pytest.raises(ValueError, match="the controller does not hold signals"):
        holds.hold(0, 1, Holder.CONTROLLER)
    holds.hold(0, 1, TRANSIT)
    with pytest.raises(KeyError, match="signal 0 is not held by EMERGENCY_PREEMPTION"):
        holds.release(0, EMERGENCY)
    assert holds.phase(0) == 1


def test_priorities_are_declared_in_order():
    assert Holder.EMERGENCY_PREEMPTION > Holder.TRANSIT_PRIORITY > Holder.CONTROLLER


# ----- on a running model --------------------------------------------------------------------


def _model(dt_s=1.0):
    scenario = scenario_from_dict(
        {
            "name": "holds",
            "seed": 5,
            "network": {"type": "grid", "rows": 2, "cols": 3},
            "demand": {"type": "uniform", "rate_vph": 600.0, "duration_s": 600.0},
            "signals": {"controller": "fixed_time", "yellow_s": 3.0, "all_red_s": 2.0, "min_green_s": 5.0},
            "simulation": {"max_time_s": 1800.0, "dt_s": dt_s},
        }
    )
    return CityModel(scenario)


def _phases(model, signal=0):
    """The signal's (NS, EW) global phases."""
    net = model.net
    phases = range(net.signal_phase_ptr[signal], net.signal_phase_ptr[signal + 1])
    return tuple(next(p for p in phases if net.phase_axis[p] == axis) for axis in ("NS", "EW"))


def _greens(model, n_steps, signal=0):
    out = []
    for _ in range(n_steps):
        model.step()
        out.append(model.traffic.green_phase(signal))
    return out


@pytest.mark.parametrize("shuttle_first", [True, False])
def test_a_released_shuttle_priority_hold_leaves_an_emergency_preemption_in_place(shuttle_first):
    """The must-show of issue 14: a shuttle's release does not drop an ambulance's preemption."""
    model = _model()
    ns, ew = _phases(model)
    assert model.traffic.green_phase(0) == ns, "the fixed-time plan starts on NS"
    # as the two features do: priority holds the shuttle's phase, preemption the ambulance's
    holds = [(TRANSIT, ns), (EMERGENCY, ew)]
    for holder, phase in holds if shuttle_first else holds[::-1]:
        model.holds.hold(0, phase, holder)
    _greens(model, 10)
    # the shuttle crossed while its controller decision fell inside the hold: priority
    # releases with the next phase of the cycle as the handover (NS after EW)
    model.holds.release(0, TRANSIT, handover_phase=ns)
    assert model.holds.holder(0) is EMERGENCY and model.holds.phase(0) == ew
    greens = _greens(model, 150)
    # EW shows green after the clearance and keeps it through many fixed-time decisions
    assert greens[-140:] == [ew] * 140
    model.holds.release(0, EMERGENCY)
    assert ns in _greens(model, 120), "the fixed-time controller took the signal back"


def test_the_controller_is_dropped_while_any_hold_is_active():
    model = _model()
    ns, ew = _phases(model)
    model.holds.hold(0, ew, TRANSIT)
    assert _greens(model, 200)[-190:] == [ew] * 190
    model.holds.release(0, TRANSIT)
    assert ns in _greens(model, 120)


# ----- the kernel's time to green ------------------------------------------------------------


def _check_time_to_green(model, phase, holder):
    """Predict, then request ``phase`` through a hold and step: green exactly when predicted."""
    predicted = model.traffic.time_to_green_s(0, phase)
    model.holds.hold(0, phase, holder)
    n_steps = round(predicted / model.dt_s)
    assert n_steps * model.dt_s == pytest.approx(predicted)
    if n_steps:
        assert _greens(model, n_steps)[-1] != phase, "not green before the predicted time"
    assert _greens(model, 1) == [phase], "green in the step that starts at the predicted time"
    return predicted


def _step_until(model, condition, limit=400):
    for _ in range(limit):
        if condition():
            return
        model.step()
    raise AssertionError("the signal never reached the stage")


@pytest.mark.parametrize("dt_s", [1.0, 0.5])
def test_time_to_green_from_a_green_before_and_after_its_minimum_green(dt_s):
    model = _model(dt_s)
    ns, ew = _phases(model)
    assert model.traffic.time_to_green_s(0, ns) == 0.0, "green now"
    model.step()
    # one step into the first green: the rest of the minimum green, then yellow and all-red
    assert _check_time_to_green(model, ew, TRANSIT) == pytest.approx(5.0 - dt_s + 3.0 + 2.0)
    _greens(model, round(20.0 / dt_s))
    assert _check_time_to_green(model, ns, EMERGENCY) == pytest.approx(3.0 + 2.0)


def _in_clearance(model, stage, leaving):
    """Whether signal 0 runs ``stage`` ("yellow" or "all_red") of its change away from ``leaving``."""
    net, traffic = model.net, model.traffic
    if traffic.next_phase(0) is None:
        return False
    conns = net.phase_conns[net.phase_conn_ptr[leaving] : net.phase_conn_ptr[leaving + 1]]
    return bool((traffic.conn_state[conns] == YELLOW).any()) == (stage == "yellow")


@pytest.mark.parametrize("stage", ["yellow", "all_red"])
@pytest.mark.parametrize("dt_s", [1.0, 0.5])
def test_time_to_green_from_a_clearance_to_its_phase_and_to_another(dt_s, stage):
    for toward_its_phase in (True, False):
        model = _model(dt_s)
        ns, ew = _phases(model)
        _greens(model, round(6.0 / dt_s))
        model.holds.hold(0, ew, TRANSIT)  # NS -> EW: yellow 3 s, all-red 2 s
        _step_until(model, lambda model=model, ns=ns: _in_clearance(model, stage, ns))
        model.step()  # part of the stage has run
        assert _in_clearance(model, stage, ns)
        traffic = model.traffic
        if toward_its_phase:
            assert _check_time_to_green(model, ew, EMERGENCY) < traffic.intergreen_s(0)
        else:
            # the rest of the clearance, EW's minimum green, and a whole clearance back to NS
            predicted = _check_time_to_green(model, ns, EMERGENCY)
            assert predicted >= traffic.min_green_s(0) + traffic.intergreen_s(0)
            assert predicted < traffic.min_green_s(0) + 2 * traffic.intergreen_s(0)
