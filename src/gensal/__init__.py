"""gensal: generative saliency prediction and saliency evaluation you can trust."""

__version__ = "0.1.0"
