"""Models: encoders, the MiDaS-style decoder, the LVM G(X, h), the EBM U(Y, X), SalGAN's G and D; one registry.

Build every model with :func:`create_model`; :func:`list_models` gives the names.
"""

from gensal.models.backbones import Backbone, create_backbone, list_backbones, register_backbone
from gensal.models.decoder import MidasDecoder
from gensal.models.ebm import EnergyModel
from gensal.models.lvm import SaliencyLVM, repeat_features
from gensal.models.registry import create_model, list_models, register_model
from gensal.models.salgan import SalGANDiscriminator, SalGANGenerator

__all__ = [
    "Backbone",
    "EnergyModel",
    "MidasDecoder",
    "SalGANDiscriminator",
    "SalGANGenerator",
    "SaliencyLVM",
    "create_backbone",
    "create_model",
    "list_backbones",
    "list_models",
    "register_backbone",
    "register_model",
    "repeat_features",
]
