"""The physics and numerics configuration, read from YAML.

Accepts the keys of the old reference code's ``config.yaml`` (quantom-collab/tmd,
``map/inputs/config.yaml``)::

    PerturbativeOrder: 1            # 0 LL, 1 NLL, 2 NNLL, 3 N3LL (negative: primed orders)
    pdfset: {name: ..., member: 0}
    ffset:  {name: ..., member: 0}
    TMDscales: {Ci: 1.0, Cf: 1.0}
    alphaem: {aref: 0.0072973525693, Qref: 91.1876, run: true}
    qToQcut: 0.5
    bgrid: {b_min: 0.01, b_max: 2.0, Nb: 256}

and APFEL++ tabulation keys (``xgridpdf``, ``xgridff``, ``Qgrid``, ``xbgrid``, ``zgrid``),
kept verbatim for the ``apfel`` provider. sidislab's own keys::

    bgrid: {name: default}  |  {b_min, b_max, Nb, spacing: log|linear}
    integrator: {method: ogata|trapezoid|simpson, tol: 1e-10, h: null, n_nodes: null}
    luminosity: {provider: native|apfel|analytic, cache_dir: ~/.cache/sidislab, extrapolation: freeze}
    dtype: float64 | float32
    device: auto | cpu | cuda | cuda:0 | mps

Every validation error names the file, the key and the allowed values. Only
``yaml.safe_load`` is used.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
import yaml

from sidislab.errors import ConfigError

ORDERS = (-2, -1, 0, 1, 2, 3)
INTEGRATORS = ("ogata", "trapezoid", "simpson")
PROVIDERS = ("native", "apfel", "analytic")
DTYPES = {"float64": torch.float64, "float32": torch.float32}
SPACINGS = ("log", "linear", "loglinear")
EXTRAPOLATIONS = ("freeze", "continuation", "error")
_APFEL_KEYS = ("xgridpdf", "xgridff", "Qgrid", "xbgrid", "zgrid")
_TOP_KEYS = (
    "PerturbativeOrder",
    "pdfset",
    "ffset",
    "TMDscales",
    "alphaem",
    "qToQcut",
    "bgrid",
    "integrator",
    "luminosity",
    "dtype",
    "device",
    *_APFEL_KEYS,
)


class _Where:
    """Formats the location of a configuration value for error messages."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, problem: str, allowed: str | None = None) -> ConfigError:
        msg = f"{self.source}: key '{key}': {problem}"
        if allowed:
            msg += f" (allowed: {allowed})"
        return ConfigError(msg)

    def mapping(self, value: Any, key: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(key, f"expected a mapping, got {type(value).__name__} {value!r}")
        return value

    def number(
        self,
        value: Any,
        key: str,
        *,
        positive: bool = False,
        minimum: float | None = None,
        integer: bool = False,
    ) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(key, f"expected a number, got {value!r}")
        if not math.isfinite(value):
            raise self.fail(key, f"must be finite, got {value!r}")
        if integer and int(value) != value:
            raise self.fail(key, f"expected an integer, got {value!r}")
        if positive and value <= 0:
            raise self.fail(key, f"must be > 0, got {value!r}")
        if minimum is not None and value < minimum:
            raise self.fail(key, f"must be >= {minimum}, got {value!r}")
        return int(value) if integer else float(value)

    def choice(self, value: Any, key: str, allowed: tuple[Any, ...]) -> Any:
        if value not in allowed:
            raise self.fail(key, f"{value!r} is not allowed", ", ".join(map(str, allowed)))
        return value

    def unknown(self, mapping: Mapping[str, Any], key: str, allowed: tuple[str, ...]) -> None:
        extra = sorted(set(mapping) - set(allowed))
        if extra:
            where = f"{key}.{extra[0]}" if key else extra[0]
            raise self.fail(where, "unknown key", ", ".join(allowed))


@dataclass(frozen=True)
class SetChoice:
    """A collinear set by LHAPDF name and member number."""

    name: str
    member: int = 0


@dataclass(frozen=True)
class BGridConfig:
    """b-grid for the trapezoid/Simpson integrators and the luminosity cache (GeV⁻¹).

    ``name`` selects a named grid of :mod:`sidislab.numerics.bgrid` (``default``, ``old-default``);
    explicit ``b_min``, ``b_max``, ``Nb`` and ``spacing`` override it.
    """

    name: str | None = "default"
    b_min: float | None = None
    b_max: float | None = None
    Nb: int | None = None
    spacing: str = "log"


@dataclass(frozen=True)
class IntegratorConfig:
    """Hankel-transform integrator: method and its resolution parameters."""

    method: str = "ogata"
    tol: float = 1e-10
    h: float | None = None
    n_nodes: int | None = None


@dataclass(frozen=True)
class LuminosityConfig:
    """Which luminosity provider, where its cache lives, how grids are extrapolated."""

    provider: str = "native"
    cache_dir: str = "~/.cache/sidislab"
    extrapolation: str = "freeze"


@dataclass(frozen=True)
class Config:
    """The workbench configuration (physics and numerics)."""

    PerturbativeOrder: int = 1
    pdfset: SetChoice = field(default_factory=lambda: SetChoice("sidislab_toy_proton_nlo"))
    ffset: SetChoice = field(default_factory=lambda: SetChoice("sidislab_toy_pip_nlo"))
    Ci: float = 1.0
    Cf: float = 1.0
    alphaem_ref: float = 0.0072973525693
    alphaem_Qref: float = 91.1876
    alphaem_run: bool = True
    qToQcut: float = 0.5
    bgrid: BGridConfig = field(default_factory=BGridConfig)
    integrator: IntegratorConfig = field(default_factory=IntegratorConfig)
    luminosity: LuminosityConfig = field(default_factory=LuminosityConfig)
    dtype: str = "float64"
    device: str = "auto"
    apfel: Mapping[str, Any] = field(default_factory=dict)
    source: str = "<defaults>"

    @property
    def torch_dtype(self) -> torch.dtype:
        return DTYPES[self.dtype]

    @property
    def torch_device(self) -> torch.device:
        return resolve_device(self.device)

    def to_dict(self) -> dict[str, Any]:
        """A plain mapping in the file format (round-trips through :func:`from_dict`)."""
        d = asdict(self)
        out: dict[str, Any] = {
            "PerturbativeOrder": d["PerturbativeOrder"],
            "pdfset": d["pdfset"],
            "ffset": d["ffset"],
            "TMDscales": {"Ci": d["Ci"], "Cf": d["Cf"]},
            "alphaem": {
                "aref": d["alphaem_ref"],
                "Qref": d["alphaem_Qref"],
                "run": d["alphaem_run"],
            },
            "qToQcut": d["qToQcut"],
            "bgrid": {k: v for k, v in d["bgrid"].items() if v is not None},
            "integrator": {k: v for k, v in d["integrator"].items() if v is not None},
            "luminosity": d["luminosity"],
            "dtype": d["dtype"],
            "device": d["device"],
        }
        out.update(dict(self.apfel))
        return out


def resolve_device(device: str | torch.device) -> torch.device:
    """Turn ``auto`` into the best available device (cuda, then mps, then cpu)."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    return torch.device(device)


def _set_choice(w: _Where, value: Any, key: str) -> SetChoice:
    if isinstance(value, str):
        value = {"name": value}
    m = w.mapping(value, key)
    w.unknown(m, key, ("name", "member"))
    if "name" not in m:
        raise w.fail(f"{key}.name", "missing")
    name = m["name"]
    if not isinstance(name, str) or not name.strip():
        raise w.fail(f"{key}.name", f"expected a set name, got {name!r}")
    member = w.number(m.get("member", 0), f"{key}.member", minimum=0, integer=True)
    return SetChoice(name.strip(), int(member))


def _bgrid(w: _Where, value: Any) -> BGridConfig:
    if isinstance(value, str):
        value = {"name": value}
    m = w.mapping(value, "bgrid")
    w.unknown(m, "bgrid", ("name", "b_min", "b_max", "Nb", "spacing"))
    explicit = {k for k in ("b_min", "b_max", "Nb") if k in m}
    if explicit and explicit != {"b_min", "b_max", "Nb"}:
        missing = sorted({"b_min", "b_max", "Nb"} - explicit)
        raise w.fail(f"bgrid.{missing[0]}", "missing (give b_min, b_max and Nb together)")
    name = m.get("name", None if explicit else "default")
    if name is not None:
        from sidislab.numerics.bgrid import NAMED_GRIDS

        w.choice(name, "bgrid.name", tuple(NAMED_GRIDS))
    spacing = w.choice(m.get("spacing", "log"), "bgrid.spacing", SPACINGS)
    if not explicit:
        return BGridConfig(name=name, spacing=spacing)
    b_min = w.number(m["b_min"], "bgrid.b_min", positive=spacing == "log", minimum=0.0)
    b_max = w.number(m["b_max"], "bgrid.b_max", positive=True)
    if b_max <= b_min:
        raise w.fail("bgrid.b_max", f"must exceed b_min = {b_min}, got {b_max}")
    nb = w.number(m["Nb"], "bgrid.Nb", minimum=2, integer=True)
    return BGridConfig(name=None, b_min=b_min, b_max=b_max, Nb=int(nb), spacing=spacing)


def _integrator(w: _Where, value: Any) -> IntegratorConfig:
    if isinstance(value, str):
        value = {"method": value}
    m = w.mapping(value, "integrator")
    w.unknown(m, "integrator", ("method", "tol", "h", "n_nodes"))
    method = w.choice(m.get("method", "ogata"), "integrator.method", INTEGRATORS)
    tol = w.number(m.get("tol", 1e-10), "integrator.tol", positive=True)
    h = m.get("h")
    if h is not None:
        h = w.number(h, "integrator.h", positive=True)
    n = m.get("n_nodes")
    if n is not None:
        n = int(w.number(n, "integrator.n_nodes", minimum=1, integer=True))
    return IntegratorConfig(method=method, tol=tol, h=h, n_nodes=n)


def _luminosity(w: _Where, value: Any) -> LuminosityConfig:
    if isinstance(value, str):
        value = {"provider": value}
    m = w.mapping(value, "luminosity")
    w.unknown(m, "luminosity", ("provider", "cache_dir", "extrapolation"))
    provider = w.choice(m.get("provider", "native"), "luminosity.provider", PROVIDERS)
    cache_dir = m.get("cache_dir", "~/.cache/sidislab")
    if not isinstance(cache_dir, str) or not cache_dir:
        raise w.fail("luminosity.cache_dir", f"expected a folder path, got {cache_dir!r}")
    extrap = w.choice(m.get("extrapolation", "freeze"), "luminosity.extrapolation", EXTRAPOLATIONS)
    return LuminosityConfig(provider=provider, cache_dir=cache_dir, extrapolation=extrap)


def from_dict(data: Any, source: str = "<dict>") -> Config:
    """Validate a mapping (as read from YAML) and build a :class:`Config`.

    ``source`` names the file in error messages.
    """
    w = _Where(source)
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: expected a mapping at top level, got {type(data).__name__}")
    w.unknown(data, "", _TOP_KEYS)
    kw: dict[str, Any] = {"source": source}
    if "PerturbativeOrder" in data:
        order = w.number(data["PerturbativeOrder"], "PerturbativeOrder", integer=True)
        kw["PerturbativeOrder"] = w.choice(order, "PerturbativeOrder", ORDERS)
    for key in ("pdfset", "ffset"):
        if key in data:
            kw[key] = _set_choice(w, data[key], key)
    if "TMDscales" in data:
        m = w.mapping(data["TMDscales"], "TMDscales")
        w.unknown(m, "TMDscales", ("Ci", "Cf"))
        for k in ("Ci", "Cf"):
            if k in m:
                kw[k] = w.number(m[k], f"TMDscales.{k}", positive=True)
    if "alphaem" in data:
        m = w.mapping(data["alphaem"], "alphaem")
        w.unknown(m, "alphaem", ("aref", "Qref", "run"))
        if "aref" in m:
            kw["alphaem_ref"] = w.number(m["aref"], "alphaem.aref", positive=True)
        if "Qref" in m:
            kw["alphaem_Qref"] = w.number(m["Qref"], "alphaem.Qref", positive=True)
        if "run" in m:
            if not isinstance(m["run"], bool):
                raise w.fail("alphaem.run", f"expected true or false, got {m['run']!r}")
            kw["alphaem_run"] = m["run"]
    if "qToQcut" in data:
        kw["qToQcut"] = w.number(data["qToQcut"], "qToQcut", positive=True)
    if "bgrid" in data:
        kw["bgrid"] = _bgrid(w, data["bgrid"])
    if "integrator" in data:
        kw["integrator"] = _integrator(w, data["integrator"])
    if "luminosity" in data:
        kw["luminosity"] = _luminosity(w, data["luminosity"])
    if "dtype" in data:
        kw["dtype"] = w.choice(data["dtype"], "dtype", tuple(DTYPES))
    if "device" in data:
        dev = data["device"]
        try:
            resolve_device(dev) if isinstance(dev, str) else None
        except RuntimeError as exc:
            raise w.fail("device", f"{dev!r} is not a torch device ({exc})") from exc
        if not isinstance(dev, str):
            raise w.fail("device", f"expected a string, got {dev!r}", "auto, cpu, cuda, mps")
        kw["device"] = dev
    kw["apfel"] = {k: data[k] for k in _APFEL_KEYS if k in data}
    return Config(**kw)


def load_config(path: str | Path) -> Config:
    """Read and validate a YAML configuration file (``yaml.safe_load``)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: configuration file not found") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: malformed YAML: {exc}") from exc
    return from_dict(data, source=str(path))
