"""What is compared with measurements: the differentiable SIDIS cross section
(:mod:`~sidislab.observables.xsec`), and the observables built on it."""
