"""Everything only notebooks and reports use: headless runs and HTML reports
(:mod:`~sidislab.workbench.report`), recorded metrics (:mod:`~sidislab.workbench.metrics`),
figures (:mod:`~sidislab.workbench.plotting`), controls (:mod:`~sidislab.workbench.widgets`,
:mod:`~sidislab.workbench.fit_explorer`) and the accuracy/convergence studies they narrate
(:mod:`~sidislab.workbench.accuracy`, :mod:`~sidislab.workbench.convergence`)."""
