"""Caviar's version (``caviar.__version__``), in a module of its own so that the modules
that record it (model bundles, reports, ``caviar --version``) need not import the package
root, whose lazy attributes import the engine."""

__version__ = "0.1.0"
