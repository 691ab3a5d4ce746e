"""``citysim tune SCENARIO``: optimize a fixed-time or actuated plan by simulation, write a plan file."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from sim.commands.common import EXIT_OK, add_scenario_arguments, integer_argument, seed_argument

if TYPE_CHECKING:
    from sim.scenario import Scenario
    from sim.tuning import Score, TuneResult

__all__ = ["register"]


def _seeds(text: str) -> list[int]:
    """Argparse type of ``--seeds``: comma-separated integers >= 0."""
    try:
        return [seed_argument(item.strip()) for item in text.split(",")]
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated seeds (integers >= 0), got {text!r}"
        ) from None


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``tune`` to the subcommands."""
    parser = commands.add_parser(
        "tune",
        help="optimize a fixed-time or actuated signal plan by simulation and write a plan file",
        description=(
            "Start from the coordinated plan (a common cycle from the critical intersection, Webster "
            "splits, offsets for two-way progression) and improve it by simulation with a (1+4) "
            "evolution strategy: for fixed_time the cycle, each phase's share of green and each "
            "offset; for actuated the maximum greens, minimum greens and passage time. The "
            "objective is the all-trips mean delay (unfinished trips count) over tuning seeds "
            "held apart from compare's default seeds. Writes a plan file for [signals] plan_file "
            "and prints the delay and completion before and after."
        ),
    )
    add_scenario_arguments(parser)
    parser.add_argument(
        "--controller",
        default="fixed_time",
        metavar="fixed_time|actuated",
        help="the controller whose plan to tune (default fixed_time)",
    )
    parser.add_argument(
        "--seeds",
        type=_seeds,
        default=None,
        metavar="A,B,...",
        help="tuning seeds (default: citysim's tuning seeds, apart from compare's and the benchmarks')",
    )
    parser.add_argument(
        "--budget",
        type=integer_argument(1),
        default=None,
        metavar="N",
        help="candidate plans to run, each on every seed, the starts included (default 100)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("plans.toml"),
        metavar="FILE",
        help="plan file to write (default plans.toml)",
    )
    parser.add_argument(
        "--jobs",
        type=integer_argument(1),
        default=None,
        metavar="N",
        help="worker processes (default: the cores this process may use)",
    )
    parser.add_argument("--quiet", action="store_true", help="hide the progress bar")
    parser.set_defaults(handler=_tune)


def _tune(args: argparse.Namespace) -> int:
    # Imported here, not at the top, so that --help need not load mesa and numba.
    from sim.control.plans import write_plan_file
    from sim.scenario import load_scenario
    from sim.sweep.runners import default_jobs
    from sim.tuning import DEFAULT_BUDGET, TUNING_SEEDS, tune

    scenario = load_scenario(args.scenario, args.overrides)
    seeds = TUNING_SEEDS if args.seeds is None else tuple(args.seeds)
    budget = DEFAULT_BUDGET if args.budget is None else args.budget
    search_seed = scenario.seed if args.seed is None else args.seed
    evaluation = range(scenario.seed, scenario.seed + 10)
    print(
        f"{scenario.name}: tuning {args.controller} on seeds {', '.join(map(str, seeds))}, "
        f"{budget} candidate plans, search seed {search_seed}"
    )
    shared = sorted(set(seeds) & set(evaluation))
    if shared:
        print(
            f"note: seeds {', '.join(map(str, shared))} are among compare's default seeds "
            f"({evaluation[0]}..{evaluation[-1]}): report results on other seeds"
        )
    jobs = default_jobs() if args.jobs is None else args.jobs
    result = tune(scenario, args.controller, seeds, budget, search_seed, jobs=jobs, progress=not args.quiet)
    header = (
        f"citysim signal plans: {scenario.name}, {args.controller}, tuned by citysim tune\n"
        f'use with [signals] plan_file = "{args.out.name}" (a path relative to the scenario file)'
    )
    out = write_plan_file(args.out, result.plans, result.record(scenario, budget, search_seed), header)
    print(_report(result, _before(scenario, args.controller)))
    print(f"plan file written to {out}")
    print(_usage(out.resolve(), result))
    return EXIT_OK


def _before(scenario: Scenario, controller: str) -> str:
    """How the scenario as it is times its signals, in a few words: its plans, or its actuated settings."""
    from sim.control.timing import timing_label

    if controller != "actuated":
        return timing_label(scenario.signals)
    settings = scenario.with_overrides({"signals.controller": controller}).signals.settings_of(controller)
    max_green, passage = f"{settings.max_green_s:g} s", f"{settings.passage_time_s:g} s"
    return f"max green {max_green} where plans give none, passage time {passage}"


def _report(result: TuneResult, before: str) -> str:
    """The scores before, at the start and tuned: all-trips delay, completion, changes."""
    start = f"start: {result.start_name}"
    tuned = f"tuned, cycle {result.cycle_s:g} s" if result.cycle_s is not None else "tuned"
    if result.passage_time_s is not None:
        tuned += f", passage time {result.passage_time_s:g} s"
    rows = [(f"scenario as it is ({before})", result.before), (start, result.start), (tuned, result.tuned)]
    width = max(len(name) for name, _ in rows)
    lines = [
        f"all-trips mean delay over the {len(result.seeds)} tuning seeds ({result.evaluations} plans run):"
    ]
    for name, score in rows:
        lines.append(f"  {name:<{width}}  {score.delay_s:8.1f} s  {score.completion:7.1%} completed")
    start_change, before_change = _change(result.tuned, result.start), _change(result.tuned, result.before)
    lines.append(f"  change: {start_change} vs the start, {before_change} vs the scenario as it is")
    return "\n".join(lines)


def _change(after: Score, before: Score) -> str:
    return f"{100.0 * (after.delay_s / before.delay_s - 1.0):+.1f}%" if before.delay_s > 0 else "n/a"


def _usage(out: Path, result: TuneResult) -> str:
    """How to run the tuned plan: the overrides, and the key to put in the scenario."""
    overrides = [f"signals.plan_file={out}", f"signals.controller={result.controller}"]
    if result.passage_time_s is not None:
        overrides.append(f"signals.actuated.passage_time_s={result.passage_time_s:g}")
    return "run it with: " + " ".join(f"--set {item}" for item in overrides)
