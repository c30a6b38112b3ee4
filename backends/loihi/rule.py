"""Sum-of-products learning rules for the Loihi learning engine: parsing and validation.

A rule is a string ``"dZ = sum of products"`` with ``Z`` one of ``w`` (weight), ``d``
(delay) or ``t`` (tag) (hardware.md 2.3). Each product is

    [sign] scaling * dependency * factor * factor ...

- the **dependency** is ``x0`` (the product is applied when the pre neuron spiked in the
  epoch), ``y0`` (the post neuron spiked) or ``u<k>``, k = 0..7 (every ``2**k`` epochs,
  unconditionally; one k for the whole rule set);
- the **scaling** is the product of the numeric literals of the term: integers and powers
  of two ``2^e``; it must reduce to ``mantissa * 2**exp`` with ``|mantissa| <= 15`` (4-bit)
  and ``exp`` in -8..7;
- a **factor** is a trace ``x1 x2 y1 y2 y3``, a spike indicator ``x0 y0`` (after the
  dependency), a synaptic variable ``w d t``, the reward ``r0`` (reward spike in the epoch)
  or ``r1`` (signed 8-bit reward trace); optionally with an additive 8-bit constant,
  ``(x1 + C)``, ``(w - C)``; or ``sgn(w + C)`` / ``sgn(d + C)`` / ``sgn(t + C)`` (signs only of
  synaptic variables). At most 4 factors per product [MODEL].

Examples: ``dw = 2^-2*x1*y0 - 2^-2*y1*x0`` (pair STDP),
``dw = 1 * (-2) * x0 * y1 + 1 * 2 * y0 * x1`` (Lava's tutorial form),
``dt = 2^-2*x1*y0 - 2^-2*y1*x0 - 2^-3*u0*t`` with ``dw = 2^-4*u0*t*r1`` (reward-modulated STDP:
the tag is an eligibility trace, r1 the reward trace).

Anything else (an unknown symbol, a float literal, a term without a dependency, a scaling
that needs more than 4 mantissa bits) raises ``ValueError`` naming the term and the limit.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from spikesim.backends.loihi import params as P

TARGETS = ("w", "d", "t")
TRACES = ("x1", "x2", "y1", "y2", "y3")
SYNVARS = ("w", "d", "t")
#: factor variable -> integer id used by the kernel
VAR_IDS = {"x0": 0, "y0": 1, "x1": 2, "x2": 3, "y1": 4, "y2": 5, "y3": 6, "w": 7, "d": 8,
           "t": 9, "r0": 10, "r1": 11, "C": 12}
DEP_IDS = {"x0": 0, "y0": 1, "u": 2}
MAX_FACTORS = 4
_TOKEN = re.compile(r"\s*(?:(\d+\.\d*|\.\d+|\d+)|([A-Za-z_][A-Za-z_0-9]*)|(\S))")


@dataclass(frozen=True)
class Factor:
    """One factor ``var + const`` (or ``sgn(var + const)``; ``var == "C"``: the constant)."""

    var: str
    const: int = 0
    sgn: bool = False


@dataclass(frozen=True)
class Product:
    """One product: ``mant * 2**exp * dependency * factors``."""

    dependency: str          # "x0", "y0" or "u"
    mant: int
    exp: int
    factors: tuple[Factor, ...]
    decimate: int | None = None   # k of u<k>

    def __str__(self) -> str:
        dep = f"u{self.decimate}" if self.dependency == "u" else self.dependency
        fs = []
        for f in self.factors:
            s = f.var if f.var != "C" else str(f.const)
            if f.var != "C" and f.const:
                s = f"({f.var} {'+' if f.const > 0 else '-'} {abs(f.const)})"
            fs.append(f"sgn{s}" if f.sgn and s.startswith("(") else (f"sgn({s})" if f.sgn else s))
        return " * ".join([f"{self.mant}*2^{self.exp}", dep, *fs])


def _err(rule: str, msg: str) -> ValueError:
    return ValueError(f"learning rule {rule!r}: {msg}")


def _tokens(rule: str, text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            break
        num, name, op = m.groups()
        if num is not None:
            if "." in num:
                raise _err(rule, f"float literal {num} is not allowed; write the scaling as "
                                 f"mantissa * 2^exp (e.g. 3 * 2^-4)")
            out.append(("num", num))
        elif name is not None:
            out.append(("name", name))
        else:
            if op not in "+-*^()":
                raise _err(rule, f"unexpected character {op!r}; allowed operators: + - * ^ ( )")
            out.append(("op", op))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, rule: str, tokens):
        self.rule, self.toks, self.i = rule, tokens, 0

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else ("end", "")

    def take(self, kind=None, value=None):
        tok = self.peek()
        if (kind and tok[0] != kind) or (value and tok[1] != value):
            want = value or kind
            raise _err(self.rule, f"expected {want!r} but found {tok[1] or 'the end'!r}")
        self.i += 1
        return tok

    # expr := [+-] term ([+-] term)*
    def terms(self):
        out = []
        sign = 1
        if self.peek() in (("op", "+"), ("op", "-")):
            sign = -1 if self.take()[1] == "-" else 1
        out.append(self.term(sign))
        while self.peek() in (("op", "+"), ("op", "-")):
            sign = -1 if self.take()[1] == "-" else 1
            out.append(self.term(sign))
        if self.peek()[0] != "end":
            raise _err(self.rule, f"unexpected {self.peek()[1]!r}")
        return out

    def term(self, sign):
        items = [self.unary()]
        while self.peek() == ("op", "*"):
            self.take()
            items.append(self.unary())
        scale = Fraction(sign)
        syms = []
        for it in items:
            if isinstance(it, Fraction):
                scale *= it
            else:
                syms.append(it)
        return scale, syms

    def unary(self):
        if self.peek() == ("op", "-"):
            self.take()
            v = self.unary()
            if not isinstance(v, Fraction):
                raise _err(self.rule, "a minus sign may only precede a number inside a product; "
                                      "put it in front of the term")
            return -v
        return self.atom()

    def number(self):
        base = Fraction(int(self.take("num")[1]))
        if self.peek() == ("op", "^"):
            self.take()
            if base != 2:
                raise _err(self.rule, f"only powers of two are allowed, got {base}^...")
            esign = 1
            if self.peek() in (("op", "-"), ("op", "+")):
                esign = -1 if self.take()[1] == "-" else 1
            if self.peek() == ("op", "("):
                self.take()
                if self.peek() in (("op", "-"), ("op", "+")):
                    esign *= -1 if self.take()[1] == "-" else 1
                e = int(self.take("num")[1])
                self.take("op", ")")
            else:
                e = int(self.take("num")[1])
            return Fraction(2) ** (esign * e)
        return base

    def atom(self):
        kind, val = self.peek()
        if kind == "num":
            return self.number()
        if kind == "name":
            self.take()
            if val == "sgn":
                self.take("op", "(")
                f = self.inner()
                self.take("op", ")")
                if not isinstance(f, Factor) or f.var not in SYNVARS:
                    raise _err(self.rule, f"sgn() is only allowed around a synaptic variable "
                                          f"{SYNVARS} (plus a constant)")
                return Factor(f.var, f.const, True)
            return self._symbol(val)
        if (kind, val) == ("op", "("):
            self.take()
            f = self.inner()
            self.take("op", ")")
            return f
        raise _err(self.rule, f"unexpected {val or 'end of rule'!r}")

    def _symbol(self, name):
        if name in ("x0", "y0"):
            return ("dep", name, None)
        m = re.fullmatch(r"u(\d+)", name)
        if m:
            k = int(m.group(1))
            if k > P.DECIMATE_MAX:
                raise _err(self.rule, f"u{k}: the decimation exponent k must be 0..{P.DECIMATE_MAX}")
            return ("dep", "u", k)
        if name in TRACES or name in SYNVARS or name in ("r0", "r1"):
            return Factor(name)
        allowed = "x0 y0 u0..u7 x1 x2 y1 y2 y3 w d t r0 r1 sgn() 2^e"
        raise _err(self.rule, f"unknown symbol {name!r}; allowed symbols: {allowed}")

    def inner(self):
        """Inside parentheses: numbers, or one variable plus/minus a constant."""
        var = None
        const = Fraction(0)
        sign = 1
        first = True
        while True:
            if self.peek() in (("op", "+"), ("op", "-")):
                sign = -1 if self.take()[1] == "-" else 1
            elif not first:
                break
            first = False
            kind, val = self.peek()
            if kind == "num":
                const += sign * self.number()
            elif kind == "name":
                self.take()
                sym = self._symbol(val)
                if isinstance(sym, tuple) and sym[0] == "dep" and sym[1] == "u":
                    raise _err(self.rule, f"the dependency u{sym[2]} cannot be inside parentheses")
                if var is not None:
                    raise _err(self.rule, "only one variable is allowed inside parentheses")
                if sign < 0:
                    raise _err(self.rule, "a variable inside parentheses cannot be negated")
                var = Factor(sym[1]) if isinstance(sym, tuple) else sym
            else:
                raise _err(self.rule, f"unexpected {val or 'end of rule'!r} inside parentheses")
            sign = 1
        if var is None:
            return const
        if const.denominator != 1 or not P.CONST_MIN <= const <= P.CONST_MAX:
            raise _err(self.rule, f"constant {const} in ({var.var} + C) is out of range: C is an "
                                  f"8-bit signed integer {P.CONST_MIN}..{P.CONST_MAX}")
        return Factor(var.var, int(const))


def _scaling(rule: str, value: Fraction, term: str) -> tuple[int, int]:
    """``value`` as ``mant * 2**exp`` with |mant| <= 15 and exp in the 4-bit range."""
    if value == 0:
        return 0, 0
    num, den = value.numerator, value.denominator
    if den & (den - 1):
        raise _err(rule, f"scaling {value} of term {term!r} is not a dyadic number m * 2^e")
    exp = -(den.bit_length() - 1)
    while num % 2 == 0:
        num //= 2
        exp += 1
    while exp > P.SCALE_EXP_MAX and abs(num) * 2 <= P.SCALE_MANT_MAX:
        num *= 2
        exp -= 1
    if abs(num) > P.SCALE_MANT_MAX:
        raise _err(rule, f"scaling {value} of term {term!r} needs mantissa {num}; the 4-bit "
                         f"mantissa allows |m| <= {P.SCALE_MANT_MAX}")
    if not P.SCALE_EXP_MIN <= exp <= P.SCALE_EXP_MAX:
        raise _err(rule, f"scaling {value} of term {term!r} needs exponent {exp}; allowed "
                         f"{P.SCALE_EXP_MIN}..{P.SCALE_EXP_MAX}")
    return num, exp


def _sym_str(s) -> str:
    if isinstance(s, tuple):
        return f"u{s[2]}" if s[1] == "u" else s[1]
    if isinstance(s, Factor):
        body = s.var if not s.const else f"{s.var} {'+' if s.const > 0 else '-'} {abs(s.const)}"
        return f"sgn({body})" if s.sgn else (f"({body})" if s.const else body)
    return str(s)


def parse_rule(rule: str, target: str | None = None) -> tuple[str, tuple[Product, ...]]:
    """Parse ``"dZ = ..."`` (or just the right-hand side when ``target`` is given).

    Returns ``(Z, products)``.

    Example::

        >>> z, ps = parse_rule("dw = 2^-2*x1*y0 - 2^-2*y1*x0")
        >>> z, [str(p) for p in ps]
        ('w', ['1*2^-2 * y0 * x1', '-1*2^-2 * x0 * y1'])
    """
    if not isinstance(rule, str):
        raise TypeError(f"a learning rule must be a string; got {type(rule).__name__}")
    text = rule.strip()
    m = re.fullmatch(r"d\s*([A-Za-z_]\w*)\s*=(.*)", text, flags=re.S)
    if m:
        z, rhs = m.group(1), m.group(2)
        if z not in TARGETS:
            raise _err(rule, f"unknown target d{z}; allowed targets: dw, dd, dt")
        if target is not None and z != target:
            raise _err(rule, f"given as the d{target} rule but its left-hand side is d{z}")
    elif target is not None and "=" not in text:
        z, rhs = target, text
    else:
        raise _err(rule, "expected 'dw = ...', 'dd = ...' or 'dt = ...'")
    if not rhs.strip():
        raise _err(rule, "the right-hand side is empty")
    toks = _tokens(rule, rhs)
    products = []
    for scale, syms in _Parser(rule, toks).terms():
        term = " * ".join(_sym_str(s) for s in syms) or str(scale)
        dep, k, factors = None, None, []
        for s in syms:
            if isinstance(s, tuple):                       # x0, y0, u<k>
                if dep is None:
                    dep, k = s[1], s[2]
                elif s[1] == "u":
                    raise _err(rule, f"term {term!r} has more than one dependency")
                else:
                    factors.append(Factor(s[1]))           # a spike indicator as a factor
            else:
                if isinstance(s, Fraction):
                    scale *= s
                    continue
                factors.append(s)
        if dep is None:
            raise _err(rule, f"term {term!r} has no dependency: each product needs one of "
                             f"x0, y0 or u0..u{P.DECIMATE_MAX}")
        if len(factors) > MAX_FACTORS:
            raise _err(rule, f"term {term!r} has {len(factors)} factors; at most {MAX_FACTORS}")
        mant, exp = _scaling(rule, scale, term)
        if mant == 0:
            continue
        products.append(Product(dep, mant, exp, tuple(factors), k))
    return z, tuple(products)
