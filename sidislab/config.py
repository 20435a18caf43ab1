"""The physics and numerics configuration, read from YAML.

Accepts the keys of the old reference code's ``config.yaml`` (quantom-collab/tmd,
``map/inputs/config.yaml``)::

    PerturbativeOrder: 1            # 0 LL, 1 NLL, 2 NNLL, 3 N3LL (negative: primed orders)
    pdfset: {name: ..., member: 0}
    ffset:  {name: ..., member: 0}
    TMDscales: {Ci: 1.0, Cf: 1.0}
    alphaem: {aref: 0.0072973525693, Qref: 91.1876, run: true, thresholds: physical}
    qToQcut: 0.5
    bgrid: {b_min: 0.01, b_max: 2.0, Nb: 256}

and APFEL++ tabulation keys (``xgridpdf``, ``xgridff``, ``Qgrid``, ``xbgrid``, ``zgrid``),
kept verbatim for the ``apfel`` provider. sidislab's own keys::

    bgrid: {name: default}  |  {b_min, b_max, Nb, spacing: log|linear}
    integrator: {method: ogata|trapezoid|simpson, tol: 1e-10, h: null, n_nodes: null,
                 adaptive: false}   # adaptive: per-point b-grids (trapezoid/simpson)
    luminosity: {provider: native|apfel|analytic, cache_dir: ~/.cache/sidislab,
                 extrapolation: continuation|freeze|error}
    alphas: ipol | linear-lnq | apfel-tab | rge

The collinear defaults are what an LHAPDF user gets: ``alphas: ipol`` (the PDF set's α_s
table as LHAPDF ``alphasQ`` evaluates it, power law below its first knot),
``extrapolation: continuation`` (LHAPDF's default extrapolator below Q_min) and
``alphaem.thresholds: physical``. The first APFEL++ reference (v1) used
``alphas: linear-lnq``, ``extrapolation: freeze`` and ``alphaem.thresholds: swapped`` (its
AlphaQED call exchanged the quark and lepton thresholds; α_em 1.1–1.5e-3 low). All of
them enter the luminosity cache key.
    dtype: float64 | float32
    device: auto | cpu | cuda | cuda:0 | mps   # must exist on this machine (else an error)
    memory_limit: 8 GiB          # tables/integrands larger than this are refused before
                                 # allocation (default: half the machine's memory)

Every key takes effect or is rejected; a key the chosen method or provider does not use
(``bgrid`` under Ogata, ``integrator.h``/``n_nodes``/``tol`` under trapezoid/Simpson,
APFEL++ grids without the ``apfel`` provider) is reported with a warning naming the file
and the key (:func:`inert_keys`, :func:`method_inert_keys`), so one file can switch methods.
    compute: {dask: local:N | tcp://HOST:PORT | serial}   # where cache builds, replicas
                                                          # and sweeps run (--dask overrides)

Every validation error names the file, the key and the allowed values. Files are read
with :func:`sidislab.yamlio.read_yaml` (safe, YAML 1.2 numbers such as ``1e-10``, duplicate
and non-string keys rejected).
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from sidislab.errors import ConfigError
from sidislab.yamlio import read_yaml

log = logging.getLogger(__name__)

ORDERS = (-2, -1, 0, 1, 2, 3)
INTEGRATORS = ("ogata", "trapezoid", "simpson")
PROVIDERS = ("native", "apfel", "analytic")
DTYPES = {"float64": torch.float64, "float32": torch.float32}
SPACINGS = ("log", "linear", "loglinear")
EXTRAPOLATIONS = ("freeze", "continuation", "error")
ALPHAS_METHODS = ("ipol", "linear-lnq", "apfel-tab", "rge")
ALPHAEM_THRESHOLDS = ("physical", "swapped")
_APFEL_KEYS = ("xgridpdf", "xgridff", "Qgrid", "xbgrid", "zgrid")
_TOP_KEYS = (
    "PerturbativeOrder",
    "pdfset",
    "ffset",
    "TMDscales",
    "alphaem",
    "alphas",
    "qToQcut",
    "bgrid",
    "integrator",
    "luminosity",
    "dtype",
    "device",
    "compute",
    "memory_limit",
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
    adaptive: bool = False  # trapezoid/simpson on per-point grids (sidislab.numerics.adaptive)


@dataclass(frozen=True)
class LuminosityConfig:
    """Which luminosity provider, where its cache lives, how grids are extrapolated."""

    provider: str = "native"
    cache_dir: str = "~/.cache/sidislab"
    extrapolation: str = "continuation"


@dataclass(frozen=True)
class ComputeConfig:
    """Where scale-out work runs (:mod:`sidislab.compute`): ``dask`` is ``local:N``, a
    scheduler address ``tcp://HOST:PORT``, or ``None`` for serial in-process."""

    dask: str | None = None


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
    alphaem_thresholds: str = "physical"
    alphas: str = "ipol"
    qToQcut: float = 0.5
    bgrid: BGridConfig = field(default_factory=BGridConfig)
    integrator: IntegratorConfig = field(default_factory=IntegratorConfig)
    luminosity: LuminosityConfig = field(default_factory=LuminosityConfig)
    dtype: str = "float64"
    device: str = "auto"
    compute: ComputeConfig = field(default_factory=ComputeConfig)
    memory_limit: float | None = None
    """Bytes a table or integrand may take (``memory_limit: 8 GiB``); None: half of this
    machine's memory (:func:`memory_limit_bytes`)."""
    apfel: Mapping[str, Any] = field(default_factory=dict)
    source: str = "<defaults>"
    given: tuple[str, ...] = field(default=(), compare=False)
    """The keys the source gave (dotted: ``bgrid``, ``integrator.h``), for reporting keys
    that the chosen method does not use (:func:`method_inert_keys`)."""

    @property
    def torch_dtype(self) -> torch.dtype:
        return DTYPES[self.dtype]

    @property
    def torch_device(self) -> torch.device:
        return check_device(self.device, f"{self.source}: key 'device'")

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
                "thresholds": d["alphaem_thresholds"],
            },
            "alphas": d["alphas"],
            "qToQcut": d["qToQcut"],
            "bgrid": {k: v for k, v in d["bgrid"].items() if v is not None},
            "integrator": {k: v for k, v in d["integrator"].items() if v is not None},
            "luminosity": d["luminosity"],
            "dtype": d["dtype"],
            **({"memory_limit": d["memory_limit"]} if d["memory_limit"] is not None else {}),
            "device": d["device"],
        }
        if self.compute.dask is not None:
            out["compute"] = {"dask": self.compute.dask}
        out.update(dict(self.apfel))
        return out


