"""``citysim train SCENARIO --out POLICY``: train a learned signal policy (needs the ``rl`` extra)."""

from __future__ import annotations

import argparse
from pathlib import Path

from sim.commands.common import EXIT_OK, MissingExtraError, add_scenario_arguments, integer_argument

__all__ = ["register"]


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``train`` to the subcommands."""
    parser = commands.add_parser(
        "train",
        help="train a learned signal policy (double DQN) on a scenario",
        description=(
            "Train one policy shared by every signalized intersection of the scenario with double DQN "
            "(PyTorch; install with pip install 'citysim[rl]'). Writes POLICY (.npz, runs with numpy "
            "alone: signals.controller = 'learned', signals.learned.policy = POLICY), a JSON sidecar and a "
            "learning curve PNG beside it. A checkpoint (POLICY with suffix .ckpt) is written after "
            "every episode; running the same command again resumes from it."
        ),
    )
    add_scenario_arguments(parser)
    parser.add_argument(
        "--out", type=Path, required=True, metavar="POLICY", help="policy file to write (.npz)"
    )
    parser.add_argument(
        "--episodes",
        type=integer_argument(1),
        default=None,
        metavar="N",
        help="training episodes; default: as many as the shipped policy had",
    )
    parser.add_argument("--fresh", action="store_true", help="ignore an existing checkpoint and start over")
    parser.add_argument("--quiet", action="store_true", help="hide the progress bar")
    parser.set_defaults(handler=_train)


def _train(args: argparse.Namespace) -> int:
    from sim.scenario import load_scenario

    try:
        from sim.rl.train import TrainConfig, train
    except ImportError as error:
        raise MissingExtraError(
            f"citysim train needs PyTorch, gymnasium and pettingzoo ({error}); "
            "install them with: pip install 'citysim[rl]'"
        ) from None

    scenario = load_scenario(args.scenario, args.overrides)
    settings = {"seed": scenario.seed if args.seed is None else args.seed}
    if args.episodes is not None:
        settings["episodes"] = args.episodes
    config = TrainConfig.for_scenario(scenario, **settings)
    report = train(scenario, args.out, config, fresh=args.fresh, progress=not args.quiet)
    print(
        f"policy written to {report.policy} "
        f"(sidecar {report.sidecar.name}, learning curve {report.figure.name})"
    )
    print(
        f"trained {config.episodes} episodes in {report.wall_s / 60.0:.1f} min; selected episode "
        f"{report.best_episode}: mean delay {report.best_eval_delay_s:.1f} s over the evaluation seeds"
    )
    return EXIT_OK
