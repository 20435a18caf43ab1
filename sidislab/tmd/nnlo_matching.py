r"""Two-loop (NNLO) matching coefficients of quark TMD PDFs and FFs, as APFEL++ uses them.

The exact coefficients (harmonic polylogarithms) are: TMD PDFs, Gehrmann, Lübbert, Yang
arXiv:1403.6451 (eqs. 2.8–2.11 and App. A) and Echevarria, Scimemi, Vladimirov
arXiv:1511.05590 (eqs. 6.8–6.11); TMD FFs, Echevarria, Scimemi, Vladimirov arXiv:1604.07869
(eqs. 6.9–6.12). APFEL++ replaces their regular parts by accurate parametrisations in
x^i ln^j x and (1 − x)^m ln^k(1 − x); those parametrisations define the reference numbers,
and the functions below are them, term by term (vbertone/apfelxx ``src/tmds/matchingfunctionspdf.cc``
``C2nsppdf``, ``C2nsmpdf``, ``C2pspdf``, ``C2qgpdf`` and ``matchingfunctionsff.cc``
``C2nspff``, ``C2nsmff``, ``C2psff``, ``C2qgff``, ``Regular``; physics.md §5.3 and Appendix A
tabulate the same expansions).

Normalisation: a_s = α_s/(4π), μ = μ0, ζ = μ0² (C_i = 1), n_f = n_f(μ0). Argument ``x`` is the
convolution variable (y in :mod:`sidislab.tmd.matching`). In APFEL++'s evolution basis
the NS± functions act on q^± = d_q ± d_q̄, PS and QG are the contributions to q⁺ from Σ
and from the gluon, so per flavour (physics.md §5.1)

    T_q^{(2)} = ½ C_NS+ ⊗ q⁺ ± ½ C_NS− ⊗ q⁻ + ½ C_PS ⊗ Σ + ½ C_QG ⊗ g    (+ for q, − for q̄).

NS± also carry the plus distribution A2/(1 − x)_+ and the δ(1 − x) coefficient A1 (same
for NS+ and NS−, PDFs and FFs): :func:`a1_ns`, :func:`a2_ns`. For FFs the inputs are z·D
and "QG" is the quark TMD FF from the gluon's collinear FF.
"""

from __future__ import annotations

import numpy as np

from sidislab.constants import CA, CF, TR, ZETA3

__all__ = ["REGULAR", "a1_ns", "a2_ns"]


def a2_ns(nf: int | np.ndarray) -> np.ndarray | float:
    """Coefficient of the plus distribution [1/(1 − x)]_+ in C_NS± at two loops.

    A2 = C_F d10 = C_F [C_A(28ζ3 − 808/27) + 224 T_R n_f/27] = 14.9266694501708 + 5.5308641975 n_f
    (physics.md §5.3; APFEL++ ``_A2``; the cusp-like term of arXiv:1403.6451 eq. 2.8).
    """
    return CF * (CA * (28.0 * ZETA3 - 808.0 / 27.0) + 224.0 * TR * nf / 27.0)


def a1_ns(nf: int | np.ndarray) -> np.ndarray | float:
    """δ(1 − x) coefficient of C_NS± at two loops (APFEL++ ``Local``: A1).

    A1 = −30.608535416484305 + 3.4489756184793317 n_f (physics.md §5.3).
    """
    return -30.608535416484305 + 3.4489756184793317 * nf


def _powers(x: np.ndarray) -> dict[str, np.ndarray]:
    lx = np.log(x)
    xb = 1.0 - x
    with np.errstate(divide="ignore"):
        l1x = np.log1p(-x)
    return {
        "x2": x**2,
        "x3": x**3,
        "x4": x**4,
        "x5": x**5,
        "x6": x**6,
        "xb": xb,
        "xb2": xb**2,
        "xb3": xb**3,
        "lx": lx,
        "lx2": lx**2,
        "lx3": lx**3,
        "l1x": l1x,
        "l1x2": l1x**2,
        "l1x3": l1x**3,
    }


