// exmy/distributions/chebyshev_table.cpp — Chebyshev points and the discrete cosine transform of
// chebyshev_table.hpp.
#include "exmy/distributions/chebyshev_table.hpp"

#include <array>

namespace exmy::detail {
namespace {

constexpr long double pi = 3.141592653589793238462643383279502884L;

// cos(πk(j + ½)/n) for k, j < n: the transform's matrix, computed once, in long double so that
// the transform adds no noise of its own above the samples' (the fit's tolerance sits just above
// the noise of double samples).
struct cosine_matrix {
  std::array<long double, chebyshev_table::terms * chebyshev_table::terms> m;
  cosine_matrix() {
    constexpr int n = chebyshev_table::terms;
    for (int k = 0; k < n; ++k)
      for (int j = 0; j < n; ++j) m[k * n + j] = std::cos(pi * k * (j + 0.5L) / n);
  }
};
const cosine_matrix& cosines() {
  static const cosine_matrix c;
  return c;
}

}  // namespace

double chebyshev_table::node(int j) {  // row k = 1
  return static_cast<double>(cosines().m[terms + j]);
}

void chebyshev_table::coefficients(const double* values, double* out) {
  // c_k = (2/n) Σ_j f(t_j) cos(πk(j + ½)/n), with c_0 halved so that f = Σ c_k T_k.
  const auto& m = cosines().m;
  for (int k = 0; k < terms; ++k) {
    long double s = 0;
    for (int j = 0; j < terms; ++j) s += values[j] * m[k * terms + j];
    out[k] = static_cast<double>((k == 0 ? 1 : 2) * s / terms);
  }
}

}  // namespace exmy::detail
