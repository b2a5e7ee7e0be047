"""loyalty-sim: test a customer-loyalty scheme before paying for one.

The main entry points are :class:`Population` (synthetic customers, from a preset or
fitted parameters) and :func:`simulate` (the weekly engine).
"""

from .engine import simulate
from .errors import ConfigError, DataError, FitError, LoyaltySimError
from .population import Population, PopulationParams, available_presets, load_preset
from .result import SimulationConfig, SimulationResult

__version__ = "0.1.0"

__all__ = [
    "ConfigError", "DataError", "FitError", "LoyaltySimError", "Population", "PopulationParams",
    "SimulationConfig", "SimulationResult", "__version__", "available_presets", "load_preset", "simulate",
]
