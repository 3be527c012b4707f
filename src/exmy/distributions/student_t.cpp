// exmy/distributions/student_t.cpp — Student-t interval integrals (reference-spec §2).
//
// The reference writes ∫p and ∫t²p with the Gauss hypergeometric 2F1, which Boost 1.74 lacks;
// with s = t²/(nu + t²) they are incomplete beta functions instead:
//   P(T > z)       = ½ I_x(nu/2, 1/2),                   x = nu/(nu + z²)   (z ≥ 0)
//   ∫_z^∞ t² p dt  = nu/(2(nu−2)) · I_x((nu−2)/2, 3/2)   (nu > 2)
//   ∫_a^b t p dt   = c·nu/(1−nu)·[(1 + t²/nu)^((1−nu)/2)]_a^b
// Each tail fraction I_x(a, b) is evaluated on the argument that is ≤ 1/2 (x itself, or
// y = 1 − x through the complement), and the finite-interval integral is formed from whichever of
// the tail or inner fractions is the smaller, so no difference of numbers near 1 appears. The
// reference's ∫t p is 0/0 at nu = 1; it is rewritten as c·(nu/2)·v_a^r·D·expm1(rD)/(rD) with
// r = (1−nu)/2, v = 1 + t²/nu and D = log(v_b/v_a) formed by log1p, exact through nu = 1.
// For nu ≤ 2 the second-moment beta has b ≤ 0 (Boost needs b > 0), so finite intervals are
// integrated by composite Gauss–Legendre panels placed against the pdf's poles at ±i√nu.
#include "exmy/distributions/student_t.hpp"

#include <boost/math/special_functions/beta.hpp>
#include <boost/math/special_functions/gamma.hpp>
#include <cmath>

#include "exmy/distributions/gauss_legendre.hpp"
#include "exmy/distributions/number_text.hpp"
#include "exmy/formats/format_spec.hpp"

