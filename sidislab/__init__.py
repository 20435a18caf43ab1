"""sidislab: a workbench for TMD physics in semi-inclusive DIS.

The package follows the data: ``config`` → ``kinematics`` → ``collinear`` (LHAPDF grids,
couplings) → ``tmd`` (b*, matching, Sudakov, hard factor) → ``lumi`` (providers + cache)
→ ``fnp`` → ``bessel``, ``integrate`` → ``xsec`` → ``fit``. Lower layers never import
higher ones.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
