// Uses the installed library: OCP E4M3 rounds 1.0625 (a tie) to the even neighbour 1.0.
#include <cstdio>

#include "exmy/formats/format_spec.hpp"
#include "exmy/quantize/params.hpp"
#include "exmy/quantize/quantize_cpu.hpp"

int main() {
  const exmy::quant_params p = exmy::make_native_params(exmy::parse_format("e4m3fn"));
  float x[2] = {1.0625f, 500.0f}, y[2];
  exmy::quantize(x, y, 2, p);
  std::printf("%g %g\n", y[0], y[1]);
  return (y[0] == 1.0f && y[1] == 448.0f) ? 0 : 1;
}
