// exmy/distributions/empirical.cpp — exact interval sums of a finite sample.
//
// Prefix sums of x and x² are kept in double-double (≈ 106-bit significand) every `block` points;
// a query adds the at most block−1 points past the last boundary. The cell functional
// Σ(x − u)² = Σx² − 2uΣx + u²n is then formed in double-double too: its cancellation (width ≪ |u|
// on 16-bit grids) costs ~(u/width)²·1e-32, far below the final rounding to double.
#include "exmy/distributions/empirical.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "exmy/formats/format_spec.hpp"

namespace exmy {
namespace {

constexpr std::size_t block = 64;

// Double-double arithmetic (Dekker/Knuth error-free transforms; fma for products).
struct dd {
  double hi = 0, lo = 0;
};
dd two_sum(double a, double b) {
  const double s = a + b, bb = s - a;
  return {s, (a - (s - bb)) + (b - bb)};
}
dd renorm(double hi, double lo) {
  const double s = hi + lo;
  return {s, lo - (s - hi)};
}
dd add(dd x, dd y) {
  dd s = two_sum(x.hi, y.hi);
  const dd t = two_sum(x.lo, y.lo);
  s.lo += t.hi;
  s = renorm(s.hi, s.lo);
  s.lo += t.lo;
  return renorm(s.hi, s.lo);
}
dd neg(dd x) { return {-x.hi, -x.lo}; }
dd two_prod(double a, double b) {
  const double p = a * b;
  return {p, std::fma(a, b, -p)};
}
dd mul(dd x, double y) {
  dd p = two_prod(x.hi, y);
  p.lo += x.lo * y;
  return renorm(p.hi, p.lo);
}
double value(dd x) { return x.hi + x.lo; }

}  // namespace

struct empirical_data {
  std::vector<double> x;   // sorted
  std::vector<dd> s1, s2;  // Σx, Σx² over x[0 .. k·block)
};

namespace {

// Σx and Σx² over x[0, j).
void prefix(const empirical_data& d, std::size_t j, dd& s1, dd& s2) {
  const std::size_t k = j / block;
  s1 = d.s1[k];
  s2 = d.s2[k];
  for (std::size_t i = k * block; i < j; ++i) {
    s1 = add(s1, dd{d.x[i], 0});
    s2 = add(s2, two_prod(d.x[i], d.x[i]));
  }
}

// Σx and Σx² over x[i, j).
void range_sums(const empirical_data& d, std::size_t i, std::size_t j, dd& s1, dd& s2) {
  if (j - i <= 2 * block) {
    s1 = s2 = dd{};
    for (std::size_t k = i; k < j; ++k) {
      s1 = add(s1, dd{d.x[k], 0});
      s2 = add(s2, two_prod(d.x[k], d.x[k]));
    }
    return;
  }
  dd a1, a2;
  prefix(d, j, s1, s2);
  prefix(d, i, a1, a2);
  s1 = add(s1, neg(a1));
  s2 = add(s2, neg(a2));
}

const empirical_data& data_of(const empirical_law& e) {
  if (!e.data) throw error("empirical distribution without data");
  return *e.data;
}

}  // namespace

empirical_law make_empirical_law(std::vector<double> sample) {
  if (sample.empty()) throw error("empirical distribution needs at least one sample value");
  for (double v : sample)
    if (!std::isfinite(v)) throw error("empirical distribution: sample contains a NaN or inf");
  auto d = std::make_shared<empirical_data>();
  d->x = std::move(sample);
  std::sort(d->x.begin(), d->x.end());
  const std::size_t n = d->x.size();
  d->s1.assign(n / block + 1, dd{});
  d->s2.assign(n / block + 1, dd{});
  dd s1, s2;
  for (std::size_t i = 0; i < n; ++i) {
    if (i % block == 0) {
      d->s1[i / block] = s1;
      d->s2[i / block] = s2;
    }
    s1 = add(s1, dd{d->x[i], 0});
    s2 = add(s2, two_prod(d->x[i], d->x[i]));
  }
  if (n % block == 0) {
    d->s1[n / block] = s1;
    d->s2[n / block] = s2;
  }
  return empirical_law{std::move(d)};
}

std::size_t size(const empirical_law& e) { return data_of(e).x.size(); }
const std::vector<double>& sorted_values(const empirical_law& e) { return data_of(e).x; }
void validate(const empirical_law& e) { data_of(e); }

double pdf(const empirical_law&, double) {
  throw error("an empirical distribution has no density (use integrate())");
}
double cdf(const empirical_law& e, double x) {
  const auto& v = data_of(e).x;
  return double(std::upper_bound(v.begin(), v.end(), x) - v.begin()) / double(v.size());
}
double ccdf(const empirical_law& e, double x) {
  const auto& v = data_of(e).x;
  return double(v.end() - std::upper_bound(v.begin(), v.end(), x)) / double(v.size());
}

interval_terms integrate(const empirical_law& e, double a, double b, double u) {
  const empirical_data& d = data_of(e);
  interval_terms r;
  if (!(a < b)) return r;
  const auto i = std::size_t(std::lower_bound(d.x.begin(), d.x.end(), a) - d.x.begin());
  const auto j = std::size_t(std::lower_bound(d.x.begin(), d.x.end(), b) - d.x.begin());
  if (i >= j) return r;
  dd s1, s2;
  range_sums(d, i, j, s1, s2);
  const double n = double(d.x.size()), cnt = double(j - i);
  // Σ(x − u)² = Σx² − 2uΣx + u²·cnt and Σx(u − x) = uΣx − Σx², in double-double.
  const dd u_s1 = mul(s1, u);
  const dd sq = add(add(s2, neg(mul(u_s1, 2))), mul(two_prod(u, u), cnt));
  const dd sg = add(u_s1, neg(s2));
  r.p0 = cnt / n;
  r.p1 = value(s1) / n;
  r.p2 = value(s2) / n;
  r.sq_err = value(sq) / n;
  r.signed_err = value(sg) / n;
  return r;
}

double mean(const empirical_law& e) { return integrate(e, -INFINITY, INFINITY, 0).p1; }
double second_moment(const empirical_law& e) { return integrate(e, -INFINITY, INFINITY, 0).p2; }
double support_lo(const empirical_law& e) { return data_of(e).x.front(); }
double support_hi(const empirical_law& e) { return std::nextafter(data_of(e).x.back(), INFINITY); }

}  // namespace exmy
