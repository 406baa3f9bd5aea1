"""NetBuilder's core: network spec -> analysis, initialized PyTorch model, histograms, code.

Pure Python over torch; never imports streamlit. The API is the contract in SPEC.md.
"""

from .analysis import Analysis, LayerAnalysis, analyze
from .codegen import generate_code
from .errors import SpecError
from .histograms import Histogram, weight_histograms
from .importer import spec_from_code
from .model import build_model
from .signal import activation_stats, compare_plans
from .spec import Spec, load_spec
from .training_code import generate_training_code, generate_training_notebook

__all__ = [
    "Analysis",
    "Histogram",
    "LayerAnalysis",
    "Spec",
    "SpecError",
    "activation_stats",
    "analyze",
    "build_model",
    "compare_plans",
    "generate_code",
    "generate_training_code",
    "generate_training_notebook",
    "load_spec",
    "spec_from_code",
    "weight_histograms",
]
