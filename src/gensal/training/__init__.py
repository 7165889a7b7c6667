"""Training: Algorithm 1 (cooperative), its ablations (lvm-abp, deterministic) and the shared outer loop."""

from gensal.training.abp import abp_step
from gensal.training.cooperative import cooperative_step
from gensal.training.deterministic import deterministic_step
from gensal.training.loop import TrainingDivergedError, TrainResult, train

__all__ = ["TrainResult", "TrainingDivergedError", "abp_step", "cooperative_step", "deterministic_step", "train"]
