"""Exact first threshold crossing of a CubaLIF trajectory between events (numba kernels).

Between two events the membrane of a CubaLIF neuron relative to its threshold is an
exponential sum ``f(s) = A + B e^{-s/tau_m} + sum_k C_k e^{-s/tau_k}`` with ``f(0) < 0``. The
first ``s > 0`` with ``f(s) >= 0`` is found by rigorous root isolation, never by sampling:
multiplying a sum of ``m`` exponentials by ``e^{lambda_0 s}`` and differentiating gives a sum
of ``m - 1`` exponentials whose zeros (found recursively) split ``(0, inf)`` into intervals on
which the sum is monotone; each sign change is bracketed and solved by safeguarded Newton.
When every rate is an integer multiple (<= 8) of the smallest (e.g. 20 ms / 10 ms / 5 ms),
the same isolation runs on a polynomial in ``x = e^{-rate s}`` (no exponentials inside the
search). The slow twin is the sampling reference in ``tests/naive_event.py``.
"""
from __future__ import annotations

import numpy as np
from numba import njit

ROOT_TOL = 1e-13  # s, absolute tolerance of the crossing time
MAX_POLY_DEG = 8  # largest rate ratio handled by the polynomial fast path


@njit(cache=True, inline="always")
def _g(a, lam, k, m, t):
    """Level-``k`` sum ``G_k(t) = sum_{j>=k} a[k, j] exp(-(lam[j] - lam[k]) t)``."""
    s = 0.0
    for j in range(k, m):
        s += a[k, j] * np.exp(-(lam[j] - lam[k]) * t)
    return s


@njit(cache=True, inline="always")
def _gd(a, lam, k, m, t):
    s = 0.0
    for j in range(k + 1, m):
        s -= (lam[j] - lam[k]) * a[k, j] * np.exp(-(lam[j] - lam[k]) * t)
    return s


@njit(cache=True)
def _limit_sign(a, k, m):
    for j in range(k, m):
        if a[k, j] > 0:
            return 1.0
        if a[k, j] < 0:
            return -1.0
    return 0.0


@njit(cache=True)
def _solve_bracket(a, lam, k, m, lo, hi, glo):
    """Root of the monotone ``G_k`` on ``[lo, hi]`` with a sign change (``glo = G_k(lo)``):
    safeguarded Newton (bisection whenever Newton leaves the bracket)."""
    neg_lo = glo < 0.0
    x = 0.5 * (lo + hi)
    for _ in range(200):
        g = _g(a, lam, k, m, x)
        if g == 0.0:
            return x
        if (g < 0.0) == neg_lo:
            lo = x
        else:
            hi = x
        if hi - lo <= ROOT_TOL:
            break
        d = _gd(a, lam, k, m, x)
        xn = x - g / d if d != 0.0 else 0.5 * (lo + hi)
        if not (lo < xn < hi):
            xn = 0.5 * (lo + hi)
        if abs(xn - x) <= 0.25 * ROOT_TOL:
            x = xn
            break
        x = xn
    # the crossing lies in [lo, hi]; report the upper end (v >= v_th there)
    if hi - lo <= ROOT_TOL:
        return hi
    return x


@njit(cache=True)
def _first_root(coef, lam, m, a, roots, nroots):
    """First ``s > 0`` with ``f(s) = sum_j coef[j] exp(-lam[j] s) >= 0`` given ``f(0) < 0``
    (``lam`` ascending and distinct; ``inf`` if none). Rigorous root isolation: see the
    module docstring. ``a``, ``roots`` (``[m, m]``) and ``nroots`` (``[m]``) are workspace."""
    for j in range(m):
        a[0, j] = coef[j]
    for k in range(m - 1):
        for j in range(k + 1, m):
            a[k + 1, j] = -(lam[j] - lam[k]) * a[k, j]
    nroots[m - 1] = 0
    for k in range(m - 2, -1, -1):
        cnt = 0
        left = 0.0
        gl = _g(a, lam, k, m, 0.0)
        lim = _limit_sign(a, k, m)
        for s in range(nroots[k + 1] + 1):
            if s < nroots[k + 1]:
                right = roots[k + 1, s]
                gr = _g(a, lam, k, m, right)
            else:
                right = np.inf
                gr = lim
            if k == 0:
                # f < 0 on [0, left]; f is monotone on [left, right]
                if right == np.inf:
                    if lim <= 0.0:
                        return np.inf
                    right = _finite_right(a, lam, k, m, left, 1.0)
                    if right < 0:
                        return np.inf
                    return _solve_bracket(a, lam, k, m, left, right, gl)
                if gr == 0.0:
                    return right
                if gr > 0.0:
                    return _solve_bracket(a, lam, k, m, left, right, gl)
            else:
                change = gl != 0.0 and (gr == 0.0 or (gr > 0.0) != (gl > 0.0))
                if change and right == np.inf and gr == 0.0:
                    change = False
                if change:
                    if gr == 0.0:
                        r = right
                    else:
                        if right == np.inf:
                            right = _finite_right(a, lam, k, m, left, gr)
                        if right < 0:
                            r = -1.0
                        else:
                            r = _solve_bracket(a, lam, k, m, left, right, gl)
                    if r >= 0:
                        roots[k, cnt] = r
                        cnt += 1
            if right == np.inf:
                break
            left = right
            gl = gr
        nroots[k] = cnt
    return np.inf