def c2_nsp_pdf(x: np.ndarray, nf: int | np.ndarray = 0) -> np.ndarray:
    """Regular part of the two-loop NS+ matching coefficient, non-singlet plus (acts on q⁺ = q + q̄), TMD PDF.

    APFEL++ ``C2nsppdf::Regular`` (``src/tmds/matchingfunctionspdf.cc``), a_s² units; n_f-dependent.
    """
    p = _powers(np.asarray(x, dtype=np.float64))
    x2, x3, x4, x5 = p["x2"], p["x3"], p["x4"], p["x5"]
    xb, xb2, xb3 = p["xb"], p["xb2"], p["xb3"]
    lx, lx2, lx3 = p["lx"], p["lx2"], p["lx3"]
    l1x, l1x2 = p["l1x"], p["l1x2"]
    return (
        -19.494730826894184
        - 62.81419860616683 * x4
        + 1.7405099860076958 * x5
        + 22.22222222222222 * l1x
        - 7.111111111111111 * l1x2
        + xb2 * (13.462820431270275 * l1x - 2.3772574819401444 * l1x2)
        + xb3 * (3.1972624798711755 * l1x - 1.3263511167688924 * l1x2)
        + xb * (-0.10514391308130917 - 17.77777777777778 * l1x + 3.5555555555555554 * l1x2)
        - 9.333333333333332 * lx
        - 2.0 * lx2
        - 0.5925925925925926 * lx3
        + x2
        * (
            63.36166396971877
            - 1.857655468080786 * lx
            - 12.803702472061493 * lx2
            - 2.496058052317927 * lx3
        )
        + x
        * (
            8.285558269193738
            - 16.88888888888889 * lx
            - 10.666666666666666 * lx2
            - 0.2962962962962963 * lx3
        )
        - 2
        * x3
        * (
            -3.6040303008016474
            + 1.215623396613648 * lx
            - 0.14346862340441793 * lx2
            - 0.0170296134428453 * lx3
        )
        - 2
        * x2
        * (
            3.5704568978264084
            + 5.654771516227999 * lx
            - 1.773058773058773 * lx2
            + 0.00030671710459053266 * lx3
        )
        + x
        * (
            7.993737974147562
            - 6.666666666666666 * lx
            - 1.5555555555555554 * lx2
            + 0.2962962962962963 * lx3
        )
        - 2
        * x
        * (
            0.5603571563984158
            - 5.333333333333333 * lx
            - 0.6666666666666666 * lx2
            + 0.4444444444444444 * lx3
        )
        + x2
        * (
            537.483652803029
            + 213.40596468377385 * lx
            + 27.80137308718255 * lx2
            + 1.7401934484961763 * lx3
        )
        + x3
        * (
            -52.22838795753341
            + 61.37866450247033 * lx
            - 18.786707737231765 * lx2
            + 3.4789361919552912 * lx3
        )
        + x3
        * (
            -482.71622869222256
            + 392.525592453522 * lx
            - 68.67155311692338 * lx2
            + 23.858585392707216 * lx3
        )
        + nf
        * (
            -7.901234509190568
            + 4.246913580246914 * xb
            - 0.24639893160354862 * x4
            + 0.017839871037076842 * x5
            + 1.4814814814814814 * lx
            + 0.4444444444444444 * lx2
            + x3 * (-4.392485119047619 + 1.9203081586259156 * lx - 0.053204192649595326 * lx2)
            + x * (2.369908065922464 + 1.4814814814814814 * lx + 0.4444444444444444 * lx2)
            + x2 * (1.658543476725295 + 3.503592902185071 * lx + 0.9395466949666464 * lx2)
        )
    )


