"""Configuration: the old config.yaml keys, sidislab's own keys, and clear errors."""

from __future__ import annotations

import textwrap

import pytest
import torch

from sidislab.config import Config, from_dict, load_config
from sidislab.errors import ConfigError

OLD_CONFIG = """
PerturbativeOrder: 2
pdfset: {name: "MMHT2014nnlo68cl", member: 0}
ffset: {name: "MAPFF10NNLOPIp", member: 3}
TMDscales: {Ci: 1.0, Cf: 2.0}
alphaem: {aref: 0.0072973525693, Qref: 91.1876, run: true}
xgridpdf: [[100, 1.0e-4, 3], [60, 1.0e-1, 3]]
Qgrid: {n: 100, InterDegree: 3, eps: 1.0e-3}
qToQcut: 10
bgrid: {b_min: 1.0e-2, b_max: 2.0, Nb: 256}
"""


def write(tmp_path, text: str):
    p = tmp_path / "config.yaml"
    p.write_text(textwrap.dedent(text))
    return p


def test_old_config_is_accepted(tmp_path):
    cfg = load_config(write(tmp_path, OLD_CONFIG))
    assert cfg.PerturbativeOrder == 2
    assert cfg.pdfset.name == "MMHT2014nnlo68cl" and cfg.ffset.member == 3
    assert (cfg.Ci, cfg.Cf) == (1.0, 2.0)
    assert cfg.qToQcut == 10
    assert (cfg.bgrid.b_min, cfg.bgrid.b_max, cfg.bgrid.Nb) == (0.01, 2.0, 256)
    assert cfg.apfel["xgridpdf"][0] == [100, 1.0e-4, 3]
    assert cfg.source.endswith("config.yaml")


def test_defaults_and_round_trip():
    cfg = Config()
    assert cfg.torch_dtype is torch.float64 and cfg.integrator.method == "ogata"
    again = from_dict(cfg.to_dict())
    assert again.to_dict() == cfg.to_dict()


def test_own_keys():
    cfg = from_dict(
        {
            "integrator": {"method": "simpson"},
            "bgrid": "old-default",
            "luminosity": {"provider": "analytic", "cache_dir": "/tmp/x"},
            "dtype": "float32",
            "device": "cpu",
        }
    )
    assert cfg.integrator.method == "simpson" and cfg.bgrid.name == "old-default"
    assert cfg.luminosity.provider == "analytic" and cfg.torch_dtype is torch.float32
    assert cfg.torch_device == torch.device("cpu")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "PerturbativeOrder: 7",
            "key 'PerturbativeOrder': 7 is not allowed (allowed: -2, -1, 0, 1, 2, 3)",
        ),
        ("PerturbativeOrder: one", "key 'PerturbativeOrder': expected a number"),
        ("pdfset: {member: 0}", "key 'pdfset.name': missing"),
        ("pdfset: {name: X, member: -1}", "key 'pdfset.member': must be >= 0"),
        ("TMDscales: {Ci: 0}", "key 'TMDscales.Ci': must be > 0"),
        ("TMDscales: {Cx: 1}", "key 'TMDscales.Cx': unknown key (allowed: Ci, Cf)"),
        ("alphaem: {run: yes please}", "key 'alphaem.run': expected true or false"),
        ("qToQcut: .nan", "key 'qToQcut': must be finite"),
        ("bgrid: {b_min: 0.01, b_max: 2}", "key 'bgrid.Nb': missing"),
        ("bgrid: {b_min: 3, b_max: 2, Nb: 10}", "key 'bgrid.b_max': must exceed b_min"),
        (
            "bgrid: {name: fine}",
            "key 'bgrid.name': 'fine' is not allowed (allowed: default, old-default, wide-log)",
        ),
        (
            "integrator: {method: romberg}",
            "key 'integrator.method': 'romberg' is not allowed (allowed: ogata, trapezoid, simpson)",
        ),
        ("dtype: float16", "key 'dtype': 'float16' is not allowed (allowed: float64, float32)"),
        (
            "luminosity: {provider: magic}",
            "'luminosity.provider': 'magic' is not allowed (allowed: native, apfel, analytic)",
        ),
        ("Perturbativeorder: 1", "key 'Perturbativeorder': unknown key"),
    ],
)
def test_bad_values_name_file_key_and_allowed(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(path) in str(err.value)
    assert message in str(err.value)


def test_malformed_yaml_and_missing_file(tmp_path):
    path = write(tmp_path, "PerturbativeOrder: [1,\n")
    with pytest.raises(ConfigError, match="malformed YAML"):
        load_config(path)
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="expected a mapping at top level"):
        load_config(write(tmp_path, "- 1\n- 2\n"))


def test_safe_load_only(tmp_path):
    path = write(tmp_path, "PerturbativeOrder: !!python/object/apply:os.system ['true']\n")
    with pytest.raises(ConfigError, match="malformed YAML"):
        load_config(path)
