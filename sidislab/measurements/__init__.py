"""Readers of experimental tables (HERMES, COMPASS multiplicities in the NangaParbat YAML
format): measured values, bins, qualifiers and uncertainty models. Named ``measurements``
so that it is not confused with the top-level ``data/`` folder of shipped files.

:mod:`~sidislab.measurements.nangaparbat` reads one file, :mod:`~.dataset` holds a batched
data set and its covariance, :mod:`~.discovery` finds files by name pattern,
:mod:`~.cuts` holds the kinematic cuts (MAP22's by default), :mod:`~.bins` the bins that the
observables average over.
"""

from __future__ import annotations

from sidislab.measurements.bins import MeasuredBins
from sidislab.measurements.cuts import Cuts, QCut, QTOverQCut, XCut, ZCut, apply_cuts, map22_cuts
from sidislab.measurements.dataset import DataSet
from sidislab.measurements.discovery import DATA_ENV, data_dirs, find_datasets, load_datasets
from sidislab.measurements.nangaparbat import DataFile, read_file

__all__ = [
    "DATA_ENV",
    "Cuts",
    "DataFile",
    "DataSet",
    "MeasuredBins",
    "QCut",
    "QTOverQCut",
    "XCut",
    "ZCut",
    "apply_cuts",
    "data_dirs",
    "find_datasets",
    "load_datasets",
    "map22_cuts",
    "read_file",
]
