"""Learned signal control: features, the numpy policy and its controller, the RL environments, training.

Tests of the environments need gymnasium and pettingzoo, tests of training need PyTorch
(the ``rl`` extra); they skip cleanly without them. The learned controller needs neither.
"""

import dataclasses
import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from sim.control.base import Stage
from sim.control.learned import LearnedController, LearnedSettings
from sim.control.learned.features import (
    FEATURES_VERSION,
    LANES_SCALE,
    N_GLOBAL_FEATURES,
    N_PHASE_FEATURES,
    N_PHASE_INPUTS,
    PHASE_FEATURES,
    QUEUE_SCALE_VEH,
    REWARDS,
    observation_size,
    observe,
    phase_inputs,
    requested_phase,
)
from sim.control.learned.policy import BUILTIN, Policy, PolicyError, load_policy, save_policy
from sim.metrics.summary import summarize
from sim.model import CityModel
from sim.rl.simulation import EnvConfig, evaluate_policy
from sim.scenario import ScenarioError, scenario_from_dict

ROOT = Path(__file__).resolve().parents[1]


def _tiny(**signals):
    """A 2x2 signalized grid with 15 minutes of demand: runs in a fraction of a second."""
    return scenario_from_dict(
        {
            "name": "tiny",
            "seed": 5,
            "network": {"type": "grid", "rows": 2, "cols": 2, "block_m": 150.0},
            "demand": {"type": "uniform", "rate_vph": 1400.0, "duration_s": 600.0},
            "signals": {"timing": "webster", "yellow_s": 3.0, "all_red_s": 1.0, **signals},
            "simulation": {"max_time_s": 1200.0},
        }
    )


class _View:
    """An IntersectionView stand-in with given arrays: 2 phases, 4 movements."""

    def __init__(self, stage=Stage.GREEN, phase=0, next_phase=None, age_s=12.0):
        self.phase_movements = np.array([[True, True, False, False], [False, False, True, True]])
        self.queue = np.array([3.0, 1.0, 0.0, 5.0])
        self.approaching = np.array([1.0, 0.0, 2.0, 0.0])
        self.waiting_s = np.array([60.0, 0.0, 0.0, 150.0])
        self.upstream_occupancy = np.array([0.2, 0.4, 0.1, 0.3])
        self.downstream_occupancy = np.array([0.5, 0.9, 0.0, 0.2])
        self.pressure = np.array([2.0, -3.0, 1.5, 4.0])
        self.movement_lanes = np.array([1, 2, 1, 1])
        self.downstream_vehicles = np.array([2.0, 0.0, 1.0, 4.0])
        self.downstream_queue_occupancy = np.array([0.5, 0.0, 0.1, 0.25])
        self.movement_enters = np.array([True, False, False, True])
        self.stage, self.phase, self.next_phase = stage, phase, next_phase
        self.stage_age_s, self.min_green_s = age_s, 5.0


def _random_policy(seed=0, hidden=8):
    rng = np.random.default_rng(seed)
    shapes = [(N_PHASE_INPUTS, hidden), (hidden, hidden), (hidden, 1)]
    return Policy(tuple((rng.normal(size=s), rng.normal(size=s[1])) for s in shapes), decision_interval_s=5.0)