def resolve_device(device: str | torch.device) -> torch.device:
    """Turn ``auto`` into the best available device (cuda, then mps, then cpu)."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    return torch.device(device)


def _mps_available() -> bool:
    return bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())


def available_devices() -> tuple[str, ...]:
    """The device strings that exist on this machine (``auto``, ``cpu``, ``cuda:i``, ``mps``)."""
    out = ["auto", "cpu"]
    if torch.cuda.is_available():
        out += ["cuda", *(f"cuda:{i}" for i in range(torch.cuda.device_count()))]
    if _mps_available():
        out.append("mps")
    return tuple(out)


def check_device(device: Any, where: str = "device") -> torch.device:
    """The torch device for ``device`` if it exists on this machine, else a
    :class:`ConfigError` naming ``where``, the value and the devices available here
    (``cuda:7`` on a machine with one GPU or none is an error, never a silent CPU run)."""
    allowed = ", ".join(available_devices())
    if not isinstance(device, (str, torch.device)):
        raise ConfigError(f"{where}: expected a device name, got {device!r} (allowed: {allowed})")
    try:
        dev = resolve_device(device)
    except RuntimeError as exc:
        raise ConfigError(
            f"{where}: {device!r} is not a torch device ({exc}) (allowed: {allowed})"
        ) from None
    if dev.type == "cpu":
        return dev
    if dev.type == "cuda":
        n = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if n and (dev.index is None or dev.index < n):
            return dev
        have = f"{n} CUDA device(s)" if n else "no CUDA device"
        raise ConfigError(
            f"{where}: {str(device)!r} does not exist on this machine ({have}) (allowed: {allowed})"
        )
    if dev.type == "mps" and _mps_available():
        return dev
    raise ConfigError(
        f"{where}: {str(device)!r} is not available on this machine (allowed: {allowed})"
    )


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
    w.unknown(m, "integrator", ("method", "tol", "h", "n_nodes", "adaptive"))
    method = w.choice(m.get("method", "ogata"), "integrator.method", INTEGRATORS)
    tol = w.number(m.get("tol", 1e-10), "integrator.tol", positive=True)
    h = m.get("h")
    if h is not None:
        h = w.number(h, "integrator.h", positive=True)
    n = m.get("n_nodes")
    if n is not None:
        n = int(w.number(n, "integrator.n_nodes", minimum=1, integer=True))
    adaptive = m.get("adaptive", False)
    if not isinstance(adaptive, bool):
        raise w.fail("integrator.adaptive", f"expected true or false, got {adaptive!r}")
    if adaptive and method == "ogata":
        raise w.fail(
            "integrator.adaptive",
            "adaptive b-grids apply to method trapezoid or simpson, not ogata",
        )
    return IntegratorConfig(method=method, tol=tol, h=h, n_nodes=n, adaptive=adaptive)


def _luminosity(w: _Where, value: Any) -> LuminosityConfig:
    if isinstance(value, str):
        value = {"provider": value}
    m = w.mapping(value, "luminosity")
    w.unknown(m, "luminosity", ("provider", "cache_dir", "extrapolation"))
    provider = w.choice(m.get("provider", "native"), "luminosity.provider", PROVIDERS)
    cache_dir = m.get("cache_dir", "~/.cache/sidislab")
    if not isinstance(cache_dir, str) or not cache_dir:
        raise w.fail("luminosity.cache_dir", f"expected a folder path, got {cache_dir!r}")
    extrap = w.choice(
        m.get("extrapolation", "continuation"), "luminosity.extrapolation", EXTRAPOLATIONS
    )
    return LuminosityConfig(provider=provider, cache_dir=cache_dir, extrapolation=extrap)


def _compute(w: _Where, value: Any) -> ComputeConfig:
    from sidislab.compute import parse_dask

    m = w.mapping(value, "compute")
    w.unknown(m, "compute", ("dask",))
    dask = m.get("dask")
    try:
        target = parse_dask(dask, where=f"{w.source}: key 'compute.dask'")
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    return ComputeConfig(dask=None if target is None else str(dask).strip())


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
        w.unknown(m, "alphaem", ("aref", "Qref", "run", "thresholds"))
        if "thresholds" in m:
            kw["alphaem_thresholds"] = w.choice(
                m["thresholds"], "alphaem.thresholds", ALPHAEM_THRESHOLDS
            )
        if "aref" in m:
            kw["alphaem_ref"] = w.number(m["aref"], "alphaem.aref", positive=True)
        if "Qref" in m:
            kw["alphaem_Qref"] = w.number(m["Qref"], "alphaem.Qref", positive=True)
        if "run" in m:
            if not isinstance(m["run"], bool):
                raise w.fail("alphaem.run", f"expected true or false, got {m['run']!r}")
            kw["alphaem_run"] = m["run"]
    if "alphas" in data:
        kw["alphas"] = w.choice(data["alphas"], "alphas", ALPHAS_METHODS)
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
        if not isinstance(dev, str):
            raise w.fail("device", f"expected a string, got {dev!r}", "auto, cpu, cuda, mps")
        check_device(dev, f"{source}: key 'device'")
        kw["device"] = dev
    if "compute" in data:
        kw["compute"] = _compute(w, data["compute"])
    if "memory_limit" in data:
        kw["memory_limit"] = parse_bytes(data["memory_limit"], f"{source}: key 'memory_limit'")
    kw["apfel"] = {k: data[k] for k in _APFEL_KEYS if k in data}
    kw["given"] = tuple(
        [str(k) for k in data]
        + [f"{k}.{sub}" for k in data if isinstance(data[k], Mapping) for sub in data[k]]
    )
    cfg = Config(**kw)
    for key, why in inert_keys(data, cfg):
        log.warning("%s: key '%s' has no effect: %s", source, key, why)
    return cfg


_UNITS = {
    "b": 1,
    "kb": 1e3,
    "mb": 1e6,
    "gb": 1e9,
    "tb": 1e12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}


def parse_bytes(value: Any, where: str = "memory_limit") -> float:
    """A size in bytes from a number or a string such as ``8 GiB``, ``500MB``, ``1e9``."""
    allowed = "a number of bytes or NUMBER UNIT with UNIT in " + ", ".join(
        u.upper().replace("I", "i") for u in _UNITS
    )
    text = value
    if isinstance(value, str):
        import re

        m = re.fullmatch(r"\s*([0-9.eE+-]+)\s*([A-Za-z]*)\s*", value)
        unit = (m.group(2) if m else "").lower() or "b"
        try:
            value = float(m.group(1)) * _UNITS[unit] if m else None
        except (ValueError, KeyError):
            value = None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{where}: {text!r} is not a size ({allowed})")
    if not (math.isfinite(value) and value > 0):
        raise ConfigError(f"{where}: must be a positive size, got {text!r} ({allowed})")
    return float(value)


def format_bytes(n: float) -> str:
    """``1.5 GiB``-style text for a byte count."""
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n:.0f} B"


def memory_limit_bytes(cfg: Config | None = None) -> float:
    """The memory a table or integrand may take: ``cfg.memory_limit``, else
    ``$SIDISLAB_MEMORY_LIMIT``, else half of this machine's physical memory."""
    if cfg is not None and cfg.memory_limit is not None:
        return float(cfg.memory_limit)
    env = os.environ.get("SIDISLAB_MEMORY_LIMIT")
    if env:
        return parse_bytes(env, "environment variable SIDISLAB_MEMORY_LIMIT")
    try:
        return 0.5 * os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return 8.0 * 2**30


