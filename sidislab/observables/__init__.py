"""What is compared with measurements: the differentiable SIDIS cross section
(:mod:`~sidislab.observables.xsec`), and the observables built on it: the physical
normalisation (:mod:`.physical`), the DIS denominator (:mod:`.dis`), bin-integration nodes
(:mod:`.binning`), bin-averaged multiplicities (:mod:`.multiplicity`), targets and hadrons
(:mod:`.targets`) and MAP22's optional normalisation (:mod:`.normalisation`)."""