def c2_nsm_pdf(x: np.ndarray, nf: int | np.ndarray = 0) -> np.ndarray:
    """Regular part of the two-loop NS− matching coefficient, non-singlet minus (acts on q⁻ = q − q̄ and the valence), TMD PDF.

    APFEL++ ``C2nsmpdf::Regular`` (``src/tmds/matchingfunctionspdf.cc``), a_s² units; n_f-dependent.
    """
    p = _powers(np.asarray(x, dtype=np.float64))
    x2, x3, x4, x5 = p["x2"], p["x3"], p["x4"], p["x5"]
    xb, xb2, xb3 = p["xb"], p["xb2"], p["xb3"]
    lx, lx2, lx3 = p["lx"], p["lx2"], p["lx3"]
    l1x, l1x2 = p["l1x"], p["l1x2"]
    return (
        -12.797388467871125
        + 58.29639762491133 * x4
        - 1.598671897089315 * x5
        + 22.22222222222222 * l1x
        - 7.111111111111111 * l1x2
        + xb2 * (13.462820431270275 * l1x - 2.3772574819401444 * l1x2)
        + xb3 * (3.1972624798711755 * l1x - 1.3263511167688924 * l1x2)
        + xb * (-0.10514391308130917 - 17.77777777777778 * l1x + 3.5555555555555554 * l1x2)
        - 6.666666666666667 * lx
        - 2.0 * lx2
        - 0.8888888888888888 * lx3
        + x2
        * (
            63.36166396971877
            - 1.857655468080786 * lx
            - 12.803702472061493 * lx2
            - 2.496058052317927 * lx3
        )
        + x
        * (
            8.285558269193738
            - 16.88888888888889 * lx
            - 10.666666666666666 * lx2
            - 0.2962962962962963 * lx3
        )
        - x
        * (
            7.993737974147562
            - 6.666666666666666 * lx
            - 1.5555555555555554 * lx2
            + 0.2962962962962963 * lx3
        )
        - x2
        * (
            537.483652803029
            + 213.40596468377385 * lx
            + 27.80137308718255 * lx2
            + 1.7401934484961763 * lx3
        )
        + x3
        * (
            -52.22838795753341
            + 61.37866450247033 * lx
            - 18.786707737231765 * lx2
            + 3.4789361919552912 * lx3
        )
        - x3
        * (
            -482.71622869222256
            + 392.525592453522 * lx
            - 68.67155311692338 * lx2
            + 23.858585392707216 * lx3
        )
        + nf
        * (
            -7.901234509190568
            + 4.246913580246914 * xb
            - 0.24639893160354862 * x4
            + 0.017839871037076842 * x5
            + 1.4814814814814814 * lx
            + 0.4444444444444444 * lx2
            + x3 * (-4.392485119047619 + 1.9203081586259156 * lx - 0.053204192649595326 * lx2)
            + x * (2.369908065922464 + 1.4814814814814814 * lx + 0.4444444444444444 * lx2)
            + x2 * (1.658543476725295 + 3.503592902185071 * lx + 0.9395466949666464 * lx2)
        )
    )


def c2_ps_pdf(x: np.ndarray, nf: int | np.ndarray = 0) -> np.ndarray:
    """Regular part of the two-loop PS matching coefficient, pure singlet (acts on Σ), TMD PDF.

    APFEL++ ``C2pspdf::Regular`` (``src/tmds/matchingfunctionspdf.cc``), a_s² units; no n_f dependence (``nf`` ignored).
    """
    p = _powers(np.asarray(x, dtype=np.float64))
    x2, x3, x4, x5 = p["x2"], p["x3"], p["x4"], p["x5"]
    lx, lx2, lx3 = p["lx"], p["lx2"], p["lx3"]
    return (
        -6.454036620285585
        + 5.290345401178045 / x
        + 0.1127566475934029 * x4
        - 0.0026328780648346224 * x5
        + 5.333333333333333 * lx
        - 1.3333333333333333 * lx2
        + 0.8888888888888888 * lx3
        + 2
        * x3
        * (
            -3.6040303008016474
            + 1.215623396613648 * lx
            - 0.14346862340441793 * lx2
            - 0.0170296134428453 * lx3
        )
        + 2
        * x2
        * (
            3.5704568978264084
            + 5.654771516227999 * lx
            - 1.773058773058773 * lx2
            + 0.00030671710459053266 * lx3
        )
        + 2
        * x
        * (
            0.5603571563984158
            - 5.333333333333333 * lx
            - 0.6666666666666666 * lx2
            + 0.4444444444444444 * lx3
        )
    )