def check_memory(
    nbytes: float, what: str, key: str, *, limit: float | None = None, source: str = ""
) -> None:
    """Refuse (:class:`~sidislab.errors.ResourceLimitError`) to build ``what`` when its
    estimated size ``nbytes`` exceeds ``limit`` (default :func:`memory_limit_bytes`),
    naming the estimate, the limit and the ``key`` that drives the size."""
    from sidislab.errors import ResourceLimitError

    limit = memory_limit_bytes(None) if limit is None else float(limit)
    if nbytes > limit:
        where = f"{source}: " if source else ""
        raise ResourceLimitError(
            f"{where}{what} would need about {format_bytes(nbytes)}, above the memory "
            f"limit of {format_bytes(limit)}: reduce {key} (or raise memory_limit in the "
            "configuration, or $SIDISLAB_MEMORY_LIMIT)"
        )


def method_inert_keys(cfg: Config) -> list[tuple[str, str]]:
    """Keys the configuration gave that σ's integrator does not use, with why: ``bgrid``
    under Ogata, ``integrator.tol``/``h``/``n_nodes`` under trapezoid or Simpson."""
    out: list[tuple[str, str]] = []
    method = cfg.integrator.method
    if method == "ogata" and "bgrid" in cfg.given:
        out.append(
            (
                "bgrid",
                "integrator.method is ogata, whose nodes follow from qT and "
                "integrator.tol/h/n_nodes; bgrid sets the trapezoid/simpson grid",
            )
        )
    if method != "ogata" and cfg.integrator.adaptive and "bgrid" in cfg.given:
        out.append(
            (
                "bgrid",
                "integrator.adaptive chooses the nodes per point "
                "(sidislab.numerics.adaptive); bgrid sets the fixed grid",
            )
        )
    if method != "ogata":
        for k in ("tol", "h", "n_nodes"):
            if f"integrator.{k}" in cfg.given:
                out.append(
                    (
                        f"integrator.{k}",
                        f"it sets Ogata's nodes; integrator.method is {method}, whose nodes "
                        "are the bgrid's",
                    )
                )
    return out


