// exmy/distributions/student_t.cpp — Student-t interval integrals (reference-spec §2).
//
// The reference writes ∫p and ∫t²p with the Gauss hypergeometric 2F1, which Boost 1.74 lacks;
// with s = t²/(nu + t²) they are incomplete beta functions instead (evaluated through per-law
// interpolants of Boost's ibeta, student_t_tables.hpp, ~10× faster):
//   P(T > z)       = ½ I_x(nu/2, 1/2),                   x = nu/(nu + z²)   (z ≥ 0)
//   ∫_z^∞ t² p dt  = nu/(2(nu−2)) · I_x((nu−2)/2, 3/2)   (nu > 2)
//   ∫_a^b t p dt   = c·nu/(1−nu)·[(1 + t²/nu)^((1−nu)/2)]_a^b
// Each tail fraction I_x(a, b) is evaluated on the argument that is ≤ 1/2 (x itself, or
// y = 1 − x through the complement), and the finite-interval integral is formed from whichever of
// the tail or inner fractions is the smaller, so no difference of numbers near 1 appears. The
// reference's ∫t p is 0/0 at nu = 1; it is rewritten as c·(nu/2)·v_a^r·D·expm1(rD)/(rD) with
// r = (1−nu)/2, v = 1 + t²/nu and D = log(v_b/v_a) formed by log1p, exact through nu = 1
// (v_b^r·D·expm1(−rD)/(−rD) when v_b^r is the larger).
// For nu ≤ 2 the second-moment beta has b ≤ 0 (Boost needs b > 0), so finite intervals are
// integrated by composite Gauss–Legendre panels placed against the pdf's poles at ±i√nu.
// Narrow cells use one panel for every nu. Where the closed forms would cancel (large nu, u far
// out: the normal-like regime) panels are marched outward until the tail is negligible; where
// P underflows while ∫(t−w)²p does not (|z| up to 1e300), panels and the exact power-law tail
// c·nu^((nu+1)/2)|z|^−(nu+1) beyond |z| = 1e8·max(nu, 1) take over.
#include "exmy/distributions/student_t.hpp"

#include <boost/math/special_functions/gamma.hpp>
#include <cmath>
#include <mutex>

#include "exmy/distributions/gauss_legendre.hpp"
#include "exmy/distributions/number_text.hpp"
#include "exmy/distributions/student_t_tables.hpp"
#include "exmy/formats/format_spec.hpp"

namespace exmy {
namespace detail {

// The lazily built tables of one law, shared by its copies.
struct student_t_cache {
  std::once_flag once;
  std::unique_ptr<const student_t_tables> tables;
};

}  // namespace detail

const detail::student_t_tables& student_t_law::tables() const {
  std::call_once(cache_->once, [this] {
    cache_->tables = std::make_unique<const detail::student_t_tables>(nu_, k_.c);
  });
  return *cache_->tables;
}

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
  // Far apart (|qa| and |qb| differ by more than a factor 2, e.g. qb = 0): the plain difference
  // does not cancel, while the ratio form would round (qb² − qa²)/(1 + qa²) to −1 → log1p = −inf.
  if (!(ma > 0.5 * mb && mb > 0.5 * ma)) return log1p_sq(qb) - log1p_sq(qa);
  const double m = std::fmax(ma, mb);
  if (m < 1e100) return std::log1p((qb - qa) * (qb + qa) / (1 + qa * qa));
  const double A = qa / m, B = qb / m;
  return std::log1p((B - A) * (B + A) / (1 / m / m + A * A));
}

// expm1(x)/x, 1 at 0.
double expm1_over(double x) { return x == 0 ? 1.0 : std::expm1(x) / x; }