# ----- features -------------------------------------------------------------------------
def test_observation_sums_each_phase_and_flags_the_served_phase():
    obs = observe(_View())
    assert obs.dtype == np.float32 and obs.shape == (observation_size(2),)
    phases = obs[: 2 * N_PHASE_FEATURES].reshape(2, N_PHASE_FEATURES)
    column = {name: phases[:, i] for i, name in enumerate(PHASE_FEATURES)}
    np.testing.assert_allclose(column["queue"], [4.0 / QUEUE_SCALE_VEH, 5.0 / QUEUE_SCALE_VEH])
    np.testing.assert_allclose(column["pressure"], [-1.0 / QUEUE_SCALE_VEH, 5.5 / QUEUE_SCALE_VEH])
    np.testing.assert_allclose(column["waiting"], [60.0 / 300.0, 150.0 / 300.0])
    np.testing.assert_allclose(column["upstream_occ"], [0.3, 0.2], rtol=1e-6)  # mean approach occupancy
    np.testing.assert_allclose(column["downstream_full"], [0.9, 0.2], rtol=1e-6)  # highest exit occupancy
    np.testing.assert_allclose(column["lanes"], [3.0 / LANES_SCALE, 2.0 / LANES_SCALE])
    np.testing.assert_array_equal(column["served"], [1.0, 0.0])
    np.testing.assert_allclose(column["served_age"], [12.0 / 60.0, 0.0])
    # lanes x vehicles fed downstream x standing queue share: 1 x 2 x 0.5 and 1 x 1 x 0.1 + 1 x 4 x 0.25
    np.testing.assert_allclose(column["spillback"], [1.0 * 3.0, 1.1 * 3.0], rtol=1e-6)
    # entering movements 0 and 3: lanes x vehicles x (1 - (1 - exit occupancy) ** 2)
    np.testing.assert_allclose(column["metered"], [4.0 * 0.75 / 10.0, 5.0 * (1 - 0.8**2) / 10.0], rtol=1e-6)
    np.testing.assert_array_equal(column["idle"], [0.0, 0.0])
    np.testing.assert_allclose(obs[-N_GLOBAL_FEATURES:], [1.0, 12.0 / 60.0, 1.0])
    empty = _View()
    empty.queue, empty.approaching = np.array([3.0, 1.0, 0.0, 0.0]), np.array([1.0, 0.0, 0.0, 0.0])
    idle = observe(empty)[PHASE_FEATURES.index("idle") :: N_PHASE_FEATURES][:2]
    np.testing.assert_array_equal(idle, [0.0, 1.0])  # nobody halted or approaching on phase 1


def test_during_a_change_the_next_phase_is_served_and_actions_are_ignored():
    view = _View(stage=Stage.YELLOW, phase=0, next_phase=1, age_s=1.0)
    obs = observe(view)
    served = PHASE_FEATURES.index("served")
    assert obs[served] == 0.0 and obs[N_PHASE_FEATURES + served] == 1.0
    np.testing.assert_allclose(obs[-N_GLOBAL_FEATURES:], [0.0, 1.0 / 60.0, 0.0])
    assert requested_phase(view, 0) is None
    assert requested_phase(_View(), 1) == 1


def test_phase_inputs_score_phases_symmetrically():
    policy = _random_policy()
    view = _View()
    swapped = _View(phase=1)
    swapped.phase_movements = view.phase_movements[::-1].copy()
    q = policy.q_values(observe(view), 2)
    q_swapped = policy.q_values(observe(swapped), 2)
    np.testing.assert_allclose(q_swapped, q[::-1], rtol=1e-5)
    rows = phase_inputs(np.stack([observe(view)] * 3), 2)
    assert rows.shape == (3, 2, N_PHASE_INPUTS)
    with pytest.raises(ValueError, match="expected observations of length 39 for 3 phase"):
        phase_inputs(observe(view), 3)


def test_rewards():
    view = _View()
    assert REWARDS["queue"](0.0, REWARDS["queue"].cost(view)) == pytest.approx(-0.9)
    assert REWARDS["pressure"].cost(view) == pytest.approx(abs(1.0 - 1.6))
    waiting = REWARDS["waiting"]
    assert waiting(1.0, waiting.cost(view)) == pytest.approx(1.0 - 210.0 / 300.0)


