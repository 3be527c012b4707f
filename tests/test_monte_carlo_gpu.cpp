// The Monte-Carlo pass on a CUDA device against the CPU (label gpu; issue 4 of exmy "Tests"): the
// sums — and so the MSE, interval and z — are bit-identical. Without a usable device the
// comparisons are skipped with "SKIPPED: <reason>" and the error path is checked instead.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "exmy/distributions/distribution.hpp"
#include "exmy/formats/format_spec.hpp"
#include "exmy/quantize/params.hpp"
#include "exmy/sqnr/monte_carlo.hpp"

using namespace exmy;

namespace {

std::uint64_t bits(double x) {
  std::uint64_t b;
  std::memcpy(&b, &x, 8);
  return b;
}

mc_result run(const distribution& d, const quant_params& p, std::uint64_t n, rounding r,
              mc_device dev) {
  mc_options o;
  o.samples = n;
  o.seed = 77;
  o.mode = r;
  o.threads = 2;
  o.device = dev;
  return monte_carlo_mse(d, p, o);
}

}  // namespace

TEST_CASE("gpu: Monte-Carlo sums on the device equal the host's bit for bit") {
  std::string why;
  if (!mc_cuda_available(&why)) {
    MESSAGE("SKIPPED: " << why);
    const distribution d = normal();
    CHECK_THROWS_AS(run(d, make_params(parse_format("e4m3"), 4), 1000, rounding::rne,
                        mc_device::cuda),
                    error);
    return;
  }
  std::vector<double> pts;
  for (int i = 0; i < 3000; ++i) pts.push_back(std::sin(0.7 * i) * (1 + i % 5));
  struct c {
    distribution d;
    const char* fmt;
    rounding r;
  };
  const c cases[] = {
      {parse_distribution("uniform:lo=-1,hi=1"), "e4m3", rounding::rne},
      {parse_distribution("normal:mu=0,sigma=1,clip=10"), "e5m2", rounding::rne},
      {parse_distribution("normal:mu=0,sigma=1,trunc_lo=-1,trunc_hi=2"), "e3m4", rounding::rtz},
      {parse_distribution("student_t:nu=8,clip=100"), "e4m3", rounding::stochastic},
      {parse_distribution("student_t:nu=0.7,clip=30"), "e2m5", rounding::rna},
      {parse_distribution("laplace:b=1,trunc=3"), "int8", rounding::rne},
      {empirical(pts, clipped(-2, 3)), "e4m3", rounding::rne},
  };
  for (const c& cs : cases) {
    CAPTURE(to_string(cs.d));
    const quant_params p = make_params(parse_format(cs.fmt), 3.0);
    for (std::uint64_t n : {std::uint64_t{1}, std::uint64_t{4097}, std::uint64_t{3000001}}) {
      CAPTURE(n);
      const mc_result h = run(cs.d, p, n, cs.r, mc_device::cpu);
      const mc_result g = run(cs.d, p, n, cs.r, mc_device::cuda);
      CHECK(g.sums.n == h.sums.n);
      CHECK(bits(g.sums.e) == bits(h.sums.e));
      CHECK(bits(g.sums.ee) == bits(h.sums.ee));
      CHECK(bits(g.sums.xe) == bits(h.sums.xe));
      CHECK(bits(g.sums.xx) == bits(h.sums.xx));
      CHECK(bits(g.sums.e4) == bits(h.sums.e4));
      CHECK(bits(g.sums.x) == bits(h.sums.x));
      CHECK(g.sums.n_clip == h.sums.n_clip);
      CHECK(bits(g.sums.ee_clip) == bits(h.sums.ee_clip));
      CHECK(bits(g.sums.e4_clip) == bits(h.sums.e4_clip));
    }
  }
}
