"""The data pipeline of the PyTorch target, a port of the TS runtime's (src/runtime/data/,
src/runtime/train-data.ts): for the same recipe and seed the Python engine trains on the same
arrays, in the same order. NumPy only (PIL for image folders); torch is not imported here."""
from .augment import augment_batch
from .common import DataError, Dataset, Samples
from .normalize import Normalizer, fit_normalizer, normalize, restore_normalizer
from .sources import load_data, take_per_class
from .split import DEFAULT_VALIDATION, SplitPlan, absolute_paths, data_facts, hold_out_indices, needs_validation, split_data, target_mode

__all__ = [
    "DataError", "Dataset", "Samples", "load_data", "take_per_class", "fit_normalizer", "normalize", "restore_normalizer", "Normalizer",
    "augment_batch", "split_data", "hold_out_indices", "needs_validation", "target_mode", "data_facts", "absolute_paths", "SplitPlan",
    "DEFAULT_VALIDATION",
]
