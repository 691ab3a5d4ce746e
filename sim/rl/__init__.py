"""Learned signal control: observation features, the numpy policy, environments and training.

``features`` and ``policy`` need numpy only; the learned controller uses them at run time.
``env`` needs gymnasium and pettingzoo, ``dqn`` and ``train`` need PyTorch: install them with
the optional extra, ``pip install citysim[rl]``. Importing this package imports none of them.
"""
