"""Readers of experimental tables (HERMES, COMPASS multiplicities in the NangaParbat YAML
format): measured values, bins, qualifiers and uncertainty models. Named ``measurements``
so that it is not confused with the top-level ``data/`` folder of shipped files."""
