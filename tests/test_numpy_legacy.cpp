// Oracle tests of numpy_legacy_rng: MT19937 against std::mt19937 (same init_genrand seeding), spot
// values printed by Debian python3-numpy 1.24.2, and whole streams compared bit for bit with numpy
// run through popen (skipped with a message when no Python with numpy is found; set EXMY_PYTHON to
// choose the interpreter).
#include <doctest/doctest.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "exmy/random/numpy_legacy.hpp"
#include "exmy/sqnr/range_reference.hpp"

using namespace exmy;

namespace {

// The first interpreter in EXMY_PYTHON, /usr/bin/python3, python3 that imports numpy ("" if none).
std::string numpy_python() {
  static const std::string found = [] {
    std::vector<std::string> cands;
    if (const char* env = std::getenv("EXMY_PYTHON")) cands.emplace_back(env);
    cands.emplace_back("/usr/bin/python3");
    cands.emplace_back("python3");
    for (const std::string& py : cands) {
      const std::string cmd = py + " -c 'import numpy' >/dev/null 2>&1";
      if (std::system(cmd.c_str()) == 0) return py;
    }
    return std::string();
  }();
  return found;
}

// Runs a Python snippet that writes raw little-endian bytes to stdout; returns them as T values.
template <class T>
std::vector<T> run_numpy(const std::string& body) {
  const std::string cmd = numpy_python() + " -c 'import sys, numpy as np\n" + body + "'";
  std::vector<T> out;
  FILE* pipe = popen(cmd.c_str(), "r");
  REQUIRE(pipe != nullptr);
  T buf[4096];
  std::size_t got;
  while ((got = std::fread(buf, sizeof(T), 4096, pipe)) > 0) out.insert(out.end(), buf, buf + got);
  REQUIRE(pclose(pipe) == 0);
  return out;
}

// Index of the first bitwise difference (size of the shorter one when one is a prefix).
std::size_t first_difference(const std::vector<double>& a, const std::vector<double>& b) {
  const std::size_t n = std::min(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i)
    if (std::memcmp(&a[i], &b[i], sizeof(double)) != 0) return i;
  return n;
}

void check_same_stream(const std::vector<double>& ours, const std::vector<double>& theirs,
                       const char* what) {
  INFO(what);
  REQUIRE(ours.size() == theirs.size());
  const std::size_t d = first_difference(ours, theirs);
  if (d < ours.size()) {
    char msg[160];
    std::snprintf(msg, sizeof msg, "first difference at %zu: %.17g vs numpy %.17g", d, ours[d],
                  theirs[d]);
    FAIL(msg);
  }
}

#define SKIP_WITHOUT_NUMPY()                                                                   \
  if (numpy_python().empty()) {                                                                \
    MESSAGE("skipped: no Python with numpy found (set EXMY_PYTHON or install python3-numpy)"); \
    return;                                                                                    \
  }

}  // namespace

TEST_CASE("MT19937 words equal std::mt19937 (both seed with init_genrand)") {
  numpy_legacy_rng rng(10);
  std::mt19937 ref(10);
  for (int i = 0; i < 1000000; ++i) REQUIRE(rng.next_u32() == ref());
  // C++ [rand.predef]: the 10000th output of mt19937 default-seeded (5489) is 4123659995.
  rng.reseed(5489);
  std::uint32_t v = 0;
  for (int i = 0; i < 10000; ++i) v = rng.next_u32();
  CHECK(v == 4123659995u);
}

TEST_CASE("spot values after np.random.seed(10) (printed by python3-numpy 1.24.2)") {
  numpy_legacy_rng rng(10);
  // np.random.seed(10); np.random.random_sample(), np.random.random_sample()
  CHECK(rng.random_sample() == 0.771320643266746);
  CHECK(rng.random_sample() == 0.0207519493594015);
  // np.random.seed(10); np.random.standard_normal(3): f·x2 first, then the cached f·x1.
  rng.reseed(10);
  CHECK(rng.gauss() == 1.331586504129518);
  CHECK(rng.gauss() == 0.7152789743984055);
  CHECK(rng.gauss() == -1.5454002921112682);
  // np.random.seed(10); np.random.standard_t(8, 3)
  rng.reseed(10);
  const std::vector<double> t = rng.standard_t(8.0, 3);
  CHECK(t[0] == 1.1663162181582034);
  CHECK(t[1] == -0.820119601015746);
  CHECK(t[2] == 0.2696392138144082);
  // np.random.seed(10); np.random.standard_gamma(0.5, 2)  (the shape < 1 branch)
  rng.reseed(10);
  CHECK(rng.standard_gamma(0.5) == 0.7941369737330304);
  CHECK(rng.standard_gamma(0.5) == 0.42968950559801156);
  // np.random.seed(10); np.random.uniform(-1, 1, 5000000)[-2:]
  rng.reseed(10);
  const std::vector<double> u = rng.uniform(-1.0, 1.0, 5000000);
  CHECK(u[4999998] == -0.23103780967312515);
  CHECK(u[4999999] == -0.1235891188695093);
}

