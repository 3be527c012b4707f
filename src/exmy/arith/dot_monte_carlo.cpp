// exmy/arith/dot_monte_carlo.cpp — Monte-Carlo dot products against the error model
// (dot_monte_carlo.hpp).
#include "exmy/arith/dot_monte_carlo.hpp"

#include <cmath>
#include <vector>

#include "exmy/distributions/distribution.hpp"
#include "exmy/distributions/sampler.hpp"
#include "exmy/quantize/round.hpp"

namespace exmy {

double dot_mc_result::z() const {
  const double d = measured_mse - predicted_mse;
  if (d == 0) return 0;
  return measured_se > 0 ? d / measured_se : (d > 0 ? HUGE_VAL : -HUGE_VAL);
}

dot_mc_result dot_monte_carlo(const arithmetic& ar, const multiplier_error& mul,
                              const format_spec& operands, const dot_mc_options& opt) {
  if (opt.length < 1 || opt.trials < 2) throw error("dot_monte_carlo: length ≥ 1 and trials ≥ 2");
  const quant_params native = make_native_params(operands);
  const sampler_params sp = make_sampler_params(normal(0, native.maxval / opt.sigmas));
  dot_mc_result r;
  r.length = opt.length;
  r.trials = opt.trials;
  std::vector<float> a(std::size_t(opt.length)), b(a.size());
  double sum = 0, sum_sq = 0;  // of the squared errors
  for (std::int64_t t = 0; t < opt.trials; ++t) {
    double y = 0;
    for (std::int64_t i = 0; i < opt.length; ++i) {
      const std::uint64_t idx = std::uint64_t(t * opt.length + i);
      a[std::size_t(i)] = float(quantize_value<rounding::rne>(draw(sp, opt.seed, idx, stream_x), native));
      b[std::size_t(i)] = float(quantize_value<rounding::rne>(draw(sp, opt.seed, idx, stream_y), native));
      y += double(a[std::size_t(i)]) * double(b[std::size_t(i)]);
    }
    const double e = emulated_dot(ar, a.data(), b.data(), a.size()) - y;
    sum += e * e;
    sum_sq += e * e * e * e;
    const dot_error_terms p = predicted_dot_error(ar, mul, a.data(), b.data(), opt.length);
    r.predicted_terms.multiplier += p.multiplier;
    r.predicted_terms.product_rounding += p.product_rounding;
    r.predicted_terms.sum_rounding += p.sum_rounding;
    if (p.overflows > 0) ++r.overflow_dots;
    r.signal += y * y;
  }
  const double n = double(opt.trials);
  r.measured_mse = sum / n;
  r.measured_se = std::sqrt(std::max(0.0, (sum_sq / n - r.measured_mse * r.measured_mse) / (n - 1)));
  r.predicted_terms.multiplier /= n;
  r.predicted_terms.product_rounding /= n;
  r.predicted_terms.sum_rounding /= n;
  r.predicted_mse = r.predicted_terms.total();
  r.signal /= n;
  return r;
}

}  // namespace exmy