// The tail fraction I_x(a, b) and the inner fraction I_y(b, a) = 1 − I_x(a, b) at z ≥ 0, where
// x = 1/(1 + q²), y = q²/(1 + q²): the law's tables (which = 0: probability, 2: second moment).
// Beyond x < 1e-17 the series I_x(a,b) = x^a/(aB(a,b))·(1 + O(x)) is used in log space, so the
// tail stays accurate when z² overflows.
struct beta_split {
  double a, log_ab;
  int which;
  const detail::student_t_tables* tab;
};
double tail_fraction(const beta_split& s, double q) {
  if (!std::isfinite(q)) return 0;
  if (q < detail::student_t_tables::q_max)
    return s.which == 0 ? s.tab->prob_tail(q) : s.tab->second_tail(q);
  return std::exp(-s.a * log1p_sq(q) - s.log_ab);
}
double inner_fraction(const beta_split& s, double q) {
  if (!std::isfinite(q)) return 1;
  if (q < detail::student_t_tables::q_max)
    return s.which == 0 ? s.tab->prob_inner(q) : s.tab->second_inner(q);
  return -std::expm1(-s.a * log1p_sq(q) - s.log_ab);
}
beta_split prob_split(const student_t_law& t) {
  return {0.5 * t.nu(), t.k().log_ab_prob, 0, &t.tables()};
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
  // Factor out the larger of v_a^r and v_b^r (the smaller may underflow for large nu).
  const double D = log_ratio(za * s, zb * s);
  if (r * D <= 0) return c * (0.5 * nu) * std::exp(r * log1p_sq(za * s)) * D * expm1_over(r * D);
  return c * (0.5 * nu) * std::exp(r * log1p_sq(zb * s)) * D * expm1_over(-r * D);
}

// G(z) = (nu+1)|z|/(nu+z²) + √((nu+1)/(nu+z²)): a bound on |(log p)'| + √|(log p)''|, the
// inverse of the length on which the density changes (→ |z| + 1 for the normal as nu → ∞).
double rate(double nu, double z) {
  const double az = std::fabs(z);
  if (az > 1e100) return (nu + 1 + std::sqrt(nu + 1)) / az;
  const double d = nu + z * z;
  return (nu + 1) * az / d + std::sqrt((nu + 1) / d);
}
double panel_rate(const student_t_law& t, double z) { return rate(t.nu(), z); }

// Node count for a z-panel [za, zb]: q = h·max G and S = ρ + 1/ρ of the Bernstein ellipse
// through the poles ±i√nu. max G over the panel is bounded by its two terms' separate maxima:
// (nu+1)|z|/(nu+z²) peaks at |z| = √nu, √((nu+1)/(nu+z²)) at the smallest |z|.
int panel_nodes(const student_t_law& t, double za, double zb) {
  const double nu = t.nu();
  const double h = 0.5 * zb - 0.5 * za;
  const double lo = za > 0 ? za : zb < 0 ? -zb : 0.0, hi = std::fmax(std::fabs(za), std::fabs(zb));
  if (hi > 1e100) return detail::nodes_for(h * rate(nu, lo), INFINITY);
  const double rt = std::sqrt(nu), m = std::fmin(std::fmax(rt, lo), hi);
  const double q = h * ((nu + 1) * m / (nu + m * m) + std::sqrt((nu + 1) / (nu + lo * lo)));
  if (q > 2.5) return 0;
  return detail::nodes_for(q, (std::sqrt(za * za + nu) + std::sqrt(zb * zb + nu)) / h);
}

}  // namespace

student_t_law::student_t_law(double nu, double scale, double mu)
    : nu_(nu), scale_(scale), mu_(mu), cache_(std::make_shared<detail::student_t_cache>()) {
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
  k_.c_scaled = k_.c / scale;
  k_.power = 0;
  k_.v_max = 0;
  if (nu == std::floor(nu) && nu <= 63) {
    k_.power = static_cast<int>(nu) + 1;
    k_.v_max = std::pow(10.0, 250.0 / k_.power);  // v^power < 1e250: no overflow when squaring
  }
  // a·B(a, b) = Γ(a+1)Γ(b)/Γ(a+b).
  const double a0 = 0.5 * nu;
  k_.log_ab_prob = std::log(boost::math::tgamma_delta_ratio(a0 + 1, -0.5)) + log_sqrt_pi;
  k_.log_ab_second = 0;
  if (nu > 2) {
    const double a2 = 0.5 * (nu - 2);
    k_.log_ab_second =
        std::log(boost::math::tgamma_delta_ratio(a2 + 1, 0.5)) + log_sqrt_pi - std::log(2.0);
  }
}

double log_pdf(const student_t_law& t, double x) {
  const double q = (x - t.mu()) / t.scale() * t.k().inv_sqrt_nu;
  return t.k().log_c_scaled - t.k().half_nu1 * log1p_sq(q);
}
double pdf(const student_t_law& t, double x) { return std::exp(log_pdf(t, x)); }

