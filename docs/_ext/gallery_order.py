"""The order of the example gallery: first steps first, then the guide's order.

Examples not listed here (new ones) come after these, by file name.
"""

from __future__ import annotations

ORDER = [
    "quickstart.py",
    "save_load_predict.py",
    "tune_with_halving.py",
    "population_based_training.py",
    "cross_validation.py",
    "sklearn_pipeline.py",
    "tables_with_gaps.py",
    "custom_cnn.py",
    "sequence_model.py",
    "transformer_population.py",
    "ensembles_mc_dropout.py",
    "diagnose_network.py",
    "panda_mode.py",
    "optuna_visualization.py",
    "export_model.py",
    "notebook_workflow.py",
]


class GalleryOrder:
    """sphinx-gallery's ``within_subsection_order``: a sort key over file names."""

    def __init__(self, src_dir: str) -> None:
        self.src_dir = src_dir

    def __call__(self, filename: str) -> tuple[int, str]:
        return (ORDER.index(filename) if filename in ORDER else len(ORDER), filename)
