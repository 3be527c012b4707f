// exmy/distributions/student_t.hpp — Student's t law with nu > 0 degrees of freedom, scale and
// location (reference-spec §2, Student-t; the paper uses nu = 8, scale 1, clipped to ±100).
#pragma once

#include <memory>

#include "exmy/distributions/interval_terms.hpp"

namespace exmy {
namespace detail {
class student_t_tables;
struct student_t_cache;
}  // namespace detail

/// t_nu(mu, scale): density c/scale·(1 + z²/nu)^(−(nu+1)/2), z = (x − mu)/scale,
/// c = Γ((nu+1)/2)/(√(nu·π)Γ(nu/2)). Immutable: the constructor validates and caches constants;
/// the interpolants of the cumulative functions (student_t_tables.hpp) are built on first use,
/// once, and shared by all copies (thread-safe).
class student_t_law {
 public:
  /// Throws exmy::error unless nu > 0, scale > 0 are finite and mu is finite.
  explicit student_t_law(double nu = 8, double scale = 1, double mu = 0);
  double nu() const { return nu_; }
  double scale() const { return scale_; }
  double mu() const { return mu_; }

  /// Cached constants of the closed forms (student_t.cpp).
  struct constants {
    double inv_sqrt_nu, half_nu1, c, log_c_scaled;
    double log_ab_prob;    ///< log(a·B(a, 1/2)), a = nu/2: the cdf's far-tail asymptote
    double log_ab_second;  ///< log(a·B(a, 3/2)), a = (nu−2)/2 (nu > 2): ∫t²p's asymptote
    double c_scaled;       ///< c/scale
    int power;             ///< nu + 1 for integer nu ≤ 63 (density by powers), else 0
    double v_max;          ///< the power form for 1 + q² < v_max (v^power < 1e250)
  };
  const constants& k() const { return k_; }
  /// The interpolants of the incomplete-beta fractions (built on the first call, ~1 ms).
  const detail::student_t_tables& tables() const;

 private:
  double nu_, scale_, mu_;
  constants k_;
  std::shared_ptr<detail::student_t_cache> cache_;
};

/// The constructor already validated the law.
inline void validate(const student_t_law&) {}
double log_pdf(const student_t_law& t, double x);
double pdf(const student_t_law& t, double x);
/// Lower tail from the regularized incomplete beta (interpolated, student_t_tables.hpp) on the
/// well-conditioned side, and a log-space asymptote beyond |z| ~ 3e8·√nu: accurate to ~1e-15
/// down to the smallest doubles.
double cdf(const student_t_law& t, double x);
double ccdf(const student_t_law& t, double x);
/// The five interval functionals over [a, b] (a ≤ b, infinite ends allowed). Narrow cells and
/// every finite interval when nu ≤ 2 (where ∫t²p has no incomplete-beta form) use
/// Gauss–Legendre panels; wide cells use closed forms. ∫t²p is +inf on an infinite interval when
/// nu ≤ 2, ∫t p when nu ≤ 1.
interval_terms integrate(const student_t_law& t, double a, double b, double u);
/// mu for nu > 1 (NaN otherwise).
double mean(const student_t_law& t);
/// mu² + scale²·nu/(nu − 2) for nu > 2, +inf otherwise.
double second_moment(const student_t_law& t);
inline bool finite_second_moment(const student_t_law& t) { return t.nu() > 2; }

}  // namespace exmy
