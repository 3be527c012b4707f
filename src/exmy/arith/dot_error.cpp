// exmy/arith/dot_error.cpp — the dot-product error model (dot_error.hpp).
#include "exmy/arith/dot_error.hpp"

#include <cfloat>
#include <cmath>
#include <vector>

namespace exmy {
namespace {

// The largest finite value of an accumulator's grid.
double grid_max(const accumulator& a) {
  switch (a.model.precision) {
    case acc_precision::fp64: return HUGE_VAL;
    case acc_precision::fp32: return double(FLT_MAX);
    case acc_precision::format: return a.model.params.maxval;
  }
  return HUGE_VAL;
}

// The value of the lowest set bit of x ≠ 0 (x is a multiple of it); 0 for x = 0.
double lsb(double x) {
  if (x == 0 || !std::isfinite(x)) return 0;
  int e = 0;
  double m = std::frexp(std::fabs(x), &e);  // |x| = m·2^e, m ∈ [0.5, 1)
  int bits = 0;
  while (m != std::floor(m)) {  // at most 53 doublings, each exact
    m *= 2;
    ++bits;
  }
  return std::ldexp(1.0, e - bits);
}

// The variance of rounding v onto grid g (RNE) when v is a multiple of `gran`: 0 on the grid;
// otherwise, with Δ the spacing at v and m = Δ/gran residues, the residue taken uniform over the
// m − 1 non-zero multiples of gran in the cell, each rounded to the nearer end (a tie: Δ/2):
//   E[e² | inexact] = gran²·S(m)/(m − 1),  S(m) = Σ_{j=1}^{m−1} min(j, m − j)²,
// which is Δ²/4 for m = 2 (one bit too many: always a tie) and tends to Δ²/12 (the continuous
// uniform cell) as m grows. A value beyond the grid's largest finite one is counted as an
// overflow instead (saturation is not modelled).
double cell_var(const accumulator& g, double v, double gran, std::int64_t& overflows) {
  if (std::fabs(v) > grid_max(g)) {
    ++overflows;
    return 0;
  }
  if (round_to(g, v) == v) return 0;
  const double d = spacing(g, v);
  const double m = gran > 0 ? std::round(d / gran) : 0;
  if (!(m >= 2) || m > 4096) return d * d / 12.0;
  // S(m) for even m (Δ and gran are powers of two): 2·Σ_{j<m/2} j² + (m/2)².
  const double h = m / 2;
  const double sm = (h - 1) * h * (2 * h - 1) / 3 + h * h;
  return gran * gran * sm / (m - 1);
}

// The granularity of x + y: both are multiples of the smaller of their lowest bits.
double add_gran(double x, double y) {
  const double gx = lsb(x), gy = lsb(y);
  return gx == 0 ? gy : (gy == 0 ? gx : std::min(gx, gy));
}

}  // namespace

dot_error_terms predicted_dot_error(const arithmetic& ar, const multiplier_error& mul,
                                    const float* a, const float* b, std::int64_t n,
                                    std::int64_t stride) {
  dot_error_terms t;
  if (n < 1) return t;
  const accumulator& acc = ar.acc;
  // A rounded multiplier's product grid, as an accumulator of that format (the same RNE rounding).
  accumulator product_grid;
  product_grid.model.precision = acc_precision::format;
  product_grid.model.params = ar.mul.model.product;
  product_grid.model.fast = ar.mul.model.product_fast;

  // 1. The products: the multiplier's error, then each modelled product rounded into A.
  std::vector<double> ph(static_cast<std::size_t>(n));  // R(p̃_k), what the additions see
  double sum = 0, sum_sq = 0;
  for (std::int64_t r = 0; r < n; ++r) {
    const double p = double(a[r]) * double(b[r * stride]);
    sum += p;
    sum_sq += p * p;
    // An exact product is a multiple of lsb(a)·lsb(b); a modelled one of its own lowest bit.
    if (ar.mul.model.kind == multiplier_kind::rounded)
      t.multiplier += cell_var(product_grid, p, lsb(a[r]) * lsb(b[r * stride]), t.overflows);
    const double pm = multiply(ar.mul, a[r], b[r * stride]);
    const double gran = ar.mul.model.kind == multiplier_kind::exact ? lsb(a[r]) * lsb(b[r * stride]) : 0.0;
    t.product_rounding += cell_var(acc, pm, gran, t.overflows);
    ph[std::size_t(r)] = round_to(acc, pm);
  }
  const multiplier_kind kind = ar.mul.model.kind;
  if (kind != multiplier_kind::exact && kind != multiplier_kind::rounded)
    t.multiplier = mul.mean * mul.mean * sum * sum + mul.variance() * sum_sq;

  // 2. The additions, on the modelled path: which ones are inexact and where (their sizes come
  //    from the uniform-cell model, not from the computed values).
  switch (acc.model.order) {
    case sum_order::sequential: {
      double s = ph[0];
      for (std::int64_t r = 1; r < n; ++r) {
        const double v = s + ph[std::size_t(r)];
        t.sum_rounding += cell_var(acc, v, add_gran(s, ph[std::size_t(r)]), t.overflows);
        s = round_to(acc, v);
      }
      break;
    }
    case sum_order::pairwise:
      // The same tree as the summation (arith_core.hpp).
      pairwise_reduce(
          n, [&](std::int64_t r) { return ph[std::size_t(r)]; },
          [&](double l, double r) {
            t.sum_rounding += cell_var(acc, l + r, add_gran(l, r), t.overflows);
            return round_to(acc, l + r);
          });
      break;
    case sum_order::blocked: {
      accumulator fp32;
      fp32.model.precision = acc_precision::fp32;
      double total = 0;
      for (std::int64_t b0 = 0; b0 < n; b0 += acc.model.block) {
        const std::int64_t b1 = std::min(n, b0 + acc.model.block);
        double s = ph[std::size_t(b0)];
        for (std::int64_t r = b0 + 1; r < b1; ++r) {
          const double v = s + ph[std::size_t(r)];
          t.sum_rounding += cell_var(acc, v, add_gran(s, ph[std::size_t(r)]), t.overflows);
          s = round_to(acc, v);
        }
        // The block sum converted to fp32, then added to the fp32 running total.
        t.sum_rounding += cell_var(fp32, s, lsb(s), t.overflows);
        const double v = total + double(float(s));
        if (b0 > 0) t.sum_rounding += cell_var(fp32, v, add_gran(total, double(float(s))), t.overflows);
        total = double(float(v));
      }
      break;
    }
  }
  return t;
}

}  // namespace exmy
