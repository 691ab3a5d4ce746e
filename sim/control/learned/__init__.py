"""The learned signal controller: observation features and the numpy policy it runs (numpy only).

Training (DQN, PyTorch) and the Gymnasium/PettingZoo environments live above the model, in
:mod:`sim.rl`, and import the features and the policy from here.
"""

from sim.control.learned.controller import LearnedController, LearnedSettings

__all__ = ["LearnedController", "LearnedSettings"]
