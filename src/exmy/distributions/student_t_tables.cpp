// exmy/distributions/student_t_tables.cpp — building and evaluating the Student-t interpolants
// (see the header for the forms and why they are smooth).
#include "exmy/distributions/student_t_tables.hpp"

#include <algorithm>
#include <boost/math/special_functions/beta.hpp>
#include <cmath>

namespace exmy::detail {
namespace {

// The two incomplete-beta parameters of a fraction (header comment).
void beta_parameters(double nu, int which, double& a, double& b) {
  a = which == 0 ? 0.5 * nu : 0.5 * (nu - 2);
  b = which == 0 ? 0.5 : 1.5;
}

// √y = q/√(1 + q²): the inner fractions are y^b times a smooth function.
double root_y(double q) { return q / std::sqrt(1 + q * q); }

// 2F1(a + b, 1; a + 1; x) = I_x(a, b)·a·B(a, b)/(x^a (1 − x)^b) by its continued fraction
// (modified Lentz, Numerical Recipes §6.4 betacf) in long double. It carries no power terms, whose
// rounding for large a (e^-650 tails of nu = 1e6) costs Boost's ibeta up to ~3e-14; converges
// quickly for x ≤ (a + 1)/(a + b + 2).
double hypergeometric_cf(double a, double b, long double xl) {
  const long double tiny = 1e-300L, eps = 1e-19L;
  const long double qab = static_cast<long double>(a) + b, qap = a + 1.0L, qam = a - 1.0L;
  long double c = 1, d = 1 - qab * xl / qap;
  if (std::fabs(d) < tiny) d = tiny;
  d = 1 / d;
  long double h = d;
  for (int m = 1; m < 100000; ++m) {
    const int m2 = 2 * m;
    long double aa = m * (b - m) * xl / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (std::fabs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (std::fabs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = -(a + m) * (qab + m) * xl / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (std::fabs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (std::fabs(c) < tiny) c = tiny;
    d = 1 / d;
    const long double del = d * c;
    h *= del;
    if (std::fabs(del - 1) < eps) break;
  }
  return static_cast<double>(h);
}

// q with 1/(1 + q²) = x, capped at q_max (x = 0 when the split lies beyond the double range).
double q_of_x(double x) {
  if (!(x > 0)) return student_t_tables::q_max;
  return std::min(std::sqrt((1 - x) / x), student_t_tables::q_max);
}

}  // namespace

double boost_tail_fraction(double nu, int which, double q) {
  double a, b;
  beta_parameters(nu, which, a, b);
  // On the argument that is ≤ 1/2: y = q²/(1+q²) through the complement, or x = 1/(1+q²).
  const double q2 = q * q;
  if (q2 < 1) return boost::math::ibetac(b, a, q2 / (1 + q2));
  return boost::math::ibeta(a, b, 1 / (1 + q2));
}

double boost_inner_fraction(double nu, int which, double q) {
  double a, b;
  beta_parameters(nu, which, a, b);
  const double q2 = q * q;
  if (q2 < 1) return boost::math::ibeta(b, a, q2 / (1 + q2));
  return boost::math::ibetac(a, b, 1 / (1 + q2));
}

student_t_tables::student_t_tables(double nu, double c) : nu_(nu), c_(c), root_nu_(std::sqrt(nu)) {
  // 1. Splits: the tail fraction is 1/2 at x = ibeta_inv(a, b, 1/2) (where the split lies is
  //    immaterial to accuracy: each side loses at most a bit there).
  q_prob_ = std::max(q_of_x(boost::math::ibeta_inv(0.5 * nu, 0.5, 0.5)), 1e-300);
  // g = e^E with E = −((nu−1)/2)·log1p(q²) ≥ −700 keeps every tail above ~1e-304 normal.
  if (nu > 1) q_end_ = std::min(q_max, std::sqrt(std::expm1(1400 / (nu - 1))));
  q_end_ = std::max(q_end_, q_prob_);
  // 2. The three tables in v = asinh(q) (Chebyshev points are interior: q > 0 at every node).
  const auto q_at = [](double v) { return std::sinh(v); };
  inner_prob_ = chebyshev_table::fit(
      [&](double v) {
        const double q = q_at(v);
        return boost_inner_fraction(nu, 0, q) / root_y(q);
      },
      0, std::asinh(q_prob_));
  // B = (1 − x)·2F1(nu/2 + 1/2, 1; nu/2 + 1; x) (header), by the continued fraction (x in long
  // double: for large nu, B depends on x = 1 − z²/nu through 1 − x), which converges fast from
  // x ≤ (a + 1)/(a + 5/2) − 2/a on; nearer the split from Boost (given the exact y = 1 − x, and
  // there the tail's exponent is small, so no large power term rounds). The switch is a piece
  // boundary.
  const double a = 0.5 * nu, x_cf = (a + 1) / (a + 2.5) - 2 / a;
  const double q_join =
      std::min(q_end_, std::max(q_prob_, x_cf > 0 ? std::sqrt((1 - x_cf) / x_cf) : q_max));
  if (q_end_ > q_prob_)
    tail_prob_ = chebyshev_table::fit(
        [&](double v) {
          const double q = q_at(v);
          if (q < q_join) return boost_tail_fraction(nu, 0, q) / tail_scale(q, true);
          const long double q2 = static_cast<long double>(q) * q, x = 1 / (1 + q2);
          return static_cast<double>(q2 * x * hypergeometric_cf(a, 0.5, x));
        },
        {std::asinh(q_prob_), std::asinh(q_join), std::asinh(q_end_)});
  if (nu > 2) {
    double x2 = boost::math::ibeta_inv(0.5 * (nu - 2), 1.5, 0.5);
    q_second_ = std::max(q_of_x(x2), q_prob_);  // the inner table covers [0, q_prob) at least
    inner_second_ = chebyshev_table::fit(
        [&](double v) {
          const double q = q_at(v);
          const double r = root_y(q);
          return boost_inner_fraction(nu, 2, q) / (r * r * r);
        },
        0, std::asinh(q_second_));
  }
}

double student_t_tables::g(double q, bool exact) const {
  // Where |E| < 2 the double form is exact to an ulp or two; beyond, E·eps would show (7e-14 at
  // E = −700), so E and e^E are formed in long double. The tables are built from the long double
  // form throughout: a switch inside a piece would be a jump of an ulp, which no series fits.
  const double e = 0.5 * (1 - nu_);
  if (!exact) {
    const double l = std::log1p(q * q);
    if (std::fabs(e * l) < 2) return std::exp(e * l);
  }
  const long double ql = q;
  return static_cast<double>(std::exp(static_cast<long double>(e) * std::log1p(ql * ql)));
}

double student_t_tables::tail_scale(double q, bool exact) const {
  return 2 * c_ * g(q, exact) / (root_nu_ * q);
}

double student_t_tables::prob_inner(double q) const {
  if (q < q_prob_) return root_y(q) * inner_prob_(std::asinh(q));
  return 1 - prob_tail(q);
}

double student_t_tables::prob_tail(double q) const {
  if (q < q_prob_) return 1 - root_y(q) * inner_prob_(std::asinh(q));
  if (q >= q_end_) return boost_tail_fraction(nu_, 0, q);
  return tail_prob_(std::asinh(q)) * tail_scale(q);
}

double student_t_tables::second_tail(double q) const {
  if (q < q_prob_) return 1 - second_inner(q);
  if (q >= q_end_) return boost_tail_fraction(nu_, 2, q);
  // prob tail + 2c·g·z (header): both terms positive.
  const double gq = g(q);
  return tail_prob_(std::asinh(q)) * (2 * c_ * gq / (root_nu_ * q)) + 2 * c_ * gq * root_nu_ * q;
}

double student_t_tables::second_inner(double q) const {
  if (q < q_second_) {
    const double r = root_y(q);
    return r * r * r * inner_second_(std::asinh(q));
  }
  return 1 - second_tail(q);
}

}  // namespace exmy::detail