# ----- policy files ---------------------------------------------------------------------
def test_policy_round_trip_and_forward_pass(tmp_path):
    policy = _random_policy(seed=3)
    path = save_policy(policy, tmp_path / "p.npz")
    loaded = load_policy(path)
    obs = np.stack([observe(_View()), observe(_View(stage=Stage.ALL_RED, next_phase=1))])
    np.testing.assert_allclose(loaded.q_values(obs, 2), policy.q_values(obs, 2), rtol=1e-5)
    # the forward pass by hand: ReLU MLP on each phase row
    h = phase_inputs(obs, 2)
    for i, (w, b) in enumerate(policy.weights):
        h = h @ w + b
        h = np.maximum(h, 0.0) if i < 2 else h
    np.testing.assert_allclose(loaded.q_values(obs, 2), h[..., 0], rtol=1e-5)
    assert loaded.decision_interval_s == 5.0
    assert load_policy(path) is loaded  # cached while the file is unchanged


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"w0": np.zeros((3, 1))}, "missing array 'features_version'"),
        (
            {"features_version": 99, "decision_interval_s": 5.0, "w0": np.zeros((17, 1)), "b0": np.zeros(1)},
            "trained on features version 99",
        ),
        (
            {
                "features_version": FEATURES_VERSION,
                "decision_interval_s": 5.0,
                "w0": np.zeros((5, 1)),
                "b0": np.zeros(1),
            },
            rf"layer 0: expected w0 of shape \({N_PHASE_INPUTS}, n\)",
        ),
        (
            {
                "features_version": FEATURES_VERSION,
                "decision_interval_s": 5.0,
                "w0": np.zeros((N_PHASE_INPUTS, 2)),
                "b0": np.zeros(2),
            },
            "expected the last layer to have 1 output",
        ),
    ],
)
def test_bad_policy_files_name_the_file_and_the_problem(tmp_path, arrays, message):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(PolicyError, match=message) as info:
        load_policy(path)
    assert str(path) in str(info.value)


def test_a_missing_or_non_npz_policy_file_is_a_policy_error(tmp_path):
    with pytest.raises(PolicyError, match="cannot read policy file"):
        load_policy(tmp_path / "nope.npz")
    (tmp_path / "text.npz").write_text("not a zip")
    with pytest.raises(PolicyError, match="expected a numpy .npz policy file"):
        load_policy(tmp_path / "text.npz")


# ----- the learned controller -------------------------------------------------------------
def _learned(scenario, seed, policy="builtin"):
    """A model of ``scenario`` whose every signal runs the learned controller with ``policy``."""
    return CityModel(
        scenario.with_overrides({"signals.controller": "learned", "signals.learned.policy": policy}), seed
    )


def test_learned_controller_switches_phases_and_only_when_green():
    model = _learned(_tiny(), 5)
    ctrl = model.controllers[0]
    obs_at = {}
    requests = []
    decide = ctrl.decide

    def spy(view):
        obs_at[view.now_s] = view.stage
        decision = decide(view)
        requests.append((view.stage, decision.phase))
        switch = decision.phase not in (None, view.phase)
        gaps.append((switch, decision.next_decision_s - view.now_s))
        return decision

    gaps = []
    ctrl.decide = spy
    model.run(until_s=600.0)
    assert all(phase is None for stage, phase in requests if stage != Stage.GREEN)
    assert any(phase is not None and phase != 0 for _, phase in requests)
    # every 2 s (its default interval) while it keeps its phase; after a switch, the intergreen
    # and at least the 5 s minimum green
    assert all(gap == pytest.approx(2.0) for switch, gap in gaps if not switch)
    assert all(gap >= 5.0 + 4.0 for switch, gap in gaps if switch) and any(s for s, _ in gaps)
    assert model.traffic.n_arrived > 0


def test_a_scenario_runs_the_learned_controller_by_name(tmp_path):
    policy_file = save_policy(_random_policy(seed=4), tmp_path / "mine.npz")
    scenario = _tiny(controller="learned", learned={"policy": str(policy_file)})
    model = CityModel(scenario, seed=3).run()
    assert {type(c) for c in model.controllers} == {LearnedController}
    direct = _learned(_tiny(), 3, str(policy_file)).run()
    assert model.trip_records().equals(direct.trip_records())


def test_learned_controller_reads_its_table_and_loads_its_policy_at_start():
    scenario = _tiny(controller="learned", learned={"decision_interval_s": 7.0, "policy": "builtin"})
    model = CityModel(scenario, seed=1)
    settings = scenario.signals.settings_of("learned")
    assert settings == LearnedSettings(7.0, "builtin")
    ctrl = LearnedController(model.controllers[0].intersection, settings)
    ctrl.start()
    assert ctrl.policy is load_policy(BUILTIN) is model.controllers[0].policy


