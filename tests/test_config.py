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


# --- every key takes effect or is rejected or reported (issue 13) ----------------------------


def test_yaml12_numbers_duplicates_and_key_types(tmp_path):
    cfg = load_config(write(tmp_path, "integrator: {tol: 1e-10}\nTMDscales: {Cf: 2E0}\n"))
    assert cfg.integrator.tol == 1e-10 and cfg.Cf == 2.0
    for text, pattern in (
        ("qToQcut: 1\nqToQcut: 2\n", r"config\.yaml: line 2: duplicate key 'qToQcut'"),
        ("bgrid: {Nb: 5, Nb: 6}\n", r"line 1: duplicate key 'Nb'"),
        ("TMDscales: {1.0: 2}\n", r"line 1: key 1.0 \(float\) is not a string"),
        ("alphaem: {run: yes}\n", r"key 'alphaem.run': expected true or false, got 'yes'"),
    ):
        with pytest.raises(ConfigError, match=pattern):
            load_config(write(tmp_path, text))


def test_device_must_exist_here():
    from sidislab.config import available_devices, check_device

    assert check_device("cpu") == torch.device("cpu")
    assert check_device("auto").type in ("cpu", "cuda", "mps")
    assert "cpu" in available_devices()
    n = torch.cuda.device_count() if torch.cuda.is_available() else 0
    for dev in (f"cuda:{n}", f"cuda:{n + 7}", *(() if n else ("cuda",))):
        with pytest.raises(ConfigError, match=rf"c\.yaml: key 'device': '{dev}' does not exist"):
            from_dict({"device": dev}, source="c.yaml")
    for dev, pattern in (("gpu", "is not a torch device"), (7, "expected a string")):
        with pytest.raises(ConfigError, match=pattern):
            from_dict({"device": dev}, source="c.yaml")
    with pytest.raises(ConfigError, match=r"<defaults>: key 'device': 'cuda:99'"):
        _ = Config(device="cuda:99").torch_device


def test_sizes_and_memory_limit(monkeypatch):
    from sidislab.config import check_memory, format_bytes, memory_limit_bytes, parse_bytes
    from sidislab.errors import ResourceLimitError

    assert parse_bytes("8 GiB") == 8 * 2**30 and parse_bytes("500MB") == 5e8
    assert parse_bytes(1e9) == 1e9 and format_bytes(1.5 * 2**30) == "1.5 GiB"
    assert from_dict({"memory_limit": "2 GiB"}).memory_limit == 2 * 2**30
    assert from_dict({"memory_limit": "2 GiB"}).to_dict()["memory_limit"] == 2 * 2**30
    for bad in ("lots", -1, 0, "3 parsecs", True):
        with pytest.raises(ConfigError, match="key 'memory_limit'"):
            from_dict({"memory_limit": bad}, source="c.yaml")
    monkeypatch.setenv("SIDISLAB_MEMORY_LIMIT", "1 MiB")
    assert memory_limit_bytes() == 2**20
    assert memory_limit_bytes(from_dict({"memory_limit": 5e9})) == 5e9
    check_memory(2**20, "a table", "bgrid.Nb")
    with pytest.raises(ResourceLimitError, match=r"c: a table would need about 1 MiB, above"):
        check_memory(2**20 + 1, "a table", "bgrid.Nb", source="c")


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    from sidislab.kinematics import random_points

    monkeypatch.setenv("SIDISLAB_CACHE_DIR", str(tmp_path / "cache"))
    return random_points(3, seed=1)


def _xsec(cfg: dict, kin):
    from sidislab.fnp import load_fnp
    from sidislab.pipeline import build_cross_section

    return build_cross_section(
        from_dict({"luminosity": {"provider": "analytic"}, **cfg}, source="c.yaml"),
        kin,
        load_fnp("map22_flavour_blind"),
        use_cut=False,
        progress=False,
    )


def test_integrator_h_and_n_nodes_reach_ogata(tiny):
    auto = _xsec({}, tiny)
    xs = _xsec({"integrator": {"h": 0.02, "n_nodes": 37}}, tiny)
    assert xs.nodes.shape == (3, 37)
    torch.testing.assert_close(xs.transform.h, torch.full((3,), 0.02, dtype=torch.float64))
    assert auto.nodes.shape[-1] != 37 and not torch.allclose(auto.transform.h, xs.transform.h)
    # a different h gives different nodes and (slightly) different σ
    other = _xsec({"integrator": {"h": 0.01, "n_nodes": 37}}, tiny)
    assert not torch.allclose(other.nodes, xs.nodes)


def test_keys_without_effect_are_reported(tiny, caplog):
    import logging

    from sidislab.config import method_inert_keys

    with caplog.at_level(logging.WARNING):
        _xsec({"bgrid": {"b_min": 1e-3, "b_max": 20, "Nb": 65}}, tiny)
    assert "c.yaml: key 'bgrid' has no effect: integrator.method is ogata" in caplog.text
    cfg = from_dict({"integrator": {"method": "simpson", "h": 0.1, "tol": 1e-6}})
    assert [k for k, _ in method_inert_keys(cfg)] == ["integrator.tol", "integrator.h"]
    assert method_inert_keys(from_dict({"integrator": "trapezoid", "bgrid": "default"})) == []
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        from_dict({"xgridpdf": [[100, 1e-4, 3]], "luminosity": "native"}, source="c.yaml")
    assert "c.yaml: key 'xgridpdf' has no effect: an APFEL++ key" in caplog.text
    with pytest.raises(ConfigError, match=r"integrator.h/n_nodes set Ogata's nodes"):
        from sidislab.observables.xsec import CrossSection

        xs = _xsec({}, tiny)
        CrossSection(xs.kin, xs._lumi_source, xs.fnp, integrator="trapezoid", h=0.1)
