"""Numerics without physics: J0/J1 for torch (:mod:`~sidislab.numerics.bessel`), b-grids with
weights (:mod:`~sidislab.numerics.bgrid`) and differentiable Hankel transforms
(:mod:`~sidislab.numerics.integrate`: trapezoid, Simpson, Ogata)."""