double cdf(const student_t_law& t, double x) {
  const beta_split s = prob_split(t);
  const double q = (x - t.mu()) / t.scale() * t.k().inv_sqrt_nu;
  return q < 0 ? 0.5 * tail_fraction(s, -q) : 1 - 0.5 * tail_fraction(s, q);
}
double ccdf(const student_t_law& t, double x) {
  const beta_split s = prob_split(t);
  const double q = (x - t.mu()) / t.scale() * t.k().inv_sqrt_nu;
  return q > 0 ? 0.5 * tail_fraction(s, q) : 1 - 0.5 * tail_fraction(s, -q);
}

namespace {

// The density for the Gauss–Legendre nodes: log p(x) = log(c/scale) − ((nu+1)/2)·log1p(q²),
// q = (x − mu)/(scale·√nu), and, for integer nu ≤ 63 (the paper's nu = 8), p itself as
// (c/scale)/v^((nu+1)/2), v = 1 + q², by repeated squaring and one square root: a few ulp, and
// ~4× cheaper than log1p and exp.
struct t_density {
  double mu, kq, lc, e, c_scaled, v_max;
  int m;  // nu + 1 when nu is an integer ≤ 63, else 0
  explicit t_density(const student_t_law& t)
      : mu(t.mu()),
        kq(t.k().inv_sqrt_nu / t.scale()),
        lc(t.k().log_c_scaled),
        e(t.k().half_nu1),
        c_scaled(t.k().c_scaled),
        v_max(t.k().v_max),
        m(t.k().power) {}
  double operator()(double x) const { return lc - e * log1p_sq((x - mu) * kq); }
  double direct(double x) const {
    const double q = (x - mu) * kq, v = 1 + q * q;
    if (m == 0 || !(v < v_max)) return -1;
    double power = 1, b = v;  // v^(m div 2)
    for (int k = m / 2; k > 0; k >>= 1) {
      if (k & 1) power *= b;
      if (k > 1) b *= b;
    }
    if (m & 1) power *= std::sqrt(v);
    const double p = c_scaled / power;
    return p > 1e-260 && p < 1e130 ? p : -1;
  }
};

// True where the tail beyond z (standardized) is below ~1e-300: there P and ∫t p underflow
// while ∫(t − w)²p need not (cells up to 1e300), so the closed forms cannot be combined.
bool underflows(const student_t_law& t, double z) {
  const double lp = std::log(t.k().c) - t.k().half_nu1 * log1p_sq(z * t.k().inv_sqrt_nu);
  return lp + std::log1p(std::fabs(z)) < -690;
}

// True when the closed form over a one-sided interval starting at z ≥ 0 (nearer end), with
// w = (u − mu)/scale on that side, would cancel by more than ~1e3: its terms are ~max(w², z²)·P
// while the result is ~max((w − z)², ℓ²)·P, ℓ = 1/G(z) the decay length (large nu only: for
// nu ≲ 30, ℓ ~ z/(nu+1) and the factor stays below (nu+1)²).
bool cancels(const student_t_law& t, double z, double w) {
  const double l = 1 / rate(t.nu(), z);
  const double big = std::fmax(w * w, z * z), small = std::fmax((w - z) * (w - z), l * l);
  return big > 1e3 * small;
}

// Beyond |z| = Z the density is the power law c·nu^((nu+1)/2)·|z|^−(nu+1) to relative
// (nu+1)nu/(2Z²) < 1e-16.
double power_law_start(double nu) { return 1e8 * std::fmax(nu, 1.0); }

// ∫ over the far tail |z| ≥ A (side = +1: [A, ∞), −1: (−∞, −A]) of the power law, in log space
// with every term scaled by A^(2−nu) so that u² never meets an underflowed probability (nu > 2):
// E_k = ∫ |z|^k p = C·A^(k−nu)/(nu−k), and ∫(z−w)²p = C·A^(2−nu)[1/(nu−2) − 2ρ/(nu−1) + ρ²/nu]
// with ρ = side·w/A (likewise the signed term).
interval_terms power_tail(const student_t_law& t, double A, double side, double u) {
  const double nu = t.nu(), s = t.scale(), mu = t.mu();
  const double logC = std::log(t.k().c) + t.k().half_nu1 * std::log(nu);
  const double lA = std::log(A);
  const double e0 = std::exp(logC - nu * lA) / nu;
  const double e1 = std::exp(logC + (1 - nu) * lA) / (nu - 1);
  const double e2 = std::exp(logC + (2 - nu) * lA) / (nu - 2);
  const double c2 = std::exp(logC + (2 - nu) * lA), c1 = std::exp(logC + (1 - nu) * lA);
  const double rho = side * ((u - mu) / s) / A;
  interval_terms r;
  r.p0 = e0;
  r.p1 = mu * e0 + s * side * e1;
  r.p2 = mu * mu * e0 + 2 * mu * s * side * e1 + s * s * e2;
  r.sq_err = s * s * c2 * (1 / (nu - 2) - rho * (2 / (nu - 1) - rho / nu));
  r.signed_err =
      s * s * c2 * (rho / (nu - 1) - 1 / (nu - 2)) + s * mu * c1 * side * (rho / nu - 1 / (nu - 1));
  return r;
}

// Closed forms over [za, zb] (file comment), nu > 2 unless an end is infinite.
interval_terms closed_form(const student_t_law& t, double za, double zb, double u) {
  const double mu = t.mu(), sc = t.scale(), nu = t.nu();
  const beta_split sp = prob_split(t);
  const double P = std_prob(t, sp, za, zb);
  const double Z1 = std_first(t, za, zb);
  if (nu <= 2) {  // an infinite interval: the second moment diverges
    interval_terms r;
    r.p0 = P;
    r.p1 = mu * P + sc * Z1;
    r.p2 = r.sq_err = INFINITY;
    r.signed_err = -INFINITY;
    return r;
  }
  // ∫t²p = nu/(2(nu−2)) × (difference of the second-moment beta fractions) on each side of 0.
  const beta_split s2{0.5 * (nu - 2), t.k().log_ab_second, 2, &t.tables()};
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

}  // namespace

interval_terms integrate(const student_t_law& t, double a, double b, double u) {
  if (!(a < b)) return {};
  const double mu = t.mu(), sc = t.scale(), nu = t.nu();
  const double za = (a - mu) / sc, zb = (b - mu) / sc;
  const t_density lp{t};
  const auto panel = [&](double pa, double pb) {
    return panel_nodes(t, (pa - mu) / sc, (pb - mu) / sc);
  };
  interval_terms r;
  // 1. Finite: one Gauss–Legendre panel if narrow; panels throughout when nu ≤ 2 or in the far
  //    tail where the closed forms underflow; closed forms otherwise.
  if (std::isfinite(za) && std::isfinite(zb)) {
    if (detail::gl_try(lp, panel, a, b, u, r)) return r;
    const double near = za > 0 ? za : zb < 0 ? zb : 0.0;
    if (nu <= 2 || underflows(t, near)) {
      detail::gl_composite(lp, panel, mu, sc, a, b, u, r);
      return r;
    }
    if (near != 0 && cancels(t, std::fabs(near), (near > 0 ? 1 : -1) * (u - mu) / sc)) {
      const double from = near > 0 ? a : b, to = near > 0 ? b : a;
      detail::gl_march(lp, panel, from, to, u, sc / panel_rate(t, std::fabs(near)), r);
      return r;
    }
    return closed_form(t, za, zb, u);
  }
  // 2. A far tail to infinity (nu > 2): panels up to the power-law zone, the power law beyond.
  const double side = za > 0 ? 1.0 : zb < 0 ? -1.0 : 0.0;
  const double end = side > 0 ? za : -zb;
  if (side != 0 && nu > 2 && cancels(t, end, (u - mu) / sc)) {
    const double from = side > 0 ? a : b, to = side > 0 ? b : a;
    detail::gl_march(lp, panel, from, to, u, sc / panel_rate(t, end), r);
    return r;
  }
  if (side != 0 && nu > 2 && underflows(t, end)) {
    const double Z = power_law_start(nu);
    if (end >= Z) return power_tail(t, end, side, u);
    const double xz = mu + side * Z * sc;
    if (side > 0)
      detail::gl_composite(lp, panel, mu, sc, a, xz, u, r);
    else
      detail::gl_composite(lp, panel, mu, sc, xz, b, u, r);
    r += power_tail(t, Z, side, u);
    return r;
  }
  return closed_form(t, za, zb, u);
}

double mean(const student_t_law& t) { return t.nu() > 1 ? t.mu() : NAN; }
double second_moment(const student_t_law& t) {
  if (t.nu() <= 2) return INFINITY;
  return t.mu() * t.mu() + t.scale() * t.scale() * t.nu() / (t.nu() - 2);
}

}  // namespace exmy