def c2_qg_pdf(x: np.ndarray, nf: int | np.ndarray = 0) -> np.ndarray:
    """Regular part of the two-loop QG matching coefficient, gluon channel (acts on the gluon), TMD PDF.

    APFEL++ ``C2qgpdf::Regular`` (``src/tmds/matchingfunctionspdf.cc``), a_s² units; no n_f dependence (``nf`` ignored).
    """
    p = _powers(np.asarray(x, dtype=np.float64))
    x2, x3, x4, x5 = p["x2"], p["x3"], p["x4"], p["x5"]
    xb, xb2, xb3 = p["xb"], p["xb2"], p["xb3"]
    lx, lx2, lx3 = p["lx"], p["lx2"], p["lx3"]
    l1x, l1x2, l1x3 = p["l1x"], p["l1x2"], p["l1x3"]
    return 2 * (
        -52.398221645596344
        + 5.9516385763253 / x
        - 16.769336143308745 * x4
        + 4.082696945337621 * x5
        - 1.6666666666666667 * l1x
        + 0.5555555555555556 * l1x3
        + xb3 * (-54.8176444640494 * l1x + 2.5205581395348835 * l1x2 - 2.916343891402715 * l1x3)
        + xb
        * (58.909159327066284 + 5.0 * l1x - 4.666666666666667 * l1x2 - 1.1111111111111112 * l1x3)
        + xb2 * (-15.064441915693648 * l1x + 2.7222338715314183 * l1x2 + 0.9826539787202158 * l1x3)
        + 11.333333333333334 * lx
        - 1.1666666666666667 * lx2
        + 0.7777777777777778 * lx3
        + x2
        * (
            204.80522133400248
            - 24.73187968628803 * lx
            - 20.465598027127005 * lx2
            - 1.0086275130599969 * lx3
        )
        + x3
        * (
            -103.13731364576645
            + 21.54247493927264 * lx
            + 15.293497059840886 * lx2
            - 0.5403004572175049 * lx3
        )
        + x
        * (
            -58.00615151163759
            + 6.666666666666667 * lx
            + 11.666666666666666 * lx2
            + 2.4444444444444446 * lx3
        )
    )


def c2_nsp_ff(x: np.ndarray, nf: int | np.ndarray = 0) -> np.ndarray:
    """Regular part of the two-loop NS+ matching coefficient, non-singlet plus (acts on q⁺ = q + q̄), TMD FF.

    APFEL++ ``C2nspff::Regular`` (``src/tmds/matchingfunctionsff.cc``), a_s² units; n_f-dependent.
    """
    p = _powers(np.asarray(x, dtype=np.float64))
    x2, x3, x4, x5, x6 = p["x2"], p["x3"], p["x4"], p["x5"], p["x6"]
    xb, xb2, xb3 = p["xb"], p["xb2"], p["xb3"]
    lx, lx2, lx3 = p["lx"], p["lx2"], p["lx3"]
    l1x, l1x2 = p["l1x"], p["l1x2"]
    return (
        -278.76103071035743
        - 190.05882524475678 * x4
        + 11.617146543668797 * x5
        - 0.48110164975818703 * x6
        - 22.22222222222222 * l1x
        + 7.111111111111111 * l1x2
        + xb * (141.04140553909332 + 47.111111111111114 * l1x - 3.5555555555555554 * l1x2)
        + xb3 * (3.9346330275229358 * l1x - 0.7608247422680412 * l1x2)
        + xb2 * (-12.865738999623918 * l1x + 2.426546391752577 * l1x2)
        + 55.4263247294437 * lx
        - 18.000000000000007 * lx2
        - 6.518518518518519 * lx3
        + x2
        * (
            56.065623348965666
            - 30.13516702067784 * lx
            - 7.172955974842767 * lx2
            - 22.931769722814497 * lx3
        )
        + x3
        * (
            -156.05371972800287
            + 15.715759007631444 * lx
            - 52.68176100628931 * lx2
            - 9.239558707643814 * lx3
        )
        + x2
        * (
            657.2565997888067
            + 236.1380281690141 * lx
            + 20.77998017839445 * lx2
            - 1.253121452894438 * lx3
        )
        + x
        * (
            187.80684212073498
            - 153.01811971500075 * lx
            - 1.3333333333333333 * lx2
            - 0.2962962962962963 * lx3
        )
        - 2
        * x2
        * (
            11.416978776529339
            - 5.589016829052259 * lx
            - 5.3288241415192505 * lx2
            + 0.000177367860943597 * lx3
        )
        - 2
        * x3
        * (
            3.4597249508840866
            - 1.0824053452115814 * lx
            + 0.12507896399241947 * lx2
            + 0.024505183788878417 * lx3
        )
        - 2
        * x
        * (
            34.10631502319054
            - 18.666666666666668 * lx
            - 7.333333333333333 * lx2
            + 4.888888888888889 * lx3
        )
        + x * (53.07484324195591 - 20.0 * lx - 6.444444444444445 * lx2 + 6.222222222222222 * lx3)
        + x3
        * (
            -386.1741472172352
            + 663.353947368421 * lx
            - 13.659211927582534 * lx2
            + 47.87750556792873 * lx3
        )
        + nf
        * (
            -1.9753086419753085
            - 1.6790123456790123 * xb
            - 1.1642728904847397 * x4
            + 0.10468594217347957 * x5
            - 0.009333333333333334 * x6
            - 8.0 * lx
            + 0.4444444444444444 * lx2
            + x * (-3.555559830375158 - 0.8888888888888888 * lx + 0.4444444444444444 * lx2)
            + x2 * (-0.4012345679012346 - 8.9925705794948 * lx + 0.8817787418655098 * lx2)
            + x3 * (10.359047619047619 - 4.647992530345472 * lx + 1.703971119133574 * lx2)
        )
    )