TEST_CASE("seeding equals np.random.seed(10).get_state()") {
  SKIP_WITHOUT_NUMPY();
  const std::vector<std::uint32_t> key = run_numpy<std::uint32_t>(
      "np.random.seed(10); s = np.random.get_state()\n"
      "sys.stdout.buffer.write(s[1].astype(\"<u4\").tobytes())\n"
      "sys.stdout.buffer.write(np.array([s[2], s[3]], \"<u4\").tobytes())");
  numpy_legacy_rng rng(10);
  REQUIRE(key.size() == 626);
  for (int i = 0; i < numpy_legacy_rng::state_words; ++i) CHECK(key[i] == rng.key()[i]);
  CHECK(key[624] == static_cast<std::uint32_t>(rng.position()));
  CHECK(key[625] == 0u);  // has_gauss
}

TEST_CASE("legacy streams equal numpy bit for bit (first 100000 values)") {
  SKIP_WITHOUT_NUMPY();
  const std::size_t n = 100000;
  struct stream {
    const char* numpy;
    std::vector<double> (*ours)(std::size_t);
  };
  const stream streams[] = {
      {"np.random.random_sample(N)",
       [](std::size_t m) {
         numpy_legacy_rng r(10);
         std::vector<double> v(m);
         for (double& x : v) x = r.random_sample();
         return v;
       }},
      {"np.random.uniform(-1, 1, N)",
       [](std::size_t m) { return numpy_legacy_rng(10).uniform(-1, 1, m); }},
      {"np.random.normal(0, 1, N)",
       [](std::size_t m) { return numpy_legacy_rng(10).normal(0, 1, m); }},
      {"np.random.normal(3, 2.5, N)",
       [](std::size_t m) { return numpy_legacy_rng(10).normal(3, 2.5, m); }},
      {"np.random.standard_exponential(N)",
       [](std::size_t m) {
         numpy_legacy_rng r(10);
         std::vector<double> v(m);
         for (double& x : v) x = r.standard_exponential();
         return v;
       }},
      {"np.random.standard_gamma(0.3, N)",
       [](std::size_t m) {
         numpy_legacy_rng r(10);
         std::vector<double> v(m);
         for (double& x : v) x = r.standard_gamma(0.3);
         return v;
       }},
      {"np.random.standard_gamma(1.0, N)",
       [](std::size_t m) {
         numpy_legacy_rng r(10);
         std::vector<double> v(m);
         for (double& x : v) x = r.standard_gamma(1.0);
         return v;
       }},
      {"np.random.standard_gamma(4.0, N)",
       [](std::size_t m) {
         numpy_legacy_rng r(10);
         std::vector<double> v(m);
         for (double& x : v) x = r.standard_gamma(4.0);
         return v;
       }},
      {"np.random.standard_t(8, N)",
       [](std::size_t m) { return numpy_legacy_rng(10).standard_t(8, m); }},
      {"np.random.standard_t(2.5, N)",
       [](std::size_t m) { return numpy_legacy_rng(10).standard_t(2.5, m); }},
  };
  for (const stream& s : streams) {
    const std::vector<double> theirs =
        run_numpy<double>(std::string("N = ") + std::to_string(n) + "; np.random.seed(10)\n" +
                          "sys.stdout.buffer.write(" + s.numpy + ".astype(\"<f8\").tobytes())");
    check_same_stream(s.ours(n), theirs, s.numpy);
  }
}

TEST_CASE("the cached Gaussian carries across calls and distributions like numpy") {
  SKIP_WITHOUT_NUMPY();
  // An odd number of normals leaves a cached value that standard_t's numerator consumes next.
  const std::vector<double> theirs = run_numpy<double>(
      "np.random.seed(10)\n"
      "v = np.concatenate([np.random.normal(0, 1, 3), np.random.standard_t(8, 5),\n"
      "                    np.random.random_sample(2), np.random.normal(0, 1, 1),\n"
      "                    np.random.standard_gamma(2.0, 7), np.random.normal(0, 1, 2)])\n"
      "sys.stdout.buffer.write(v.astype(\"<f8\").tobytes())");
  numpy_legacy_rng r(10);
  std::vector<double> ours;
  for (double x : r.normal(0, 1, 3)) ours.push_back(x);
  for (double x : r.standard_t(8, 5)) ours.push_back(x);
  for (int i = 0; i < 2; ++i) ours.push_back(r.random_sample());
  ours.push_back(r.gauss());
  for (int i = 0; i < 7; ++i) ours.push_back(r.standard_gamma(2.0));
  for (double x : r.normal(0, 1, 2)) ours.push_back(x);
  check_same_stream(ours, theirs, "mixed sequence");
}

TEST_CASE("paper samples (reference-spec §1): all 5,000,000 values of each equal numpy") {
  SKIP_WITHOUT_NUMPY();
  const char* body[] = {
      "np.random.seed(10); v = np.random.uniform(-1.0, 1.0, 5000000)",
      "np.random.seed(10); v = np.clip(np.random.normal(0.0, 1.0, 5000000), -10.0, 10.0)",
      "np.random.seed(10); v = np.clip(np.random.standard_t(8.0, 5000000), -100.0, 100.0)"};
  const char* which[] = {"uniform", "normal", "student_t"};
  for (int i = 0; i < 3; ++i) {
    const std::vector<double> theirs = run_numpy<double>(
        std::string(body[i]) + "\nsys.stdout.buffer.write(v.astype(\"<f8\").tobytes())");
    check_same_stream(paper_sample(which[i]), theirs, which[i]);
  }
}
