// exmy/distributions/empirical.hpp — the empirical law of a finite sample or tensor: mass 1/N at
// every value. Interval functionals are exact sums over the points in [a, b), found by binary
// search and blocked prefix sums in double-double, so the MSE of a finite set against any grid
// costs O(grid · log N) after one sort (reference-spec §5.1 line search, Q17; the PTQ harness).
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "exmy/distributions/interval_terms.hpp"

namespace exmy {

struct empirical_data;  // sorted values and prefix sums (empirical.cpp)

/// Mass 1/N at each sample value. Intervals are half-open [a, b), so adjacent cells never count a
/// point twice; the support is [min, next double above max) so that the top cell holds the max.
struct empirical_law {
  std::shared_ptr<const empirical_data> data;
};

/// Sorts a copy of the sample and builds the prefix sums. Throws exmy::error for an empty sample
/// or a NaN/inf value.
empirical_law make_empirical_law(std::vector<double> sample);
/// Number of sample points.
std::size_t size(const empirical_law& e);
/// The sample, sorted ascending.
const std::vector<double>& sorted_values(const empirical_law& e);

void validate(const empirical_law& e);
/// An empirical law has no density: throws exmy::error.
double pdf(const empirical_law& e, double x);
/// Fraction of points ≤ x.
double cdf(const empirical_law& e, double x);
/// Fraction of points > x.
double ccdf(const empirical_law& e, double x);
/// Exact sums over the points in [a, b) divided by N (double-double internally, rounded once).
interval_terms integrate(const empirical_law& e, double a, double b, double u);
double mean(const empirical_law& e);
double second_moment(const empirical_law& e);
inline bool finite_second_moment(const empirical_law&) { return true; }
/// Smallest value and the next double above the largest one.
double support_lo(const empirical_law& e);
double support_hi(const empirical_law& e);

}  // namespace exmy