@njit(cache=True)
def _finite_right(a, lam, k, m, left, sign):
    """A finite ``b > left`` where ``G_k(b)`` has the sign ``sign`` of its limit at
    infinity (exists because ``G_k`` is monotone on ``(left, inf)``); -1 if not found."""
    rate = np.inf
    for j in range(k + 1, m):
        r = lam[j] - lam[k]
        if r > 0 and r < rate:
            rate = r
    step = 1.0 / rate if rate < np.inf else 1.0
    b = left + step
    for _ in range(200):
        g = _g(a, lam, k, m, b)
        if (g > 0.0 and sign > 0) or (g < 0.0 and sign < 0):
            return b
        step *= 2.0
        b = left + step
    return -1.0


@njit(cache=True)
def cuba_first_crossing(f0_const, bmem, taum, c, taus, nports, coef, lam, a, roots, nroots):
    """Exact first crossing time (s from now) of
    ``f(s) = f0_const + bmem e^{-s/taum} + sum_k c[k] e^{-s/taus[k]}`` (``f(0) < 0``), or inf."""
    # terms sorted by rate, equal rates merged
    coef[0] = f0_const
    lam[0] = 0.0
    m = np.int64(1)
    for t in range(nports + 1):
        if t == nports:
            cc = bmem
            rr = 1.0 / taum
        else:
            cc = c[t]
            rr = 1.0 / taus[t]
        if cc == 0.0:
            continue
        # insertion
        pos = m
        merged = False
        for j in range(m):
            if lam[j] == rr:
                coef[j] += cc
                merged = True
                break
            if lam[j] > rr:
                pos = j
                break
        if merged:
            continue
        for j in range(m, pos, -1):
            coef[j] = coef[j - 1]
            lam[j] = lam[j - 1]
        coef[pos] = cc
        lam[pos] = rr
        m += 1
    if m == 1:
        return np.inf if f0_const < 0 else 0.0
    return _first_root(coef, lam, m, a, roots, nroots)


# ------------------------------------------------------------------------- commensurate fast path
@njit(cache=True, inline="always")
def _peval(dc, k, deg, x):
    """``p^{(k)}(x)`` by Horner on the derivative coefficients ``dc[k, :deg - k + 1]``."""
    s = 0.0
    for i in range(deg - k, -1, -1):
        s = s * x + dc[k, i]
    return s


@njit(cache=True)
def _psolve(dc, k, deg, lo, hi, plo):
    """Root of the monotone ``p^{(k)}`` on ``[lo, hi]`` (sign change; ``plo = p^{(k)}(lo)``);
    safeguarded Newton to a relative tolerance of 1e-13 in x."""
    neg_lo = plo < 0.0
    x = 0.5 * (lo + hi)
    for _ in range(200):
        g = _peval(dc, k, deg, x)
        if g == 0.0:
            return x
        if (g < 0.0) == neg_lo:
            lo = x
        else:
            hi = x
        if hi - lo <= 1e-13 * hi:
            return 0.5 * (lo + hi)
        d = _peval(dc, k + 1, deg, x)
        xn = x - g / d if d != 0.0 else 0.5 * (lo + hi)
        if not (lo < xn < hi):
            xn = 0.5 * (lo + hi)
        if abs(xn - x) <= 1e-14 * x:
            return xn
        x = xn
    return x


@njit(cache=True)
def poly_first_crossing(coef, deg, rate, dc, roots, nroots):
    """First ``s > 0`` with ``f(s) >= 0`` for ``f(s) = p(e^{-rate s})``,
    ``p(x) = sum_i coef[i] x^i`` (degree ``deg``), given ``p(1) = f(0) < 0``; ``inf`` if none.

    Used when every rate of the CubaLIF exponential sum is an integer multiple of ``rate``
    (e.g. tau_mem 20 ms, tau_syn 5 and 10 ms): the same rigorous isolation as
    :func:`_first_root`, on a polynomial over ``x in (0, 1)`` (later times are smaller x), so
    no exponential is evaluated inside the search.
    """
    for i in range(deg + 1):
        dc[0, i] = coef[i]
    for k in range(deg):
        for i in range(deg - k):
            dc[k + 1, i] = (i + 1) * dc[k, i + 1]
    nroots[deg] = 0
    for k in range(deg - 1, -1, -1):
        cnt = 0
        hi = 1.0
        ghi = _peval(dc, k, deg, 1.0)
        for s in range(nroots[k + 1] + 1):
            lo = roots[k + 1, s] if s < nroots[k + 1] else 0.0
            glo = _peval(dc, k, deg, lo)
            if k == 0:
                # p < 0 on [hi, 1]; p is monotone on [lo, hi]
                if glo >= 0.0:
                    if glo == 0.0 and lo > 0.0:
                        x = lo
                    elif glo == 0.0:
                        return np.inf
                    else:
                        x = _psolve(dc, np.int64(0), deg, lo, hi, glo)
                    if x <= 0.0:
                        return np.inf
                    return -np.log(x) / rate
            else:
                if ghi != 0.0 and (glo == 0.0 or (glo > 0.0) != (ghi > 0.0)):
                    if glo == 0.0:
                        r = lo
                    else:
                        r = _psolve(dc, k, deg, lo, hi, glo)
                    if r > 0.0:
                        roots[k, cnt] = r
                        cnt += 1
            hi = lo
            ghi = glo
        nroots[k] = cnt
    return np.inf