def c2_nsm_ff(x: np.ndarray, nf: int | np.ndarray = 0) -> np.ndarray:
    """Regular part of the two-loop NS− matching coefficient, non-singlet minus (acts on q⁻ = q − q̄ and the valence), TMD FF.

    APFEL++ ``C2nsmff::Regular`` (``src/tmds/matchingfunctionsff.cc``), a_s² units; n_f-dependent.
    """
    p = _powers(np.asarray(x, dtype=np.float64))
    x2, x3, x4, x5, x6 = p["x2"], p["x3"], p["x4"], p["x5"], p["x6"]
    xb, xb2, xb3 = p["xb"], p["xb2"], p["xb3"]
    lx, lx2, lx3 = p["lx"], p["lx2"], p["lx3"]
    l1x, l1x2 = p["l1x"], p["l1x2"]
    return (
        -256.09239999688725
        + 375.93360231139445 * x4
        - 29.662873954228793 * x5
        + 2.4864127231800848 * x6
        - 22.22222222222222 * l1x
        + 7.111111111111111 * l1x2
        + xb * (141.04140553909332 + 47.111111111111114 * l1x - 3.5555555555555554 * l1x2)
        + xb3 * (3.9346330275229358 * l1x - 0.7608247422680412 * l1x2)
        + xb2 * (-12.865738999623918 * l1x + 2.426546391752577 * l1x2)
        + 72.31521361833259 * lx
        - 10.88888888888889 * lx2
        - 3.8518518518518516 * lx3
        + x2
        * (
            56.065623348965666
            - 30.13516702067784 * lx
            - 7.172955974842767 * lx2
            - 22.931769722814497 * lx3
        )
        + x3
        * (
            -156.05371972800287
            + 15.715759007631444 * lx
            - 52.68176100628931 * lx2
            - 9.239558707643814 * lx3
        )
        - x2
        * (
            657.2565997888067
            + 236.1380281690141 * lx
            + 20.77998017839445 * lx2
            - 1.253121452894438 * lx3
        )
        + x
        * (
            187.80684212073498
            - 153.01811971500075 * lx
            - 1.3333333333333333 * lx2
            - 0.2962962962962963 * lx3
        )
        - x * (53.07484324195591 - 20.0 * lx - 6.444444444444445 * lx2 + 6.222222222222222 * lx3)
        - x3
        * (
            -386.1741472172352
            + 663.353947368421 * lx
            - 13.659211927582534 * lx2
            + 47.87750556792873 * lx3
        )
        + nf
        * (
            -1.9753086419753085
            - 1.6790123456790123 * xb
            - 1.1642728904847397 * x4
            + 0.10468594217347957 * x5
            - 0.009333333333333334 * x6
            - 8.0 * lx
            + 0.4444444444444444 * lx2
            + x * (-3.555559830375158 - 0.8888888888888888 * lx + 0.4444444444444444 * lx2)
            + x2 * (-0.4012345679012346 - 8.9925705794948 * lx + 0.8817787418655098 * lx2)
            + x3 * (10.359047619047619 - 4.647992530345472 * lx + 1.703971119133574 * lx2)
        )
    )