def inert_keys(data: Mapping[str, Any], cfg: Config) -> list[tuple[str, str]]:
    """Keys given in ``data`` that the chosen method or provider does not use, with why.

    Policy (README, "Errors"): a key that cannot take effect with the configuration's own
    choices is *reported* (a warning naming the file and the key), not rejected, so that one
    file can be switched between methods by changing ``integrator.method`` or
    ``luminosity.provider`` alone. Unknown keys and bad values are errors. Keys of the
    integrator are reported where σ is built (:func:`method_inert_keys`), since bin-averaged
    multiplicities use the ``bgrid`` whatever the integrator.
    """
    out: list[tuple[str, str]] = []
    provider = cfg.luminosity.provider
    if provider != "apfel":
        for k in _APFEL_KEYS:
            if k in data:
                out.append((k, f"an APFEL++ key; luminosity.provider is {provider}"))
    if provider == "analytic":
        for k in ("PerturbativeOrder", "pdfset", "ffset", "TMDscales", "alphaem", "alphas"):
            if k in data:
                out.append((k, "luminosity.provider is analytic (closed-form toy luminosities)"))
    return out


def load_config(path: str | Path) -> Config:
    """Read and validate a YAML configuration file (:func:`sidislab.yamlio.read_yaml`:
    YAML 1.2 numbers, duplicate or non-string keys rejected with the file and line)."""
    path = Path(path)
    data = read_yaml(path, what="configuration file", error=ConfigError)
    return from_dict(data, source=str(path))
