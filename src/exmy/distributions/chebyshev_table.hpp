// exmy/distributions/chebyshev_table.hpp — a smooth function on [lo, hi] stored as piecewise
// Chebyshev series, for laws whose cumulative functions are slow to evaluate (Student-t through
// Boost's incomplete beta, ~1 µs a call; student_t_tables.hpp).
//
// fit() samples the function at the 25 Chebyshev points of the first kind of a piece, forms the
// series by the discrete cosine transform, and halves the piece until its last three coefficients
// are below `rel_tol` times the smallest |f| sampled on it (the chebfun criterion, made relative
// so that a positive function keeps its relative accuracy where it is small). A value then costs a
// binary search over the breakpoints and one Clenshaw recurrence (~50 ns).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

namespace exmy::detail {

class chebyshev_table {
 public:
  static constexpr int terms = 25;  ///< coefficients per piece (degree 24)

  /// f(x) on [lo, hi] to ~rel_tol relative, pieces halved at most max_depth times.
  template <class F>
  static chebyshev_table fit(const F& f, double lo, double hi, double rel_tol = 2e-15,
                             int max_depth = 60, std::size_t max_pieces = 512) {
    return fit(f, std::vector<double>{lo, hi}, rel_tol, max_depth, max_pieces);
  }
  /// The same from given initial pieces (ascending breakpoints, e.g. where f switches formula).
  template <class F>
  static chebyshev_table fit(const F& f, const std::vector<double>& breaks, double rel_tol = 2e-15,
                             int max_depth = 60, std::size_t max_pieces = 512) {
    chebyshev_table t;
    t.breaks_.push_back(breaks.front());
    for (std::size_t i = 0; i + 1 < breaks.size(); ++i)
      if (breaks[i + 1] > breaks[i])
        t.add(f, breaks[i], breaks[i + 1], rel_tol, max_depth, max_pieces);
    return t;
  }

  bool empty() const { return coef_.empty(); }
  double lo() const { return breaks_.front(); }
  double hi() const { return breaks_.back(); }
  std::size_t pieces() const { return breaks_.size() - 1; }

  /// The series at x (clamped into [lo, hi]).
  double operator()(double x) const {
    // Piece: the last breakpoint ≤ x (std::upper_bound over a few dozen values).
    std::size_t i = static_cast<std::size_t>(
        std::upper_bound(breaks_.begin() + 1, breaks_.end() - 1, x) - (breaks_.begin() + 1));
    const double a = breaks_[i], b = breaks_[i + 1];
    const double t = std::min(1.0, std::max(-1.0, ((x - a) - (b - x)) / (b - a)));
    const double* c = &coef_[i * terms];
    // Clenshaw: b_k = c_k + 2t·b_{k+1} − b_{k+2}, value = c_0 + t·b_1 − b_2.
    double b1 = 0, b2 = 0;
    for (int k = terms - 1; k >= 1; --k) {
      const double b0 = c[k] + 2 * t * b1 - b2;
      b2 = b1;
      b1 = b0;
    }
    return c[0] + t * b1 - b2;
  }

 private:
  // Chebyshev coefficients of the values at the points cos(π(j + ½)/n), j = 0 … n − 1.
  static void coefficients(const double* values, double* out);
  static double node(int j);  // cos(π(j + ½)/n)

  template <class F>
  void add(const F& f, double a, double b, double rel_tol, int depth, std::size_t budget) {
    double v[terms], c[terms];
    double smallest = INFINITY;
    for (int j = 0; j < terms; ++j) {
      const double t = node(j);
      v[j] = f(0.5 * (a + b) + 0.5 * (b - a) * t);
      smallest = std::min(smallest, std::fabs(v[j]));
    }
    coefficients(v, c);
    const double tail =
        std::max({std::fabs(c[terms - 1]), std::fabs(c[terms - 2]), std::fabs(c[terms - 3])});
    const double m = 0.5 * a + 0.5 * b;
    // Depth-first: a piece that cannot converge (a singular function) stops refining once the
    // table holds `budget` pieces.
    if (tail > rel_tol * smallest && depth > 0 && m > a && m < b && pieces() < budget) {
      add(f, a, m, rel_tol, depth - 1, budget);
      add(f, m, b, rel_tol, depth - 1, budget);
      return;
    }
    coef_.insert(coef_.end(), c, c + terms);
    breaks_.push_back(b);
  }

  std::vector<double> breaks_;  // pieces + 1 ascending breakpoints
  std::vector<double> coef_;    // pieces × terms
};

}  // namespace exmy::detail
