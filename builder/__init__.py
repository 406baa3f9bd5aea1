"""NetBuilder's core: network spec -> analysis, initialized PyTorch model, histograms, code."""

from .analysis import Analysis, LayerAnalysis, analyze
from .errors import SpecError
from .model import build_model
from .spec import Spec, load_spec

__all__ = [
    "Analysis",
    "LayerAnalysis",
    "Spec",
    "SpecError",
    "analyze",
    "build_model",
    "load_spec",
]