def test_learned_control_beats_fixed_time_on_a_small_grid():
    scenario = _tiny(timing="webster")
    fixed = summarize(CityModel(scenario, seed=2).run().results())["mean_delay_all_s"]
    learned = summarize(_learned(scenario, 2).run().results())["mean_delay_all_s"]
    assert learned < fixed


def test_learned_controller_runs_without_torch_or_gymnasium():
    code = f"""
import sys
sys.modules["torch"] = None  # any import of torch now fails
sys.modules["gymnasium"] = None
sys.path.insert(0, {str(Path(__file__).parent)!r})
from test_rl import _learned, _tiny
model = _learned(_tiny(), 5).run(until_s=300.0)
assert model.traffic.n_arrived > 0
print("ok", "torch" in sys.modules and sys.modules["torch"] is not None)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["ok", "False"]


# ----- environments -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def rl_env():
    pytest.importorskip("gymnasium")
    pytest.importorskip("pettingzoo")
    from sim.rl import env

    return env


def test_gymnasium_check_env(rl_env):
    from gymnasium.utils.env_checker import check_env

    env = rl_env.SignalEnv(_tiny(), node="n1_0", config=rl_env.EnvConfig(episode_s=60.0))
    assert env.action_space.n == 2 and env.observation_space.shape == (observation_size(2),)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env, skip_render_check=True)


def test_pettingzoo_parallel_api_test(rl_env):
    from pettingzoo.test import parallel_api_test

    env = rl_env.SignalParallelEnv(_tiny(), rl_env.EnvConfig(episode_s=100.0))
    assert env.possible_agents == ["n0_0", "n1_0", "n0_1", "n1_1"]
    parallel_api_test(env, num_cycles=30)


def test_parallel_env_is_deterministic_under_a_seed(rl_env):
    def rollout():
        env = rl_env.SignalParallelEnv(_tiny(), rl_env.EnvConfig(episode_s=300.0, reward="waiting"))
        obs, _ = env.reset(seed=42)
        trace = [obs]
        rng = np.random.default_rng(0)
        while env.agents:
            obs, rewards, term, trunc, _ = env.step({a: int(rng.integers(2)) for a in env.agents})
            trace += [obs, rewards, term, trunc]
        return trace

    first, second = rollout(), rollout()
    assert len(first) == len(second) == 1 + 4 * 60
    for a, b in zip(first, second, strict=True):
        assert a.keys() == b.keys()
        for key in a:
            np.testing.assert_array_equal(a[key], b[key])
    assert any(np.any(obs["n0_0"] != first[0]["n0_0"]) for obs in first[1::4])


def test_env_and_learned_controller_take_the_same_decisions():
    policy = load_policy(BUILTIN)
    scenario = _tiny()
    via_env = evaluate_policy(policy, scenario, [9], EnvConfig(decision_interval_s=5.0))
    # the environments' agents decide every interval: the controller at that interval without its
    # clearing hold
    every_interval = scenario.with_overrides(
        {"signals.learned.clearing_hold": False, "signals.learned.decision_interval_s": 5.0}
    )
    via_controller = summarize(_learned(every_interval, 9).run().results())["mean_delay_all_s"]
    assert via_env == [pytest.approx(via_controller, abs=1e-9)]
    held = summarize(_learned(scenario, 9).run().results())["mean_delay_all_s"]
    assert held != pytest.approx(via_controller)


def test_one_agent_env_leaves_the_other_signals_to_the_scenario(rl_env):
    env = rl_env.SignalEnv(_tiny(), node="n1_1")
    env.reset(seed=1)
    kinds = {c.intersection.node: type(c).__name__ for c in env.sim.model.controllers}
    assert kinds == {
        "n0_0": "FixedTimeController",
        "n1_0": "FixedTimeController",
        "n0_1": "FixedTimeController",
        "n1_1": "_ExternalController",
    }


def test_env_errors_name_the_problem(rl_env):
    with pytest.raises(rl_env.EnvError, match=r"nodes: \['nowhere'\] are not signalized"):
        rl_env.SignalEnv(_tiny(), node="nowhere")
    with pytest.raises(rl_env.EnvError, match="reward: expected one of 'queue'"):
        rl_env.SignalParallelEnv(_tiny(), rl_env.EnvConfig(reward="speed"))
    with pytest.raises(rl_env.EnvError, match="decision_interval_s: expected >= the time step"):
        rl_env.SignalParallelEnv(_tiny(), rl_env.EnvConfig(decision_interval_s=0.5))
    env = rl_env.SignalParallelEnv(_tiny(), rl_env.EnvConfig(episode_s=30.0))
    with pytest.raises(rl_env.EnvError, match="before reset"):
        env.step({})
    env.reset(seed=0)
    with pytest.raises(rl_env.EnvError, match=r"actions\['n0_0'\]: expected a phase index in 0..1, got 2"):
        env.step({"n0_0": 2})
    with pytest.raises(ScenarioError, match="demand.scale: expected a number > 0, got -1"):
        env.reset(options={"overrides": {"demand.scale": -1}})
    obs, _ = env.reset(seed=0, options={"overrides": {"demand.scale": 2.0}})
    assert env.sim.model.config.demand.scale == 2.0


# ----- training -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def rl_train(rl_env):
    pytest.importorskip("torch")
    from sim.rl import train

    return train


def _config(rl_train, rl_env, **kw):
    from sim.rl.dqn import DQNConfig

    return rl_train.TrainConfig(
        episodes=3,
        env=rl_env.EnvConfig(episode_s=150.0),
        dqn=DQNConfig(hidden=8, batch_size=16, min_memory=32),
        eval_every=2,
        eval_seeds=(1,),
        eval_scales=(1.0,),
        **kw,
    )


def test_torch_scorer_and_numpy_policy_agree(rl_train):
    import torch

    from sim.rl.dqn import PhaseScorer

    torch.manual_seed(0)
    scorer = PhaseScorer(hidden=16, layers=2)
    obs = np.stack([observe(_View()), observe(_View(stage=Stage.YELLOW, next_phase=1, age_s=2.0))])
    with torch.no_grad():
        expected = scorer(torch.from_numpy(phase_inputs(obs, 2))).numpy()
    np.testing.assert_allclose(scorer.to_policy(5.0).q_values(obs, 2), expected, rtol=1e-5, atol=1e-6)


def test_n_step_returns_discount_and_bootstrap(rl_train):
    from sim.rl.dqn import NStepReturns

    def obs(value):
        return np.full((2, 3), value, dtype=np.float32)

    acc = NStepReturns(n_step=2, gamma=0.5)
    action = np.array([0, 1])
    assert acc.push(obs(0), action, np.array([1.0, 2.0]), obs(1), terminated=False) == []
    (first,) = acc.push(obs(1), action, np.array([4.0, 8.0]), obs(2), terminated=False)
    np.testing.assert_allclose(first.reward, [1.0 + 0.5 * 4.0, 2.0 + 0.5 * 8.0])
    np.testing.assert_array_equal(first.obs, obs(0))
    np.testing.assert_array_equal(first.next_obs, obs(2))
    np.testing.assert_allclose(first.discount, [0.25, 0.25])
    (second,) = acc.flush(obs(3))  # truncation: the pending step bootstraps after 1 step
    np.testing.assert_allclose(second.reward, [4.0, 8.0])
    np.testing.assert_allclose(second.discount, [0.5, 0.5])
    acc.push(obs(3), action, np.array([1.0, 1.0]), obs(4), terminated=False)
    ended = acc.push(obs(4), action, np.array([2.0, 2.0]), obs(5), terminated=True)
    assert [t.discount.tolist() for t in ended] == [[0.0, 0.0], [0.0, 0.0]]
    np.testing.assert_allclose([t.reward[0] for t in ended], [1.0 + 0.5 * 2.0, 2.0])


def test_training_writes_policy_sidecar_and_curve_and_resumes_after_a_crash(
    rl_train, rl_env, tmp_path, monkeypatch
):
    scenario, config = _tiny(), _config(rl_train, rl_env)
    straight = rl_train.train(scenario, tmp_path / "a" / "p.npz", config, progress=False)
    assert straight.policy.is_file() and straight.figure.is_file()
    assert not (tmp_path / "a" / "p.ckpt").exists()
    sidecar = json.loads(straight.sidecar.read_text())
    assert sidecar["trained_on"]["scenario"] == "tiny" and sidecar["training"]["episodes"] == 3
    assert sidecar["learning_curve"]["episode"] == [1, 2, 3]
    assert straight.best_episode in (2, 3)
    load_policy(straight.policy)

    run_episode = rl_train._run_episode
    calls = []

    def crash_on_third(*args):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return run_episode(*args)

    monkeypatch.setattr(rl_train, "_run_episode", crash_on_third)
    out = tmp_path / "b" / "p.npz"
    with pytest.raises(KeyboardInterrupt):
        rl_train.train(scenario, out, config, progress=False)
    assert (tmp_path / "b" / "p.ckpt").is_file() and not out.exists()
    with pytest.raises(rl_train.TrainError, match="belongs to a training with another scenario or settings"):
        rl_train.train(scenario, out, dataclasses.replace(config, seed=1), progress=False)
    monkeypatch.setattr(rl_train, "_run_episode", run_episode)
    resumed = rl_train.train(scenario, out, config, progress=False)
    columns = ["episode", "seed", "demand_scale", "mean_reward", "train_delay_s", "eval_delay_s"]
    assert resumed.curve[columns].equals(straight.curve[columns])
    np.testing.assert_array_equal(np.load(resumed.policy)["w0"], np.load(straight.policy)["w0"])


def test_bad_checkpoints_paths_and_settings_are_named(rl_train, rl_env, tmp_path):
    out = tmp_path / "p.npz"
    out.with_suffix(".ckpt").write_bytes(b"junk")
    with pytest.raises(rl_train.TrainError, match="cannot read the checkpoint"):
        rl_train.train(_tiny(), out, _config(rl_train, rl_env), progress=False)
    with pytest.raises(rl_train.TrainError, match="expected a policy file name ending in .npz"):
        rl_train.train(_tiny(), tmp_path / "p.pt", _config(rl_train, rl_env), progress=False)
    trips = scenario_from_dict(
        {
            "name": "b",
            "network": {"type": "file", "path": "bench:grid5/network.json"},
            "demand": {"type": "trips", "trips": "bench:grid5/trips.csv"},
        }
    )
    with pytest.raises(rl_train.TrainError, match="demand_scale: a trip table"):
        rl_train.train(trips, out, _config(rl_train, rl_env), progress=False)
    for_trips = rl_train.TrainConfig.for_scenario(trips, episodes=2)
    assert (for_trips.demand_scale, for_trips.eval_scales, for_trips.episodes) == ((1.0, 1.0), (1.0,), 2)
    for_trips.check(trips)
    with pytest.raises(
        rl_train.TrainError, match="variants: expected one or more values for 'signals.all_red_s'"
    ):
        rl_train.TrainConfig(variants=(("signals.all_red_s", ()),)).check(_tiny())
    with pytest.raises(ScenarioError, match="signals.all_red_s: expected a number >= 0, got -1"):
        rl_train.TrainConfig(variants=(("signals.all_red_s", (0.0, -1)),)).check(_tiny())


def test_citysim_train_command(rl_train, tmp_path, capsys):
    from sim.cli import main

    scenario = tmp_path / "tiny.toml"
    scenario.write_text(
        'name = "tiny"\n[network]\ntype = "grid"\nrows = 1\ncols = 2\n'
        "[demand]\nrate_vph = 900.0\nduration_s = 120.0\n[simulation]\nmax_time_s = 300.0\n"
    )
    out = tmp_path / "p.npz"
    code = main(["train", str(scenario), "--out", str(out), "--episodes", "1", "--quiet"])
    assert code == 0, capsys.readouterr().err
    assert out.is_file() and out.with_suffix(".json").is_file() and out.with_suffix(".png").is_file()
    assert "policy written to" in capsys.readouterr().out
    assert main(["train", str(scenario), "--out", str(tmp_path / "p.txt"), "--quiet"]) == 2
    assert "expected a policy file name ending in .npz" in capsys.readouterr().err
