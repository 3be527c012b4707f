// fuzz/fuzz_distribution.cpp — libFuzzer target for distribution specs (issue 8):
// parse_distribution on arbitrary text. exmy::error is the accepted failure. A parsed law must
// keep the engine's promises, or abort() makes it a finding: its canonical text parses back to the
// same text; cdf/ccdf lie in [0, 1] and the cdf is monotone (to 1e-14); E[X²] is not NaN; and the analytic
// MSE of a saturating format (E4M3 and INT8, every rounding mode, maxval near the law's scale and
// far from it) is neither NaN nor negative, and finite whenever E[X²] is, since
// (Q − X)² ≤ 2X² + 2·maxval² (README "Errors, limits and special values", analytic engine row).
// The engine may refuse a law for its scale only (view_of: root mean square, location/scale).
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <string>

#include "exmy/distributions/distribution.hpp"
#include "exmy/formats/format_spec.hpp"
#include "exmy/quantize/params.hpp"
#include "exmy/sqnr/analytic.hpp"
#include "exmy/sqnr/report.hpp"

namespace {

using namespace exmy;

void require(bool ok) {
  if (!ok) std::abort();
}

void check_law(const distribution& d) {
  const std::string text = to_string(d);
  require(to_string(parse_distribution(text)) == text);
  const double ex2 = second_moment(d);
  require(!std::isnan(ex2) && ex2 >= 0);
  double prev = 0;
  for (double x : {-HUGE_VAL, -1e300, -10.0, -1.0, -1e-300, 0.0, 1e-300, 1.0, 10.0, 1e300, HUGE_VAL}) {
    const double c = cdf(d, x), cc = ccdf(d, x);
    // Monotone up to rounding: a truncated law's cdf is (F(x) − F(lo))/Z, a few ulps apart near
    // the median (student_t:nu=0.5,trunc=4 gives 0.50000000000000011 at −1e-300 and 0.5 at 0;
    // student_t:nu=1.5,scale=4.9e-162,trunc=4, its ends 8e161 scales out, 0.50000000000000167).
    require(c >= 0 && c <= 1 && cc >= 0 && cc <= 1 && c >= prev - 1e-14);
    require(pdf(d, x) >= 0);
    prev = c;
  }
  law_view v;
  try {
    v = view_of(d);
  } catch (const exmy::error&) {
    // The engine refuses laws whose root mean square leaves 1e-100…1e100, or whose location is
    // more than 1e100 scales from 0 (README "Errors, limits and special values").
    return;
  }
  const double scale = std::isfinite(ex2) && ex2 > 0 ? std::sqrt(ex2) : 1.0;
  for (const char* name : {"e4m3", "int8"}) {
    const format_spec f = parse_format(name);
    for (double m : {3 * scale, 1e-3 * scale, 1e3 * scale}) {
      quant_params p;
      try {
        p = make_params(f, m);
      } catch (const exmy::error&) {
        continue;  // a maxval whose grid leaves the double range (extreme scales)
      }
      for (rounding r : {rounding::rne, rounding::rna, rounding::rtz, rounding::stochastic}) {
        const error_moments e = analytic_moments(v, p, r);
        require(!std::isnan(e.mse) && e.mse >= 0);
        if (std::isfinite(ex2) && std::isfinite(2 * ex2 + 2 * m * m)) require(std::isfinite(e.mse));
      }
    }
  }
}

// Whether some nu= in the spec satisfies `pred` (the number as strtod reads it).
template <class Pred>
bool some_nu(const std::string& text, Pred pred) {
  for (std::size_t i = text.find("nu="); i != std::string::npos; i = text.find("nu=", i + 3))
    if (pred(std::strtod(text.c_str() + i + 3, nullptr))) return true;
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 1024) return 0;
  const std::string text(reinterpret_cast<const char*>(data), size);
  // Student-t integrals take time in proportion to nu (uninstrumented: a law clipped at 80 and a
  // few cdf values 0.4 s at nu = 1e4, 44 s at 1e6, the largest accepted; issue 8 finding, left to
  // the owner of student_t.cpp): such inputs are skipped so that runs do not stall on it.
  if (some_nu(text, [](double nu) { return nu > 1000; })) return 0;
  bool ok = false;
  distribution d = uniform(0, 1);
  try {
    d = parse_distribution(text);
    ok = true;
  } catch (const exmy::error&) {
  } catch (const std::exception&) {
    // Known finding, left to the owner of student_t.cpp: a subnormal nu makes the law's
    // constructor throw Boost's overflow_error (nu=1e-310) or domain_error (nu=3.9e-324:
    // tgamma(0)) from tgamma_delta_ratio before the distribution's own nu check (1e-100…1e6)
    // can refuse it with an exmy::error. Any other exception is a finding.
    const bool subnormal_nu = some_nu(text, [](double nu) { return nu < 1e-300; });
    if (text.compare(0, 10, "student_t:") != 0 || !subnormal_nu) throw;
  }
  if (ok) check_law(d);  // an exmy::error escaping from here terminates the run: a finding
  return 0;
}