namespace exmy {
namespace {

constexpr double log_sqrt_pi = 0.57236494292470008707;  // lgamma(1/2)
constexpr double pi = 3.14159265358979323846;

// log(1 + q²) for q = z/√nu, without overflow for |q| up to the double range.
double log1p_sq(double q) {
  const double aq = std::fabs(q);
  return aq < 1e150 ? std::log1p(q * q) : 2 * std::log(aq);
}

// log((1 + qb²)/(1 + qa²)) without cancellation when qa ≈ qb.
double log_ratio(double qa, double qb) {
  const double ma = std::fabs(qa), mb = std::fabs(qb);
  const double m = std::fmax(ma, mb);
  if (m < 1e100) return std::log1p((qb - qa) * (qb + qa) / (1 + qa * qa));
  if (ma > 0.5 * mb && mb > 0.5 * ma) {
    const double A = qa / m, B = qb / m;
    return std::log1p((B - A) * (B + A) / (1 / m / m + A * A));
  }
  return log1p_sq(qb) - log1p_sq(qa);  // they differ by more than log 4: no cancellation
}

// expm1(x)/x, 1 at 0.
double expm1_over(double x) { return x == 0 ? 1.0 : std::expm1(x) / x; }

// The tail fraction I_x(a, b) and the inner fraction I_y(b, a) = 1 − I_x(a, b) at z ≥ 0, where
// x = 1/(1 + q²), y = q²/(1 + q²). Beyond x < 1e-17 the series I_x(a,b) = x^a/(aB(a,b))·(1 + O(x))
// is used in log space, so the tail stays accurate when z² overflows.
struct beta_split {
  double a, b, log_ab;
};
double tail_fraction(const beta_split& s, double q) {
  if (!std::isfinite(q)) return 0;
  const double q2 = q * q;
  if (q2 < 1) return boost::math::ibetac(s.b, s.a, q2 / (1 + q2));
  if (q2 < 1e17) return boost::math::ibeta(s.a, s.b, 1 / (1 + q2));
  return std::exp(-s.a * log1p_sq(q) - s.log_ab);
}
double inner_fraction(const beta_split& s, double q) {
  if (!std::isfinite(q)) return 1;
  const double q2 = q * q;
  if (q2 < 1) return boost::math::ibeta(s.b, s.a, q2 / (1 + q2));
  if (q2 < 1e17) return boost::math::ibetac(s.a, s.b, 1 / (1 + q2));
  return -std::expm1(-s.a * log1p_sq(q) - s.log_ab);
}

// ∫ over [qa, qb] ⊂ [0, +inf] of a density whose tail beyond q is tail_fraction(q)·total/1:
// the difference of tail fractions while the tail is the smaller part, of inner fractions after.
double split_difference(const beta_split& s, double qa, double qb) {
  const double ta = tail_fraction(s, qa);
  if (ta < 0.5) return ta - tail_fraction(s, qb);
  return inner_fraction(s, qb) - inner_fraction(s, qa);
}

// Standardized ∫p (halves of the two-sided fraction) and ∫t²p over [za, zb], za < zb.
double std_prob(const student_t_law& t, const beta_split& s, double za, double zb) {
  const double r = t.k().inv_sqrt_nu;
  if (za >= 0) return 0.5 * split_difference(s, za * r, zb * r);
  if (zb <= 0) return 0.5 * split_difference(s, -zb * r, -za * r);
  return 0.5 * (inner_fraction(s, -za * r) + inner_fraction(s, zb * r));
}

// Standardized ∫t p over [za, zb] (see the file comment); ±inf ends need nu > 1.
double std_first(const student_t_law& t, double za, double zb) {
  const double nu = t.nu(), r = 0.5 * (1 - nu), c = t.k().c, s = t.k().inv_sqrt_nu;
  if (!std::isfinite(za) || !std::isfinite(zb)) {
    if (nu <= 1) return za == -INFINITY ? (zb == INFINITY ? NAN : -INFINITY) : INFINITY;
    const double cv = c * nu / (nu - 1);
    const double ga = std::isfinite(za) ? std::exp(r * log1p_sq(za * s)) : 0.0;
    const double gb = std::isfinite(zb) ? std::exp(r * log1p_sq(zb * s)) : 0.0;
    return cv * (ga - gb);
  }
  const double D = log_ratio(za * s, zb * s);
  const double va_r = std::exp(r * log1p_sq(za * s));
  return c * (0.5 * nu) * va_r * D * expm1_over(r * D);
}

// Node counts for a z-panel [za, zb] (measured against long double: tests). q = h·max G, where
// G = (nu+1)|z|/(nu+z²) + √((nu+1)/(nu+z²)) bounds |(log p)'| plus √|(log p)''| (it tends to
// the normal's |z| + 1 as nu → ∞); S = ρ + 1/ρ of the Bernstein ellipse through the poles ±i√nu.
// 10 nodes: q ≤ 1, ρ ≥ 6; 20 nodes: q ≤ 2.5, ρ ≥ 3 (each ≤ 5e-14 relative).
int panel_nodes(const student_t_law& t, double za, double zb) {
  const double nu = t.nu();
  const double h = 0.5 * zb - 0.5 * za;
  const auto G = [nu](double z) {
    const double az = std::fabs(z);
    if (az > 1e100) return (nu + 1 + std::sqrt(nu + 1)) / az;
    const double d = nu + z * z;
    return (nu + 1) * az / d + std::sqrt((nu + 1) / d);
  };
  double g = std::fmax(G(za), G(zb));
  const double rt = std::sqrt(nu);
  for (double p : {-rt, 0.0, rt})
    if (p > za && p < zb) g = std::fmax(g, G(p));
  const double q = h * g;
  if (q > 2.5) return 0;
  const double S = (std::hypot(za, rt) + std::hypot(zb, rt)) / h;
  if (q <= 1 && S >= 6 + 1.0 / 6) return 10;
  return S >= 3 + 1.0 / 3 ? 20 : 0;
}

}  // namespace

student_t_law::student_t_law(double nu, double scale, double mu) : nu_(nu), scale_(scale), mu_(mu) {
  if (!(nu > 0) || !std::isfinite(nu))
    throw error("student_t: nu must be finite and > 0 (got " + detail::number_text(nu) + ")");
  if (!(scale > 0) || !std::isfinite(scale))
    throw error("student_t: scale must be finite and > 0 (got " + detail::number_text(scale) + ")");
  if (!std::isfinite(mu))
    throw error("student_t: mu must be finite (got " + detail::number_text(mu) + ")");
  k_.inv_sqrt_nu = 1 / std::sqrt(nu);
  k_.half_nu1 = 0.5 * (nu + 1);
  // c = Γ((nu+1)/2)/(√(nu π) Γ(nu/2)); the gamma ratio directly (lgamma differences lose digits
  // for large nu).
  k_.c = 1 / (std::sqrt(nu * pi) * boost::math::tgamma_delta_ratio(0.5 * nu, 0.5));
  k_.log_c_scaled = std::log(k_.c) - std::log(scale);
  // a·B(a, b) = Γ(a+1)Γ(b)/Γ(a+b).
  const double a0 = 0.5 * nu;
  k_.log_ab_prob = std::log(boost::math::tgamma_delta_ratio(a0 + 1, -0.5)) + log_sqrt_pi;
  k_.log_ab_second = 0;
  if (nu > 2) {
    const double a2 = 0.5 * (nu - 2);
    k_.log_ab_second = std::log(boost::math::tgamma_delta_ratio(a2 + 1, 0.5)) + log_sqrt_pi -
                       std::log(2.0);
  }
}

double log_pdf(const student_t_law& t, double x) {
  const double q = (x - t.mu()) / t.scale() * t.k().inv_sqrt_nu;
  return t.k().log_c_scaled - t.k().half_nu1 * log1p_sq(q);
}
double pdf(const student_t_law& t, double x) { return std::exp(log_pdf(t, x)); }

double cdf(const student_t_law& t, double x) {
  const beta_split s{0.5 * t.nu(), 0.5, t.k().log_ab_prob};
  const double q = (x - t.mu()) / t.scale() * t.k().inv_sqrt_nu;
  return q < 0 ? 0.5 * tail_fraction(s, -q) : 1 - 0.5 * tail_fraction(s, q);
}
double ccdf(const student_t_law& t, double x) {
  const beta_split s{0.5 * t.nu(), 0.5, t.k().log_ab_prob};
  const double q = (x - t.mu()) / t.scale() * t.k().inv_sqrt_nu;
  return q > 0 ? 0.5 * tail_fraction(s, q) : 1 - 0.5 * tail_fraction(s, -q);
}

interval_terms integrate(const student_t_law& t, double a, double b, double u) {
  if (!(a < b)) return {};
  const double mu = t.mu(), sc = t.scale(), nu = t.nu();
  const double za = (a - mu) / sc, zb = (b - mu) / sc;
  const bool finite = std::isfinite(za) && std::isfinite(zb);
  const auto lp = [&](double x) { return log_pdf(t, x); };
  const auto panel = [&](double pa, double pb) {
    return panel_nodes(t, (pa - mu) / sc, (pb - mu) / sc);
  };
  interval_terms r;
  if (finite && detail::gl_try(lp, panel, a, b, u, r)) return r;
  if (finite && nu <= 2) {
    detail::gl_composite(lp, panel, mu, sc, a, b, u, r);
    return r;
  }
  const beta_split sp{0.5 * nu, 0.5, t.k().log_ab_prob};
  const double P = std_prob(t, sp, za, zb);
  const double Z1 = std_first(t, za, zb);
  if (nu <= 2) {  // an infinite interval: the second moment diverges
    r.p0 = P;
    r.p1 = mu * P + sc * Z1;
    r.p2 = r.sq_err = INFINITY;
    r.signed_err = -INFINITY;
    return r;
  }
  // ∫t²p = nu/(2(nu−2)) × (difference of the second-moment beta fractions) on each side of 0.
  const beta_split s2{0.5 * (nu - 2), 1.5, t.k().log_ab_second};
  const double K = nu / (2 * (nu - 2)), rs = t.k().inv_sqrt_nu;
  double frac;
  if (za >= 0)
    frac = split_difference(s2, za * rs, zb * rs);
  else if (zb <= 0)
    frac = split_difference(s2, -zb * rs, -za * rs);
  else
    frac = inner_fraction(s2, -za * rs) + inner_fraction(s2, zb * rs);
  return detail::from_standard(P, Z1, K * frac, mu, sc, u);
}

double mean(const student_t_law& t) { return t.nu() > 1 ? t.mu() : NAN; }
double second_moment(const student_t_law& t) {
  if (t.nu() <= 2) return INFINITY;
  return t.mu() * t.mu() + t.scale() * t.scale() * t.nu() / (t.nu() - 2);
}

}  // namespace exmy
