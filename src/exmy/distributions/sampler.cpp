// exmy/distributions/sampler.cpp — building sampler_params from a distribution: the law's
// parameters, and the clip / truncation rules of distribution.hpp turned into windows and
// inverse-cdf constants (issue 4 of exmy, "each clipped or truncated exactly like the analytic
// distribution it mirrors").
#include "exmy/distributions/sampler.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <variant>

#include "exmy/distributions/distribution.hpp"
#include "exmy/formats/format_spec.hpp"

namespace exmy {
namespace {

// Acceptance below this makes rejection impractical (expected attempts = 1/acceptance).
constexpr double k_min_acceptance = 1e-4;

// One side of a truncated Laplace law in standard units: z in [a, a + len] (a ≥ 0) sampled as
// a − log(1 − u·c) with c = 1 − e^−len, and its unnormalised weight e^−a·c (a = 0 on both sides
// when the interval contains 0, and an empty side has weight 0).
struct exp_side {
  double a = 0, c = 1, weight = 0;
};
exp_side make_side(double from, double to) {  // the side's z-range [from, to], 0 ≤ from
  exp_side s;
  if (!(to > from)) return s;  // empty
  s.a = from;
  s.c = std::isinf(to) ? 1.0 : -std::expm1(-(to - from));
  s.weight = std::exp(-from) * s.c;
  return s;
}

}  // namespace

sampler_params make_sampler_params(const distribution& d) {
  sampler_params sp;
  const bounds& b = d.restriction();
  const bool trunc = b.kind == bound_kind::trunc;
  if (b.kind == bound_kind::clip) {
    sp.clip_lo = b.lo;
    sp.clip_hi = b.hi;
  }
  if (const auto* u = std::get_if<uniform_law>(&d.law())) {
    sp.kind = sampler_kind::uniform;
    // Truncation: uniform on the intersection, which d.lo()/d.hi() already are.
    const double lo = trunc ? d.lo() : u->lo, hi = trunc ? d.hi() : u->hi;
    sp.loc = 0.5 * lo + 0.5 * hi;
    sp.scale = 0.5 * hi - 0.5 * lo;
    if (trunc) {
      sp.clip_lo = lo;  // guard against the last-bit rounding of loc + scale·v
      sp.clip_hi = hi;
    }
  } else if (const auto* g = std::get_if<normal_law>(&d.law())) {
    sp.kind = sampler_kind::normal;
    sp.loc = g->mu;
    sp.scale = g->sigma;
  } else if (const auto* t = std::get_if<student_t_law>(&d.law())) {
    sp.kind = sampler_kind::student_t;
    sp.loc = t->mu();
    sp.scale = t->scale();
    sp.nu = t->nu();
    sp.neg2_over_nu = -2.0 / t->nu();
  } else if (const auto* l = std::get_if<laplace_law>(&d.law())) {
    sp.kind = sampler_kind::laplace;
    sp.loc = l->mu;
    sp.scale = l->b;
    if (trunc) {
      // Standard units z = (x − mu)/b; negative side as E = −z in [max(−β, 0), −α].
      const double alpha = (d.lo() - l->mu) / l->b, beta = (d.hi() - l->mu) / l->b;
      const exp_side neg = make_side(std::max(-beta, 0.0), -alpha);
      const exp_side pos = make_side(std::max(alpha, 0.0), beta);
      sp.lap_a_neg = neg.a;
      sp.lap_c_neg = neg.c;
      sp.lap_a_pos = pos.a;
      sp.lap_c_pos = pos.c;
      sp.lap_w_neg = neg.weight / (neg.weight + pos.weight);
      sp.clip_lo = d.lo();
      sp.clip_hi = d.hi();
    }
  } else if (const auto* e = std::get_if<empirical_law>(&d.law())) {
    sp.kind = sampler_kind::empirical;
    const std::vector<double>& v = sorted_values(*e);
    sp.values = v.data();
    sp.first = 0;
    sp.count = v.size();
    if (trunc) {
      // The truncated empirical law keeps the points in [d.lo(), d.hi()) (half-open intervals of
      // empirical.hpp; d.hi() is past the largest point when the bound is).
      const auto first = std::lower_bound(v.begin(), v.end(), d.lo());
      const auto last = std::lower_bound(v.begin(), v.end(), d.hi());
      sp.first = static_cast<std::uint64_t>(first - v.begin());
      sp.count = static_cast<std::uint64_t>(last - first);
      if (sp.count == 0) throw error("empirical sampler: the truncation keeps no point");
    }
  } else {
    throw error("no sampler for '" + to_string(d) +
                "': Monte-Carlo supports uniform, normal, student_t, laplace and empirical laws");
  }
  // Truncation by rejection (normal, student_t): the window is the truncation interval.
  if (trunc && (sp.kind == sampler_kind::normal || sp.kind == sampler_kind::student_t)) {
    sp.acc_lo = d.lo();
    sp.acc_hi = d.hi();
    sp.rejects = 1;
    const double kept = 1.0 / d.density_factor();
    if (!(kept >= k_min_acceptance))
      throw error("sampler for '" + to_string(d) + "': the truncation keeps " +
                  std::to_string(kept) +
                  " of the mass; rejection sampling needs at least 1e-4");
  }
  return sp;
}

}  // namespace exmy
