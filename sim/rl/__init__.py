"""Learning signal control: the Gymnasium/PettingZoo environments and DQN training.

The learned controller, its observation features and its numpy policy live in
:mod:`sim.control.learned` and need numpy only. ``env`` and ``envs`` need gymnasium and
pettingzoo, ``dqn`` and ``train`` need PyTorch: install them with the optional extra,
``pip install citysim[rl]``. Importing this package imports none of them; importing
:mod:`sim.rl.envs` registers ``citysim/Signals-v0`` for ``gymnasium.make``.
"""
