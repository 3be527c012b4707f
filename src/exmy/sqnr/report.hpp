// exmy/sqnr/report.hpp — one analytic result record per (distribution, format): the range method,
// the chosen maxval, MSE and SQNR in both conventions, the error decomposition and the dot-product
// error. What compute_quant_error prints and what notebooks call.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "exmy/distributions/distribution.hpp"
#include "exmy/formats/format_spec.hpp"
#include "exmy/sqnr/analytic.hpp"

namespace exmy {

class sorted_sample;

/// How the maxval is chosen.
enum class range_method : unsigned char {
  reference,  ///< the paper's sample line search (reference-spec §5.1) on numpy's legacy stream
  optimal,    ///< the exact minimiser of the analytic MSE (range_optimal.hpp)
  fixed,      ///< a given maxval
};
const char* to_string(range_method m);
/// Parses "reference" | "optimal" | "fixed".
range_method parse_range_method(const std::string& s);

/// The engine's view of a distribution (support, point masses, closed-form interval integrals).
law_view view_of(const distribution& d);

/// The paper's sample for a distribution, drawn like the reference script (reference-spec §1):
/// np.random.seed(seed), one call of n values (uniform(lo, hi) / normal(mu, sigma) /
/// scale·standard_t(nu)), then clipped to the bounds. Throws exmy::error for other laws and for
/// truncated ones (the reference has no sampler for them).
std::vector<double> reference_sample(const distribution& d, std::size_t n = 5000000,
                                     unsigned seed = 10);

/// One row of results.
struct sqnr_record {
  std::string distribution;  ///< canonical spec
  std::string format;        ///< canonical format name
  range_method method = range_method::optimal;
  rounding mode = rounding::rne;
  double maxval = 0;
  error_moments moments;
  double dot_mse = 0;
  double dot_sqnr_db = 0;
  double dot_paper_db = 0;
  int evaluations = 0;  ///< MSE evaluations spent by the range search (optimal)
};

/// Options of evaluate().
struct evaluate_options {
  range_method method = range_method::optimal;
  double maxval = 0;                        ///< fixed: the maxval
  rounding mode = rounding::rne;
  const sorted_sample* sample = nullptr;    ///< reference: the prepared sample of this distribution
};

/// Evaluates one (distribution, format) cell. In reference mode the dot product of a uniform law
/// uses E[Q−X] as its cross term, as the paper's code does (reference-spec Q5); every other mode
/// uses E[X(Q−X)].
sqnr_record evaluate(const distribution& d, const format_spec& f, const evaluate_options& opt);

}  // namespace exmy
