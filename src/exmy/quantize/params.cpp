// exmy/quantize/params.cpp — building quant_params from a format and a scale; the grid.
#include "exmy/quantize/params.hpp"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <sstream>

#include "exmy/quantize/round.hpp"

namespace exmy {
namespace {

std::string fmt_double(double v) {
  std::ostringstream os;
  os.precision(17);
  os << v;
  return os.str();
}

// Fills the scale fields from s > 0 (finite) and checks that every grid value stays in the normal
// double range, so that the power-of-two scalings in round.hpp are exact.
void set_scale(quant_params& p, double s, const std::string& who) {
  if (!(s > 0.0) || !std::isfinite(s)) throw error(who + ": scale " + fmt_double(s) + " is not a positive finite number");
  int k = 0;
  const double m = std::frexp(s, &k);  // s = m·2^k, m in [0.5, 1)
  p.scale_exp = k - 1;
  p.alpha = m * 2.0;
  p.inv_alpha = 1.0 / p.alpha;
  std::uint64_t b;
  std::memcpy(&b, &p.alpha, sizeof b);
  p.alpha_mant = b & detail::k_mant_mask;
  p.scale = s;
  const int lo = p.scale_exp + p.emin - p.man_bits;  // exponent of the finest step
  // Top values are below 2^(k + emax − M + 17) (significands < 2^17 for every n ≤ 16 format).
  const int hi = p.scale_exp + p.emax - p.man_bits + 17;
  if (lo < -1020 || hi > 1020)
    throw error(who + ": the scaled grid (scale " + fmt_double(s) +
                ") leaves the double-precision range; choose a maxval nearer to 1");
  const double maxq = std::ldexp(1.0, p.max_q);
  p.maxval = p.max_pos_n * maxq * s;
  p.minval = -p.max_neg_n * maxq * s;
  if (!std::isfinite(p.maxval) || !std::isfinite(p.minval))
    throw error(who + ": the largest grid value overflows double precision");
}

quant_params base_params(const format_spec& f) {
  const format_limits L = limits(f);  // validates
  quant_params p;
  if (f.is_float()) {
    p.is_float = 1;
    p.man_bits = f.man_bits;
    p.emin = L.emin;
    p.emax = L.emax;
    p.max_q = L.emax - f.man_bits;
    p.max_pos_n = double(L.max_significand);
    p.max_neg_n = f.is_signed ? p.max_pos_n : 0.0;
    p.min_normal = L.min_normal;
    p.flush_subnormals = f.subnormals ? 0 : 1;
    p.neg_zero = f.has_negative_zero() ? 1 : 0;
    if (f.overflow == overflow_mode::non_saturating)
      p.on_overflow = f.enc == encoding::ieee ? overflow_result::infinity : overflow_result::nan;
  } else {
    p.is_float = 0;
    p.man_bits = 0;
    p.emin = p.emax = p.max_q = 0;
    p.max_pos_n = L.max;
    p.max_neg_n = 0.0 - L.min_value;  // +0 (not −0) for unsigned ranges
    p.min_normal = 1.0;
  }
  return p;
}

// Hardware-mode multipliers: native_max/maxval in float32 and its float32 reciprocal.
void set_hw(quant_params& p, double native_max) {
  const double mul = native_max / p.maxval;
  p.hw_mul_d = mul;
  p.hw_div_d = 1.0 / mul;
  p.hw_mul_f = static_cast<float>(mul);
  p.hw_div_f = 1.0f / p.hw_mul_f;
}

}  // namespace

quant_params make_params(const format_spec& f, double maxval) {
  const std::string who = "format '" + f.name + "'";
  if (f.is_affine())
    throw error(who + ": an affine integer format needs a [min, max] range (make_affine_params)");
  if (!(maxval > 0.0) || !std::isfinite(maxval))
    throw error(who + ": maxval " + fmt_double(maxval) + " must be a positive finite number");
  quant_params p = base_params(f);
  const double native_max = p.max_pos_n * std::ldexp(1.0, p.max_q);
  set_scale(p, maxval / native_max, who);
  set_hw(p, native_max);
  return p;
}

quant_params make_native_params(const format_spec& f) {
  quant_params p = base_params(f);
  set_scale(p, 1.0, "format '" + f.name + "'");
  set_hw(p, p.maxval);
  return p;
}

quant_params make_affine_params(const format_spec& f, double lo, double hi) {
  const std::string who = "format '" + f.name + "'";
  if (f.is_float()) throw error(who + ": affine parameters apply to integer formats");
  if (!std::isfinite(lo) || !std::isfinite(hi) || lo > hi)
    throw error(who + ": affine range [" + fmt_double(lo) + ", " + fmt_double(hi) + "] is invalid");
  const format_limits L = limits(f);
  const double qmin = L.min_value, qmax = L.max;
  lo = std::min(lo, 0.0);  // the range must contain 0 so that 0.0 is exactly representable
  hi = std::max(hi, 0.0);
  if (hi == lo) hi = lo + 1.0;  // all-zero data: any scale represents it; pick scale 1/(qmax−qmin)
  const double s = (hi - lo) / (qmax - qmin);
  double zp = std::nearbyint(qmin - lo / s);
  zp = std::min(std::max(zp, qmin), qmax);
  quant_params p = base_params(f);
  // Unit frame: integers i − zp for codes i in [qmin, qmax].
  p.max_pos_n = qmax - zp;
  p.max_neg_n = zp - qmin;
  p.zero_point = zp;
  set_scale(p, s, who);
  set_hw(p, p.max_pos_n > 0 ? p.max_pos_n : 1.0);
  if (p.max_pos_n <= 0) {
    p.hw_mul_d = 1.0 / s;
    p.hw_div_d = s;
    p.hw_mul_f = static_cast<float>(p.hw_mul_d);
    p.hw_div_f = 1.0f / p.hw_mul_f;
  }
  return p;
}

quant_params native_of(const quant_params& p) {
  quant_params n = p;
  n.scale_exp = 0;
  n.alpha = n.inv_alpha = 1.0;
  n.alpha_mant = 0;
  n.scale = 1.0;
  const double maxq = std::ldexp(1.0, p.max_q);
  n.maxval = p.max_pos_n * maxq;
  n.minval = -p.max_neg_n * maxq;
  return n;
}

std::vector<double> unit_grid(const quant_params& p) {
  std::vector<double> pos;  // non-negative magnitudes on the positive side
  auto side = [&](double max_n) {
    std::vector<double> v;
    v.push_back(0.0);
    if (max_n <= 0.0) return v;
    if (!p.is_float) {
      for (double n = 1; n <= max_n; n += 1) v.push_back(n);
      return v;
    }
    const int M = p.man_bits;
    const double top = max_n * std::ldexp(1.0, p.max_q);
    // Subnormals: n·2^(emin−M), n = 1 … 2^M − 1 (skipped when flushed).
    if (!p.flush_subnormals)
      for (int n = 1; n < (1 << M); ++n) v.push_back(std::ldexp(double(n), p.emin - M));
    for (int e = p.emin; e <= p.emax; ++e)
      for (int n = (1 << M); n < (2 << M); ++n) {
        const double val = std::ldexp(double(n), e - M);
        if (val <= top) v.push_back(val);
      }
    return v;
  };
  std::vector<double> out;
  for (double v : side(p.max_neg_n)) out.push_back(-v);
  for (double v : side(p.max_pos_n)) out.push_back(v);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());  // −0 == +0: one zero
  return out;
}

