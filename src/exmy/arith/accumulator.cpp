// exmy/arith/accumulator.cpp — accumulator parsing, summation and grid spacing (accumulator.hpp).
#include "exmy/arith/accumulator.hpp"

#include <algorithm>
#include <cmath>

namespace exmy {

accumulator parse_accumulator(const std::string& s) {
  accumulator a;
  const std::size_t colon = s.find(':');
  const std::string prec = s.substr(0, colon);
  const std::string order = colon == std::string::npos ? "" : s.substr(colon + 1);
  if (prec == "fp64") {
    a.model.precision = acc_precision::fp64;
  } else if (prec == "fp32") {
    a.model.precision = acc_precision::fp32;
  } else {
    a.model.precision = acc_precision::format;
    a.format = parse_format(prec);
    a.model.params = make_native_params(a.format);
    a.model.fast = grid_rounding_of(a.model.params);
  }
  if (colon == std::string::npos || order == "sequential") {
    a.model.order = sum_order::sequential;
  } else if (order == "pairwise") {
    a.model.order = sum_order::pairwise;
  } else if (order.rfind("block", 0) == 0) {
    a.model.order = sum_order::blocked;
    const std::string k = order.substr(5);
    std::size_t used = 0;
    try {
      a.model.block = std::stoll(k, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != k.size() || a.model.block < 1)
      throw error("accumulator '" + s + "': blockK needs a block size K ≥ 1 (e.g. block32)");
  } else {
    throw error("accumulator '" + s + "': unknown order '" + order +
                "' (sequential, pairwise, blockK)");
  }
  a.name = s;
  return a;
}

double round_to(const accumulator& a, double x) { return round_acc(a.model, x); }

double accumulate(const accumulator& a, const double* p, std::size_t n) {
  return accumulate_model(a.model, std::int64_t(n), [p](std::int64_t i) { return p[i]; });
}

double spacing(const accumulator& a, double x) {
  if (a.model.precision == acc_precision::fp64 || x == 0 || !std::isfinite(x)) return 0;
  int e = 0;
  if (a.model.precision == acc_precision::fp32) {
    (void)std::frexp(std::fabs(x), &e);  // |x| ∈ [2^(e−1), 2^e)
    return std::ldexp(1.0, std::max(e - 1, -126) - 23);
  }
  const quant_params& p = a.model.params;
  if (!p.is_float) return p.scale;
  // The grid is the unit frame's (binades emin … emax, M mantissa bits) times the scale.
  (void)std::frexp(std::fabs(x) / p.scale, &e);
  return std::ldexp(1.0, std::max(e - 1, p.emin) - p.man_bits) * p.scale;
}

}  // namespace exmy
