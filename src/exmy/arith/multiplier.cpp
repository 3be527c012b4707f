// exmy/arith/multiplier.cpp — parsing and exhaustive error statistics of the multiplier models
// (multiplier.hpp; the models are in arith_core.hpp).
#include "exmy/arith/multiplier.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace exmy {
namespace {

int parse_bits(const std::string& s, const std::string& what) {
  std::size_t used = 0;
  int w = -1;
  try {
    w = std::stoi(s, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != s.size() || w < 0 || w > 52)
    throw error("multiplier '" + what + "': the mantissa bits W must be an integer in 0 … 52");
  return w;
}

// Nearest-rank quantile of sorted values.
double quantile(const std::vector<double>& v, double q) {
  const std::size_t i = std::size_t(std::ceil(q * double(v.size())));
  return v[std::min(v.size() - 1, i == 0 ? 0 : i - 1)];
}

}  // namespace

multiplier parse_multiplier(const std::string& s) {
  multiplier m;
  const std::size_t colon = s.find(':');
  const std::string kind = s.substr(0, colon);
  const std::string arg = colon == std::string::npos ? "" : s.substr(colon + 1);
  if (kind == "exact" && colon == std::string::npos) {
    m.model.kind = multiplier_kind::exact;
  } else if (kind == "round" && !arg.empty()) {
    m.model.kind = multiplier_kind::rounded;
    m.product_format = parse_format(arg);
    m.model.product = make_native_params(m.product_format);
    m.model.product_fast = grid_rounding_of(m.model.product);
  } else if ((kind == "trunc" || kind == "mitchell" || kind == "lmul") && colon != std::string::npos) {
    m.model.kind = kind == "trunc"      ? multiplier_kind::truncated
                   : kind == "mitchell" ? multiplier_kind::mitchell
                                        : multiplier_kind::lmul;
    const int w = parse_bits(arg, s);
    m.model.mantissa_bits = w;
    // L-Mul's offset exponent l(W) (Luo & Sun 2024, §3.1).
    const int l = w <= 3 ? w : (w == 4 ? 3 : 4);
    m.model.lmul_offset = std::ldexp(1.0, -l);
  } else {
    throw error("unknown multiplier '" + s +
                "' (expected exact, round:FMT, trunc:W, mitchell:W or lmul:W)");
  }
  m.name = s;
  return m;
}

double multiply(const multiplier& m, double a, double b) {
  return multiply_split(m.model, split_of(m.model, a), split_of(m.model, b));
}

multiplier_error exhaustive_multiplier_error(const multiplier& m, const format_spec& operands) {
  if (limits(operands).finite_values > 4096)
    throw error("exhaustive_multiplier_error: format '" + operands.name +
                "' has more than 4096 values (the table is over all pairs)");
  std::vector<double> v;
  for (double x : grid(make_native_params(operands)))
    if (x != 0) v.push_back(x);
  std::vector<split_operand> s;
  for (double x : v) s.push_back(split_of(m.model, x));
  std::vector<double> eps;
  eps.reserve(v.size() * v.size());
  double sum = 0, sum_abs = 0, sum_sq = 0;
  for (std::size_t i = 0; i < v.size(); ++i)
    for (std::size_t j = 0; j < v.size(); ++j) {
      const double exact = v[i] * v[j];  // exact: both have ≤ 16 significant bits
      const double e = (multiply_split(m.model, s[i], s[j]) - exact) / exact;
      sum += e;
      sum_abs += std::fabs(e);
      sum_sq += e * e;
      eps.push_back(e);
    }
  multiplier_error r;
  r.multiplier = m.name;
  r.operand_format = operands.name;
  r.pairs = std::int64_t(eps.size());
  if (eps.empty()) return r;
  std::sort(eps.begin(), eps.end());
  r.mean = sum / double(r.pairs);
  r.mean_abs = sum_abs / double(r.pairs);
  r.rms = std::sqrt(sum_sq / double(r.pairs));
  r.min = eps.front();
  r.max = eps.back();
  r.max_abs = std::max(-r.min, r.max);
  r.p01 = quantile(eps, 0.01);
  r.p50 = quantile(eps, 0.5);
  r.p99 = quantile(eps, 0.99);
  return r;
}

}  // namespace exmy
