r"""Fitting fNP parameters to cross sections with PyTorch autograd.

One module per job: :mod:`~sidislab.fit.targets` (what is fitted), :mod:`~sidislab.fit.loss`
(χ², MSE and their gradients), :mod:`~sidislab.fit.optimise` (LBFGS/Adam/SGD, stopping
rules, :class:`FitResult`), :mod:`~sidislab.fit.covariance` (C = 2 H⁻¹) and
:mod:`~sidislab.fit.gradcheck` (autograd against finite differences), :mod:`~sidislab.fit.chi2`
(the correlated χ² of measured data, nuisance parameters) and :mod:`~sidislab.fit.replicas`
(Monte-Carlo replicas of the data, fitted one by one). The names below are
the package's public interface.
"""

from __future__ import annotations

from sidislab.fit.chi2 import Chi2Result, CorrelatedChi2, CorrelatedTargets, nuisance_chi2
from sidislab.fit.covariance import covariance
from sidislab.fit.gradcheck import GradientCheck, check_gradients
from sidislab.fit.loss import LOSSES, loss_and_backward, loss_of_vector, loss_value
from sidislab.fit.optimise import OPTIMIZERS, FitResult, FitSettings, fit
from sidislab.fit.targets import Targets, constant_targets, pseudo_data

__all__ = [
    "LOSSES",
    "OPTIMIZERS",
    "Chi2Result",
    "CorrelatedChi2",
    "CorrelatedTargets",
    "FitResult",
    "FitSettings",
    "GradientCheck",
    "Targets",
    "check_gradients",
    "constant_targets",
    "covariance",
    "fit",
    "loss_and_backward",
    "loss_of_vector",
    "loss_value",
    "nuisance_chi2",
    "pseudo_data",
]
