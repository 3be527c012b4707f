// exmy/sqnr/report.cpp — evaluating one (distribution, format) cell with a range method.
#include "exmy/sqnr/report.hpp"

#include <cmath>
#include <variant>

#include "exmy/distributions/number_text.hpp"
#include "exmy/quantize/params.hpp"
#include "exmy/random/numpy_legacy.hpp"
#include "exmy/sqnr/range_optimal.hpp"
#include "exmy/sqnr/range_reference.hpp"

namespace exmy {

const char* to_string(range_method m) {
  switch (m) {
    case range_method::reference: return "reference";
    case range_method::optimal: return "optimal";
    case range_method::fixed: return "fixed";
  }
  return "?";
}

range_method parse_range_method(const std::string& s) {
  if (s == "reference") return range_method::reference;
  if (s == "optimal") return range_method::optimal;
  if (s == "fixed") return range_method::fixed;
  throw error("unknown range method '" + s + "': expected reference, optimal or fixed");
}

law_view view_of(const distribution& d) {
  law_view v;
  v.name = to_string(d);
  v.lo = d.lo();
  v.hi = d.hi();
  if (d.mass_lo() > 0) v.masses.push_back({d.lo(), d.mass_lo()});
  if (d.mass_hi() > 0) v.masses.push_back({d.hi(), d.mass_hi()});
  v.terms = [d](double a, double b, double u) { return integrate(d, a, b, u); };
  v.second_moment = second_moment(d);
  // Issue 8: a law whose root mean square lies outside 1e-100…1e100 makes E[X²] or the cell
  // integrals (cubes of x − u for a uniform law) overflow or underflow double precision (an SQNR
  // of inf or NaN where it is finite): refused.
  if (!(v.second_moment >= 1e-200 && v.second_moment <= 1e200))
    throw error("distribution '" + v.name + "': root mean square " +
                detail::number_text(std::sqrt(v.second_moment)) +
                " outside 1e-100…1e100; rescale it (a scaled grid's SQNR does not depend on the "
                "scale)");
  // Issue 8 (fuzz_distribution: normal:mu=1,sigma=1.5e-323 gave an infinite MSE): a location more
  // than 1e100 scales from 0 makes the law a point mass in double precision, and the cell integrals
  // in scale units overflow ((u − mu)/sigma squared). Refused, like the root mean square above.
  double loc = 0, scale = 1;
  if (const auto* n = std::get_if<normal_law>(&d.law())) loc = n->mu, scale = n->sigma;
  if (const auto* t = std::get_if<student_t_law>(&d.law())) loc = t->mu(), scale = t->scale();
  if (const auto* l = std::get_if<laplace_law>(&d.law())) loc = l->mu, scale = l->b;
  if (std::fabs(loc) > 1e100 * scale)
    throw error("distribution '" + v.name + "': the location is more than 1e100 times the scale " +
                "(a point mass in double precision); use a wider law");
  v.mean = mean(d);
  // Where the range search starts: the larger end of a bounded support, else the RMS value.
  if (std::isfinite(d.lo()) && std::isfinite(d.hi()))
    v.abs_scale = std::max(std::abs(d.lo()), std::abs(d.hi()));
  else
    v.abs_scale = std::sqrt(v.second_moment);
  return v;
}

std::vector<double> reference_sample(const distribution& d, std::size_t n, unsigned seed) {
  const bounds& b = d.restriction();
  if (b.kind == bound_kind::trunc)
    throw error("reference range search: '" + to_string(d) +
                "' is truncated; the paper's sampler only clips (use --range optimal)");
  numpy_legacy_rng rng(seed);
  std::vector<double> x;
  if (const auto* u = std::get_if<uniform_law>(&d.law())) {
    x = rng.uniform(u->lo, u->hi, n);
  } else if (const auto* g = std::get_if<normal_law>(&d.law())) {
    x = rng.normal(g->mu, g->sigma, n);
  } else if (const auto* t = std::get_if<student_t_law>(&d.law())) {
    x = rng.standard_t(t->nu(), n);
    if (t->mu() != 0 || t->scale() != 1)
      for (double& v : x) v = t->mu() + t->scale() * v;
  } else {
    throw error("reference range search: no numpy-legacy sampler for '" + to_string(d) +
                "' (uniform, normal and student_t only; use --range optimal)");
  }
  if (b.kind == bound_kind::clip) clip(x, b.lo, b.hi);
  return x;
}

sqnr_record evaluate(const distribution& d, const format_spec& f, const evaluate_options& opt) {
  sqnr_record rec;
  rec.distribution = to_string(d);
  rec.format = f.name;
  rec.method = opt.method;
  rec.mode = opt.mode;
  const law_view law = view_of(d);
  switch (opt.method) {
    case range_method::fixed:
      rec.maxval = opt.maxval;
      break;
    case range_method::reference: {
      if (!opt.sample) throw error("reference range search needs the distribution's sample");
      rec.maxval = reference_line_search(*opt.sample, f).maxval;
      break;
    }
    case range_method::optimal: {
      const optimal_range_result r = optimal_maxval(law, f, opt.mode);
      rec.maxval = r.maxval;
      rec.evaluations = r.evaluations;
      break;
    }
  }
  const quant_params p = make_params(f, rec.maxval);
  rec.moments = analytic_moments(law, p, opt.mode);
  // Dot product of two independent copies (same law, same quantizer), reference-spec §4.3.
  const bool q5 = opt.method == range_method::reference &&
                  std::holds_alternative<uniform_law>(d.law());
  const double cross = q5 ? rec.moments.mean_err : rec.moments.x_err;
  const double ex2 = rec.moments.second_moment, mse = rec.moments.mse;
  rec.dot_mse = dot_product_mse(ex2, mse, cross, ex2, mse, cross);
  rec.dot_sqnr_db = dot_sqnr_db(ex2, ex2, rec.dot_mse);
  rec.dot_paper_db = rec.dot_mse > 0 ? -10.0 * std::log10(rec.dot_mse) : INFINITY;
  return rec;
}

}  // namespace exmy