def c2_ps_ff(x: np.ndarray, nf: int | np.ndarray = 0) -> np.ndarray:
    """Regular part of the two-loop PS matching coefficient, pure singlet (acts on Σ), TMD FF.

    APFEL++ ``C2psff::Regular`` (``src/tmds/matchingfunctionsff.cc``), a_s² units; no n_f dependence (``nf`` ignored).
    """
    p = _powers(np.asarray(x, dtype=np.float64))
    x2, x3, x4, x5, x6 = p["x2"], p["x3"], p["x4"], p["x5"], p["x6"]
    lx, lx2, lx3 = p["lx"], p["lx2"], p["lx3"]
    return (
        -94.87929671304775
        - 0.17378497790868924 * x4
        + 0.0074487895716946 * x5
        - 0.000427715996578272 * x6
        - 96.0 * lx
        - 14.666666666666666 * lx2
        + 9.777777777777779 * lx3
        + (2 * (-1.4599875154038369 + 3.5555555555555554 * lx + 7.111111111111111 * lx2)) / x
        + 2
        * x2
        * (
            11.416978776529339
            - 5.589016829052259 * lx
            - 5.3288241415192505 * lx2
            + 0.000177367860943597 * lx3
        )
        + 2
        * x3
        * (
            3.4597249508840866
            - 1.0824053452115814 * lx
            + 0.12507896399241947 * lx2
            + 0.024505183788878417 * lx3
        )
        + 2
        * x
        * (
            34.10631502319054
            - 18.666666666666668 * lx
            - 7.333333333333333 * lx2
            + 4.888888888888889 * lx3
        )
    )


def c2_qg_ff(x: np.ndarray, nf: int | np.ndarray = 0) -> np.ndarray:
    """Regular part of the two-loop QG matching coefficient, gluon channel (acts on the gluon), TMD FF.

    APFEL++ ``C2qgff::Regular`` (``src/tmds/matchingfunctionsff.cc``), a_s² units; no n_f dependence (``nf`` ignored).
    """
    p = _powers(np.asarray(x, dtype=np.float64))
    x2, x3, x4, x5, x6 = p["x2"], p["x3"], p["x4"], p["x5"], p["x6"]
    xb, xb2, xb3 = p["xb"], p["xb2"], p["xb3"]
    lx, lx2, lx3 = p["lx"], p["lx2"], p["lx3"]
    l1x, l1x2, l1x3 = p["l1x"], p["l1x2"], p["l1x3"]
    return 2 * (
        1290.4934065822974
        + 53.05125148986889 * x4
        - 3.6024653312788906 * x5
        - 0.587737843551797 * x6
        - 48.30935289373048 * l1x
        - 4.444444444444445 * l1x2
        + 1.4814814814814814 * l1x3
        + xb3 * (-86.93528505392912 * l1x + 37.6297520661157 * l1x2 - 3.840566037735849 * l1x3)
        + xb
        * (
            -441.62535053517735
            - 33.19824178261937 * l1x
            + 21.333333333333332 * l1x2
            + 1.4814814814814814 * l1x3
        )
        + xb2 * (-66.36817653890824 * l1x + 23.107591754650578 * l1x2 + 2.869815668202765 * l1x3)
        + 381.3333333333333 * lx
        + 21.333333333333332 * lx2
        - 45.629629629629626 * lx3
        + (
            -152.7222196816283
            + 133.33333333333337 * lx
            - 282.6666666666667 * lx2
            - 106.66666666666667 * lx3
        )
        / x
        + x
        * (
            -1490.8212970756279
            + 139.55555555555554 * lx
            + 84.88888888888889 * lx2
            - 89.18518518518519 * lx3
        )
        + x3
        * (
            15.196861626248216
            - 110.80171184022825 * lx
            - 22.529929577464788 * lx2
            - 5.923846153846154 * lx3
        )
        + x2
        * (
            304.1022632020117
            - 67.32855680655067 * lx
            - 5.704938271604938 * lx2
            - 0.2122492080253432 * lx3
        )
    )


REGULAR = {
    ("pdf", "nsp"): c2_nsp_pdf,
    ("pdf", "nsm"): c2_nsm_pdf,
    ("pdf", "ps"): c2_ps_pdf,
    ("pdf", "qg"): c2_qg_pdf,
    ("ff", "nsp"): c2_nsp_ff,
    ("ff", "nsm"): c2_nsm_ff,
    ("ff", "ps"): c2_ps_ff,
    ("ff", "qg"): c2_qg_ff,
}
"""(kind, channel) → regular part; channel ∈ nsp, nsm, ps, qg."""
