#!/usr/bin/python3
"""Golden incomplete-beta fractions of Student-t laws for tests/test_student_t_tables.cpp.

For each (nu, q) with q = |z|/sqrt(nu), x = 1/(1+q^2), y = q^2/(1+q^2), prints a C++ initializer
  {nu, q, I_x(nu/2, 1/2), I_y(1/2, nu/2), I_x((nu-2)/2, 3/2), I_y(3/2, (nu-2)/2)}
(the last two only for nu > 2, else 0) from mpmath at 50 digits. nu and q are doubles, printed with
repr() so that C++ reads back exactly the value mpmath used. Run: python3 student_t_fractions.py
"""
import mpmath as mp

mp.mp.dps = 50
NUS = [0.5, 1.0, 1 - 1e-8, 1 + 1e-8, 2.0, 2.5, 3.0, 8.0, 1e6]
# q from the centre to the deep tails (z up to where the tail is ~1e-300 for nu = 1e6, and to
# q ~ 1e8 where the tables end for the heavy-tailed laws).
QS = [1e-9, 3e-5, 0.02, 0.3, 0.7, 1.0, 1.7, 4.0, 30.0, 700.0, 5e4, 2e6, 1e8]
QS_LARGE_NU = [3e-4, 6.7e-4, 1.5e-3, 5e-3, 0.011, 0.02, 0.03, 0.036, 0.0371]


def frac(a, b, t):
    return mp.betainc(a, b, 0, t, regularized=True)


for nu in NUS:
    qs = QS_LARGE_NU if nu > 1000 else QS
    for q in qs:
        n, qq = mp.mpf(nu), mp.mpf(q)
        x = 1 / (1 + qq * qq)
        y = qq * qq / (1 + qq * qq)
        half = mp.mpf(1) / 2
        row = [frac(n / 2, half, x), frac(half, n / 2, y)]
        if nu > 2:
            row += [frac((n - 2) / 2, mp.mpf(3) / 2, x), frac(mp.mpf(3) / 2, (n - 2) / 2, y)]
        else:
            row += [mp.mpf(0), mp.mpf(0)]
        print("    {%r, %r, %s}," % (nu, q, ", ".join(mp.nstr(v, 20, min_fixed=0, max_fixed=0) for v in row)))
