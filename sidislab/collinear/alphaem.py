"""Running QED coupling α_em(Q) at one loop, as APFEL++ ``AlphaQED`` (``physics.md`` §3).

APFEL++ (``src/evolution/alphaqed.cc``, ``betaqed.cc``) solves

    dα/d ln μ² = −β₀ α²/(4π),   β₀ = −(4/3) (N_c Σ_{q active} e_q² + n_ℓ),

with the active quarks and leptons those whose thresholds lie below μ (quark and lepton
thresholds merged into one sorted list, α continuous across them). At one loop the
solution is exact in closed form on each segment between thresholds:

    1/α(μ) = 1/α(μ₀) + β₀/(4π) ln(μ²/μ₀²).

The reference values are α(91.1876 GeV) = 0.0072973525693, lepton thresholds
(0, 0, 1.777) GeV and quark thresholds (0, 0, 0, 1.28, 4.18) GeV (the PDF set's masses).
Valid for every Q > 0 (no threshold lies below the first massless flavours).

Note on the reference numbers (``../shared/reference/apfel_order*.json``, ``alphaem``):
APFEL++'s Python binding labels the constructor arguments ``(AlphaRef, MuRef,
LeptThresholds, QuarkThresholds, pt)`` while the C++ constructor takes ``(AlphaRef, MuRef,
QuarkThresholds, LeptThresholds, pt)`` (``pywrap/pywrap.cc`` vs ``alphaqed.cc``). The
reference values are reproduced only with the two lists swapped, i.e. 2 or 3 "quarks" at
(0, 0, 1.777) GeV and 3 to 5 "leptons" at (0, 0, 0, 1.28, 4.18) GeV:
``AlphaQED(quark_thresholds=(0, 0, 1.777), lepton_thresholds=(0, 0, 0, 1.28, 4.18))``.
The physical assignment (the default here) gives α_em larger by 0.15 % at 1 GeV.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from sidislab.constants import ALPHA_EM_MZ, LEPTON_MASSES, MZ
from sidislab.errors import ConfigError, NotYetImplementedOrder

logger = logging.getLogger(__name__)

__all__ = ["AlphaQED", "beta0_qed"]

_NC = 3
_CHARGE2 = (1 / 9, 4 / 9, 1 / 9, 4 / 9, 1 / 9, 4 / 9)  # d, u, s, c, b, t


def beta0_qed(nf: int, nl: int) -> float:
    """β₀ of QED for ``nf`` quarks (d, u, s, c, b, t in that order) and ``nl`` leptons.

    β₀ = −(4/3)(N_c Σ_{i<nf} e_i² + n_ℓ) (APFEL++ ``beta0qed``).
    """
    if not 0 <= nf <= 6:
        raise ValueError(f"beta0_qed: nf must be in 0..6, got {nf}")
    return -4.0 / 3.0 * (_NC * sum(_CHARGE2[:nf]) + nl)


class AlphaQED:
    """α_em(Q) at one loop with quark and lepton thresholds; call with Q (GeV) → ndarray.

    Parameters
    ----------
    alpha_ref, mu_ref : α_em(μ_ref), μ_ref in GeV.
    quark_thresholds : quark masses in PDG order d, u, s, c, b(, t) (GeV); the number of
        active quarks at μ counts those strictly below μ.
    lepton_thresholds : e, μ, τ masses (GeV). Up to 6 entries are accepted so that the
        reference's swapped arguments can be emulated (see the module docstring).
    order : 0 (one loop, the reference's "LO running"); higher orders are not provided.
    """

    def __init__(
        self,
        alpha_ref: float = ALPHA_EM_MZ,
        mu_ref: float = MZ,
        quark_thresholds: Sequence[float] = (0.0, 0.0, 0.0, 1.28, 4.18),
        lepton_thresholds: Sequence[float] = LEPTON_MASSES,
        order: int = 0,
    ):
        if order != 0:
            raise NotYetImplementedOrder(
                f"AlphaQED: only order 0 (one loop) is provided, got {order}"
            )
        if not 0 < alpha_ref < 1 or mu_ref <= 0:
            raise ConfigError(
                f"AlphaQED: need 0 < alpha_ref < 1 and mu_ref > 0, got {alpha_ref}, {mu_ref}"
            )
        qt = [float(m) for m in quark_thresholds]
        lt = [float(m) for m in lepton_thresholds]
        if len(qt) > 6 or len(lt) > 6 or any(m < 0 for m in qt + lt):
            raise ConfigError("AlphaQED: up to 6 quark and 6 lepton thresholds, all ≥ 0 GeV")
        self.alpha_ref = float(alpha_ref)
        self.mu_ref = float(mu_ref)
        self.quark_thresholds = tuple(qt)
        self.lepton_thresholds = tuple(lt)
        self.order = order
        # segment edges: the distinct positive thresholds
        edges = sorted({m for m in qt + lt if m > 0})
        self._edges = np.array(edges)
        nseg = len(edges) + 1
        mids = [edges[0] / 2 if edges else 1.0]
        mids += [(edges[k] + edges[k + 1]) / 2 for k in range(len(edges) - 1)]
        if edges:
            mids.append(edges[-1] * 2)
        self._b = np.array(
            [
                beta0_qed(sum(1 for m in qt if mu > m), sum(1 for m in lt if mu > m))
                / (4 * math.pi)
                for mu in mids
            ]
        )
        # 1/α and t at an anchor of every segment, continuous from μ_ref
        t_ref = 2 * math.log(self.mu_ref)
        s_ref = int(np.searchsorted(self._edges, self.mu_ref, side="left"))
        t_anchor = np.empty(nseg)
        inv_anchor = np.empty(nseg)
        t_anchor[s_ref], inv_anchor[s_ref] = t_ref, 1.0 / self.alpha_ref
        for s in range(s_ref + 1, nseg):  # upwards: anchor at the lower edge
            te = 2 * math.log(edges[s - 1])
            inv_anchor[s] = inv_anchor[s - 1] + self._b[s - 1] * (te - t_anchor[s - 1])
            t_anchor[s] = te
        for s in range(s_ref - 1, -1, -1):  # downwards: anchor at the upper edge
            te = 2 * math.log(edges[s])
            inv_anchor[s] = inv_anchor[s + 1] + self._b[s + 1] * (te - t_anchor[s + 1])
            t_anchor[s] = te
        self._t_anchor = t_anchor
        self._inv_anchor = inv_anchor

    def __call__(self, Q: Any) -> np.ndarray:
        """α_em at ``Q`` (GeV, array-like, > 0); float64 array of Q's shape."""
        q = np.asarray(Q, dtype=np.float64)
        flat = q.ravel()
        bad = ~np.isfinite(flat) | (flat <= 0)
        if np.any(bad):
            k = int(np.argmax(bad))
            raise ValueError(f"AlphaQED: need finite Q > 0; point {k} has Q = {float(flat[k])}")
        s = np.searchsorted(self._edges, flat, side="left")
        t = 2 * np.log(flat)
        inv = self._inv_anchor[s] + self._b[s] * (t - self._t_anchor[s])
        if np.any(inv <= 0):
            k = int(np.argmax(inv <= 0))
            raise ValueError(f"AlphaQED: Q = {flat[k]:g} GeV is beyond the QED Landau pole")
        return (1.0 / inv).reshape(q.shape)

    def __repr__(self) -> str:
        return (
            f"AlphaQED(alpha_ref={self.alpha_ref}, mu_ref={self.mu_ref}, "
            f"quark_thresholds={self.quark_thresholds}, lepton_thresholds={self.lepton_thresholds})"
        )