std::vector<double> grid(const quant_params& p) {
  std::vector<double> g = unit_grid(p);
  for (double& v : g) {
    // Nearest double to v·s: v·alpha rounded once, then an exact power-of-two scaling.
    v = (v * p.alpha) * std::ldexp(1.0, p.scale_exp);
  }
  return g;
}

void require_float32_range(const quant_params& p, const char* what) {
  if (std::max(p.maxval, -p.minval) > double(FLT_MAX))
    throw error(std::string(what) + ": the grid's largest value " + fmt_double(std::max(p.maxval, -p.minval)) +
                " exceeds the float32 range; use float64 data");
}

const char* to_string(rounding r) {
  switch (r) {
    case rounding::rne: return "rne";
    case rounding::rna: return "rna";
    case rounding::rtz: return "rtz";
    case rounding::stochastic: return "stochastic";
  }
  return "?";
}
const char* to_string(scale_mode m) { return m == scale_mode::exact ? "exact" : "hardware"; }

rounding parse_rounding(const std::string& s) {
  if (s == "rne") return rounding::rne;
  if (s == "rna") return rounding::rna;
  if (s == "rtz") return rounding::rtz;
  if (s == "sr" || s == "stochastic") return rounding::stochastic;
  throw error("unknown rounding mode '" + s + "': expected rne, rna, rtz or stochastic");
}
scale_mode parse_scale_mode(const std::string& s) {
  if (s == "exact") return scale_mode::exact;
  if (s == "hardware") return scale_mode::hardware;
  throw error("unknown scale mode '" + s + "': expected exact or hardware");
}

}  // namespace exmy
