"""Numerics without physics: J0/J1 for torch (:mod:`~sidislab.numerics.bessel`), b-grids with
weights (:mod:`~sidislab.numerics.bgrid`), differentiable Hankel transforms
(:mod:`~sidislab.numerics.integrate`: trapezoid, Simpson, Ogata), their error estimates
(:mod:`~sidislab.numerics.error_estimates`) and per-point adaptive b-grids
(:mod:`~sidislab.numerics.adaptive`)."""
