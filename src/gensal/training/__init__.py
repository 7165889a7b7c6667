"""Training: Algorithm 1 (cooperative), its ablations (lvm-abp, deterministic), SalGAN and the shared outer loop."""

from gensal.training.abp import abp_step
from gensal.training.cooperative import cooperative_step
from gensal.training.deterministic import deterministic_step
from gensal.training.loop import TrainingDivergedError, TrainResult, train
from gensal.training.salgan import salgan_step

__all__ = [
    "TrainResult",
    "TrainingDivergedError",
    "abp_step",
    "cooperative_step",
    "deterministic_step",
    "salgan_step",
    "train",
]
