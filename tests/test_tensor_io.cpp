// tests/test_tensor_io.cpp — tensor file readers and writers, code export, IDX (issue 5, "Tensor
// input/output" and "Bad input").
//
// Oracles: Debian python3-numpy and python3-onnx write the fixtures and the expected float32
// values (tests/tensor_io_fixtures.py); the matplotlib sample data (Debian python-matplotlib-data)
// and Fashion-MNIST (Debian dataset-fashion-mnist) are real files read by both sides. Bad-input
// cases are built here byte by byte. The code export is checked against quantize() bit for bit.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>
#include <zlib.h>

#include "exmy/formats/format_spec.hpp"
#include "exmy/ptq/codes.hpp"
#include "exmy/ptq/idx.hpp"
#include "exmy/ptq/tensor_io.hpp"
#include "exmy/ptq/tensor_source.hpp"
#include "exmy/quantize/params.hpp"
#include "exmy/quantize/quantize_cpu.hpp"

using namespace exmy;

namespace {

const std::string k_dir = std::string(EXMY_BINARY_DIR) + "/test_tensor_io_data";

std::string python() {
  static std::string py = [] {
    std::vector<std::string> cands;
    if (const char* e = std::getenv("EXMY_PYTHON")) cands.emplace_back(e);
    cands.emplace_back("/usr/bin/python3");
    cands.emplace_back("python3");
    for (const auto& c : cands)
      if (std::system((c + " -c 'import numpy' >/dev/null 2>&1").c_str()) == 0) return c;
    return std::string();
  }();
  return py;
}

// Runs the fixture script once; returns the manifest lines ("" entries when python is missing).
const std::vector<std::vector<std::string>>& manifest() {
  static std::vector<std::vector<std::string>> rows = [] {
    std::vector<std::vector<std::string>> r;
    if (python().empty()) return r;
    std::system(("rm -rf '" + k_dir + "'").c_str());
    const std::string cmd = python() + " '" + EXMY_SOURCE_DIR + "/tests/tensor_io_fixtures.py' '" + k_dir + "'";
    REQUIRE(std::system(cmd.c_str()) == 0);
    std::ifstream in(k_dir + "/manifest.tsv");
    std::string line;
    while (std::getline(in, line)) {
      std::vector<std::string> f;
      std::stringstream ss(line);
      std::string x;
      while (std::getline(ss, x, '\t')) f.push_back(x);
      if (!line.empty() && line.back() == '\t') f.emplace_back();
      r.push_back(f);
    }
    return r;
  }();
  return rows;
}

#define NEED_PYTHON()                                                                     \
  if (python().empty()) {                                                                 \
    MESSAGE("skipped: no Python with numpy (set EXMY_PYTHON or install python3-numpy)"); \
    return;                                                                               \
  }

std::vector<std::int64_t> parse_dims(const std::string& s) {
  std::vector<std::int64_t> d;
  std::stringstream ss(s);
  std::string x;
  while (std::getline(ss, x, ','))
    if (!x.empty()) d.push_back(std::stoll(x));
  return d;
}

std::uint32_t bits(float x) {
  std::uint32_t b;
  std::memcpy(&b, &x, 4);
  return b;
}

std::vector<unsigned char> slurp(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  return std::vector<unsigned char>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void spit(const std::string& p, const std::vector<unsigned char>& b) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

// The message of the exmy::error that f throws ("" when it throws nothing; other exceptions fail).
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const error& e) {
    return e.what();
  }
  return "";
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// Files in a directory whose names contain `part` (leftover temporary files).
int count_files_with(const std::string& dir, const std::string& part) {
  int n = 0;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d))
      if (contains(e->d_name, part)) ++n;
    closedir(d);
  }
  return n;
}

std::string scratch(const std::string& name) {
  std::system(("mkdir -p '" + k_dir + "-scratch'").c_str());
  return k_dir + "-scratch/" + name;
}

}  // namespace

TEST_CASE("readers agree with numpy / onnx on every fixture (values bit for bit, shapes, order)") {
  NEED_PYTHON();
  int tensors = 0, unsupported = 0, orders = 0;
  for (const auto& row : manifest()) {
    if (row[0] == "S") {
      MESSAGE("skipped part: " << row[2]);
      continue;
    }
    if (row[0] == "T") {
      const std::string& file = row[1];
      const std::string& name = row[2];
      if (contains(file, ".onnx") && !onnx_supported()) continue;
      CAPTURE(file);
      CAPTURE(name);
      if (row[4] == "-") {
        const std::string msg = error_of([&] { read_tensor(file, name); });
        CHECK(contains(msg, "unsupported dtype"));
        CHECK(contains(msg, file));
        CHECK(contains(msg, row[5]));
        ++unsupported;
        continue;
      }
      const tensor t = read_tensor(file, name);
      CHECK(t.shape == parse_dims(row[3]));
      const auto exp = slurp(row[4]);
      REQUIRE(exp.size() == t.data.size() * 4);
      int mismatches = 0;
      for (std::size_t i = 0; i < t.data.size(); ++i) {
        float e;
        std::memcpy(&e, exp.data() + 4 * i, 4);
        // NaN payloads are not part of the contract; every other value must match bit for bit.
        if (!(std::isnan(e) && std::isnan(t.data[i])) && bits(e) != bits(t.data[i])) ++mismatches;
      }
      CHECK(mismatches == 0);
      ++tensors;
    } else if (row[0] == "O") {
      if (contains(row[1], ".onnx") && !onnx_supported()) continue;
      std::string got;
      for (const tensor_info& i : list_tensor_info(row[1])) got += (got.empty() ? "" : "|") + i.name;
      CHECK(got == row[2]);
      ++orders;
    }
  }
  MESSAGE(tensors << " tensors matched, " << unsupported << " unsupported dtypes reported, " << orders
                  << " file orders checked");
  CHECK(tensors >= 30);
}

TEST_CASE("listing: dtypes as the file spells them, supported flags, names with or without .npy") {
  NEED_PYTHON();
  manifest();
  const auto infos = list_tensor_info(k_dir + "/stored.npz");
  REQUIRE(infos.size() == 5);
  CHECK(infos[0].file_dtype == "<f4");
  CHECK(infos[1].source == dtype::f64);
  CHECK(!infos[2].supported);
  CHECK(infos[3].shape == std::vector<std::int64_t>{300, 200});
  CHECK(list_tensors(k_dir + "/stored.npz") == std::vector<std::string>{"a", "b", "big", "half"});
  CHECK(read_tensor(k_dir + "/deflated.npz", "a.npy").data == read_tensor(k_dir + "/stored.npz", "a").data);
  CHECK(contains(error_of([&] { read_tensor(k_dir + "/stored.npz", "nope"); }), "no tensor named 'nope'"));
  CHECK(detect_tensor_file(k_dir + "/deflated.npz") == tensor_file_kind::npz);
  CHECK(detect_tensor_file(k_dir + "/model.safetensors") == tensor_file_kind::safetensors);
  CHECK(detect_tensor_file(k_dir + "/v1_f4.npy") == tensor_file_kind::npy);
  // for_each_tensor skips the unsupported member and says why.
  std::vector<std::string> seen, skipped;
  read_options opt;
  opt.on_skip = [&](const tensor_info& i, const std::string& why) {
    skipped.push_back(i.name);
    CHECK(contains(why, "<i8"));
  };
  for_each_tensor(k_dir + "/deflated.npz", [&](tensor&& t) { seen.push_back(t.name); }, opt);
  CHECK(seen == std::vector<std::string>{"a", "b", "big", "half"});
  CHECK(skipped == std::vector<std::string>{"c"});
  CHECK(read_safetensors_metadata(k_dir + "/model.safetensors").at("format") == "pt");
  // The zero-copy views hold the same values as read_tensor, for every kind of file.
  for (const char* f : {"stored.npz", "deflated.npz", "model.safetensors", "v1_f4.npy", "fortran_f2.npy"}) {
    const std::string p = k_dir + "/" + f;
    int views = 0;
    for_each_tensor_view(p, [&](const tensor_view& v) {
      const tensor t = read_tensor(p, v.info->name);
      REQUIRE(v.size == t.data.size());
      CHECK(std::memcmp(v.data, t.data.data(), v.size * 4) == 0);
      ++views;
    });
    CHECK(views == static_cast<int>(list_tensors(p).size()));
  }
}

TEST_CASE("real fixtures: matplotlib sample data (stored and deflated npz, structured dtype)") {
  const std::string mpl = "/usr/share/matplotlib/mpl-data/sample_data";
  if (std::system(("test -d " + mpl).c_str()) != 0) {
    MESSAGE("skipped: Debian python-matplotlib-data is not installed");
    return;
  }
  // Shapes and dtypes from numpy 1.24.2: np.load(...)[k].shape / .dtype.
  const auto topo = list_tensor_info(mpl + "/topobathy.npz");
  REQUIRE(topo.size() == 3);
  CHECK(topo[0].shape == std::vector<std::int64_t>{91, 120});
  const auto dem = list_tensor_info(mpl + "/jacksboro_fault_dem.npz");
  REQUIRE(dem.size() == 7);
  CHECK(dem[0].file_dtype == "<i2");
  CHECK(dem[1].shape.empty());
  const std::string msg = error_of([&] { read_tensor(mpl + "/goog.npz", "price_data"); });
  CHECK(contains(msg, "goog.npz"));
  CHECK(contains(msg, "unsupported dtype 'structured"));
}

TEST_CASE("ONNX: Constant nodes, If/Loop subgraphs, external data, typed fields") {
  if (!onnx_supported()) {
    MESSAGE("skipped: exmy built without ONNX (EXMY_ENABLE_ONNX=OFF)");
    CHECK(contains(error_of([] { list_tensors("x.onnx"); }), "without ONNX"));
    return;
  }
  NEED_PYTHON();
  bool have = false;
  for (const auto& row : manifest()) have |= row[0] == "T" && contains(row[1], ".onnx");
  if (!have) {
    MESSAGE("skipped: python3-onnx is missing, no ONNX fixture");
    return;
  }
  const std::string m = k_dir + "/model.onnx";
  const auto infos = list_tensor_info(m);
  std::map<std::string, tensor_info> by;
  for (const auto& i : infos) by[i.name] = i;
  CHECK(by.at("EXT").supported);
  CHECK(by.at("H_typed").source == dtype::f16);
  CHECK(!by.at("shape_i64").supported);
  CHECK(by.at("CS").shape.empty());
  // External data whose file went missing: the error names the external file.
  const std::string moved = k_dir + "/weights.bin.moved";
  std::rename((k_dir + "/weights.bin").c_str(), moved.c_str());
  CHECK(contains(error_of([&] { read_tensor(m, "EXT"); }), "weights.bin"));
  std::rename(moved.c_str(), (k_dir + "/weights.bin").c_str());
  CHECK(read_tensor(m, "EXT").data.size() == 100);
}

TEST_CASE("writers: npy read back by numpy, safetensors round trip, atomic and streaming") {
  tensor t;
  t.name = "w";
  t.shape = {3, 1, 4};
  for (int i = 0; i < 12; ++i) t.data.push_back(i == 5 ? NAN : i == 7 ? -INFINITY : 0.1f * float(i) - 0.3f);
  const std::string npy = scratch("out.npy");
  write_npy(npy, t);
  const tensor back = read_tensor(npy, "out");
  CHECK(back.shape == t.shape);
  for (std::size_t i = 0; i < 12; ++i)
    CHECK((bits(back.data[i]) == bits(t.data[i]) || (std::isnan(back.data[i]) && std::isnan(t.data[i]))));
  CHECK(count_files_with(k_dir + "-scratch", ".tmp-") == 0);
  if (!python().empty()) {
    // numpy's own reader (np.load) accepts the file and sees the same values.
    const std::string cmd = python() + " -c \"import numpy as np; a=np.load('" + npy +
                            "'); assert a.shape==(3,1,4) and a.dtype=='<f4'; assert abs(float(a[2,0,3])-0.8)<1e-6, a\"";
    CHECK(std::system(cmd.c_str()) == 0);
  }
  tensor s;
  s.name = "scalar";
  s.data = {2.5f};
  const std::string st = scratch("out.safetensors");
  write_safetensors(st, {t, s}, {{"k", "v"}});
  CHECK(list_tensors(st) == std::vector<std::string>{"w", "scalar"});
  CHECK(read_tensor(st, "scalar").data == std::vector<float>{2.5f});
  CHECK(read_safetensors_metadata(st).at("k") == "v");
  // The header pads the data to an 8-byte boundary (as the reference writer does).
  const auto raw = slurp(st);
  std::uint64_t hlen = 0;
  std::memcpy(&hlen, raw.data(), 8);
  CHECK((8 + hlen) % 8 == 0);
  {
    safetensors_writer w(scratch("never.safetensors"));
    w.add(s);
    CHECK(contains(error_of([&] { w.add(s); }), "duplicate"));
    const std::uint8_t b[2] = {1, 2};
    CHECK(contains(error_of([&] { w.add("x", safetensors_dtype::u8, {3}, b, 2); }), "needs 3"));
  }  // destroyed without commit: nothing appears
  CHECK(count_files_with(k_dir + "-scratch", "never") == 0);
}

TEST_CASE("bad input: one clear exmy::error naming the file, never a crash or a huge allocation") {
  struct bad_case {
    const char* file;
    std::vector<unsigned char> bytes;
    const char* expect;
  };
  auto le = [](std::uint64_t v, int n) {
    std::vector<unsigned char> b;
    for (int i = 0; i < n; ++i) b.push_back(static_cast<unsigned char>(v >> (8 * i)));
    return b;
  };
  auto cat = [](std::vector<unsigned char> a, const std::string& s) {
    a.insert(a.end(), s.begin(), s.end());
    return a;
  };
  auto npy_v1 = [&](const std::string& dict, std::size_t data) {
    std::vector<unsigned char> b = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0};
    auto l = le(dict.size(), 2);
    b.insert(b.end(), l.begin(), l.end());
    b = cat(b, dict);
    b.resize(b.size() + data, 0);
    return b;
  };
  auto st = [&](std::uint64_t hlen, const std::string& json, std::size_t data) {
    auto b = cat(le(hlen, 8), json);
    b.resize(b.size() + data, 0);
    return b;
  };
  const std::string ok_dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  std::vector<bad_case> cases = {
      {"empty.npy", {}, "wrong magic"},
      {"magic.npy", cat({}, "NUMPY not really"), "wrong magic"},
      {"version.npy", {0x93, 'N', 'U', 'M', 'P', 'Y', 9, 0, 4, 0, '{', '}', ' ', '\n'}, "version 9.0"},
      {"hdrlen.npy", {0x93, 'N', 'U', 'M', 'P', 'Y', 2, 0, 0xff, 0xff, 0xff, 0x7f, '{'}, "exceeds"},
      {"truncated.npy", npy_v1(ok_dict, 23), "truncated"},
      {"overflow.npy", npy_v1("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", 0), "overflows"},
      {"bigint.npy", npy_v1("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", 0), "overflows"},
      {"exceeds.npy", npy_v1("{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000000,), }", 16), "truncated"},
      {"negative.npy", npy_v1("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", 0), "negative"},
      {"nodict.npy", npy_v1("[1, 2]", 0), "not a dict"},
      {"garbage.npy", npy_v1("{'descr': '<f4', 'fortran_order': Maybe}", 0), "malformed"},
      {"deep.npy", npy_v1(std::string(200, '[') + std::string(200, ']'), 0), "too deep"},
      {"short.safetensors", {1, 2, 3}, "truncated"},
      {"absurd.safetensors", st(std::uint64_t{1} << 60, "{}", 0), "absurd"},
      {"hdr.safetensors", st(1000, "{}", 0), "exceeds the file size"},
      {"json.safetensors", st(5, "{\"a\":", 0), "not valid JSON"},
      {"offsets.safetensors", st(59, R"({"t":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}   )", 8), "outside"},
      {"span.safetensors", st(59, R"({"t":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}}   )", 16), "span"},
      {"shape.safetensors", st(81, R"({"t":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,16]}}    )", 16), "overflows"},
      {"notzip.npz", cat({}, "PK\x03\x04 this is not really a zip archive at all"), "end-of-central-directory"},
      {"junk.npz", cat({}, std::string(100, 'x')), "wrong magic"},
  };
  for (const auto& c : cases) {
    const std::string p = scratch(c.file);
    spit(p, c.bytes);
    CAPTURE(c.file);
    const std::string msg = error_of([&] {
      for (const auto& n : list_tensors(p)) read_tensor(p, n);
    });
    CHECK(contains(msg, p));
    CHECK(contains(msg, c.expect));
    if (!contains(msg, c.expect)) MESSAGE(msg);
  }
  // Damaged copies of real archives: every truncation and a flipped byte in each region.
  NEED_PYTHON();
  manifest();
  for (const char* name : {"stored.npz", "deflated.npz", "model.safetensors", "v2_f8.npy", "model.onnx"}) {
    const std::string src = k_dir + "/" + name;
    if (contains(name, ".onnx") && (!onnx_supported() || slurp(src).empty())) continue;
    const auto good = slurp(src);
    int errors = 0, trials = 0;
    for (std::size_t cut : {std::size_t{0}, std::size_t{7}, good.size() / 3, good.size() / 2, good.size() - 1}) {
      auto b = good;
      b.resize(cut);
      const std::string p = scratch(std::string("cut_") + name);
      spit(p, b);
      ++trials;
      const std::string msg = error_of([&] {
        for (const auto& n : list_tensors(p)) read_tensor(p, n);
      });
      if (!msg.empty()) {
        ++errors;
        CHECK(contains(msg, p));
      }
    }
    MESSAGE(std::string(name) << ": " << errors << " of " << trials << " truncations rejected");
    CHECK(errors == trials);
    // A flipped data byte in a zip member: the CRC-32 check catches it.
    if (contains(name, ".npz")) {
      auto b = good;
      b[b.size() / 2] ^= 0x5a;
      const std::string p = scratch(std::string("flip_") + name);
      spit(p, b);
      const std::string msg = error_of([&] {
        for (const auto& n : list_tensors(p)) read_tensor(p, n);
      });
      CHECK(contains(msg, p));
    }
  }
}

TEST_CASE("NaN and Inf are read as they are") {
  NEED_PYTHON();
  manifest();
  const tensor t = read_tensor(k_dir + "/be_f2.npy", "be_f2");
  REQUIRE(t.data.size() == 9);
  CHECK(std::isinf(t.data[2]));
  CHECK(t.data[3] < 0);
  CHECK(std::isnan(t.data[4]));
  CHECK(std::signbit(t.data[1]));
  CHECK(t.data[6] == 65504.0f);  // largest float16
}

// ---------------------------------------------------------------------------------------------
// Code export

namespace {

// Fake quantization per group (the reference the export must reproduce).
tensor fake_quant(const tensor& x, const std::vector<quant_params>& params, const group_layout& g,
                  scale_mode mode) {
  tensor q = x;
  quantize_options opt;
  opt.scale = mode;
  opt.threads = 1;
  for_each_group(x.shape, g, [&](std::int64_t grp, std::int64_t first, std::int64_t count, std::int64_t stride) {
    std::vector<float> buf(static_cast<std::size_t>(count));
    for (std::int64_t j = 0; j < count; ++j) buf[j] = x.data[first + j * stride];
    quantize(buf.data(), buf.data(), buf.size(), params[grp], opt);
    for (std::int64_t j = 0; j < count; ++j) q.data[first + j * stride] = buf[j];
  });
  return q;
}

// Per-group parameters from the group's absolute maximum (or range, for affine formats);
// pow2 rounds each maxval up to a power of two (the MX shared-scale case).
std::vector<quant_params> params_for(const tensor& x, const format_spec& f, const group_layout& g, bool pow2) {
  const std::int64_t n = group_count(x.shape, g);
  std::vector<double> lo(n, 0.0), hi(n, 0.0);
  for_each_group(x.shape, g, [&](std::int64_t grp, std::int64_t first, std::int64_t count, std::int64_t stride) {
    for (std::int64_t j = 0; j < count; ++j) {
      const double v = x.data[first + j * stride];
      if (!std::isfinite(v)) continue;
      lo[grp] = std::min(lo[grp], v);
      hi[grp] = std::max(hi[grp], v);
    }
  });
  std::vector<quant_params> ps;
  for (std::int64_t k = 0; k < n; ++k) {
    if (f.is_affine()) {
      ps.push_back(make_affine_params(f, lo[k], hi[k]));
      continue;
    }
    double m = std::max(-lo[k], hi[k]);
    if (!(m > 0)) m = 1.0;
    if (pow2) {
      // OCP MX: the scale itself is a power of two, 2^ceil(log2(amax / native max)).
      const double nmax = limits(f).max;
      m = nmax * std::ldexp(1.0, static_cast<int>(std::ceil(std::log2(m / nmax))));
    }
    ps.push_back(make_params(f, m));
  }
  return ps;
}

}  // namespace

TEST_CASE("decode_native: bit fields reproduce each format's grid (every code)") {
  // Oracle: unit_grid(make_native_params(f)) enumerates the native values from the descriptor;
  // decoding every code from its bit fields must give exactly that set (plus the special codes).
  for (const char* name : {"e5m2", "e4m3", "e3m4", "e2m5", "e1m6", "e4m3fn", "e5m2ieee", "e4m3fnuz",
                           "e5m2fnuz", "e3m4ieee", "e2m3fn", "e3m2fn", "e2m1fn", "ue4m4", "fp16", "bf16",
                           "int8", "int8n", "uint8", "int4", "uint4", "int16", "e4m3.ftz"}) {
    const std::string fname = name;
    CAPTURE(fname);
    const format_spec f = parse_format(name);
    const quant_params p = make_native_params(f);
    std::vector<double> grid = unit_grid(p), got;
    int specials = 0;
    for (std::uint32_t c = 0; c < (1u << f.bits); ++c) {
      double v = 0;
      const std::string msg = error_of([&] { v = decode_native(f, c); });
      if (!msg.empty()) {
        CHECK(f.irange == int_range::narrow);  // only the narrow range has an unused code
        ++specials;
        continue;
      }
      if (!std::isfinite(v)) {
        ++specials;
        continue;
      }
      // Flushed formats never produce subnormal codes; they are not grid values.
      if (!f.subnormals && v != 0 && std::fabs(v) < limits(f).min_normal) continue;
      got.push_back(v);
    }
    std::sort(got.begin(), got.end());
    got.erase(std::unique(got.begin(), got.end()), got.end());
    CHECK(got == grid);
    CHECK(specials == (1 << f.bits) - limits(f).finite_codes);
  }
  // Spot values from the OCP 8-bit FP spec (v1.0, Table 1) and the MX spec (FP4 E2M1).
  CHECK(decode_native(parse_format("e4m3fn"), 0x7e) == 448.0);
  CHECK(std::isnan(decode_native(parse_format("e4m3fn"), 0x7f)));
  CHECK(decode_native(parse_format("e5m2ieee"), 0x7b) == 57344.0);
  CHECK(std::isinf(decode_native(parse_format("e5m2ieee"), 0xfc)));
  CHECK(std::isnan(decode_native(parse_format("e4m3fnuz"), 0x80)));
  CHECK(decode_native(parse_format("e2m1fn"), 0x7) == 6.0);
  CHECK(decode_native(parse_format("e2m1fn"), 0x1) == 0.5);
  CHECK(decode_native(parse_format("int8"), 0x80) == -128.0);
  CHECK(contains(error_of([] { decode_native(parse_format("int4"), 16); }), "more than 4 bits"));
}

TEST_CASE("export → decode == fake-quant, bit for bit (formats × granularity × scale mode)") {
  std::mt19937 gen(7);
  std::student_t_distribution<float> heavy(3.0f);
  tensor x;
  x.name = "layer.weight";
  x.shape = {6, 70};
  for (int i = 0; i < 6 * 70; ++i) x.data.push_back(heavy(gen) * (i % 7 == 0 ? 10.0f : 0.05f));
  x.data[3] = 0.0f;
  x.data[4] = -0.0f;
  x.data[5] = 1e-30f;  // deep below every grid: rounds to (signed) zero
  const std::vector<group_layout> layouts = {{-1, 0}, {0, 0}, {1, 0}, {1, 32}, {0, 4}};
  int checked = 0;
  for (const char* name : {"e4m3", "e5m2", "e2m5", "e1m6", "e4m3fn", "e5m2ieee", "e4m3fnuz", "e2m1fn",
                           "e3m2fn", "int8", "int8n", "uint8", "int8a", "uint8a", "int4", "e5m10", "int12",
                           "bf16", "e4m3.ftz"}) {
    const format_spec f = parse_format(name);
    for (const group_layout& g : layouts)
      for (scale_mode mode : {scale_mode::exact, scale_mode::hardware})
        for (bool pow2 : {false, true}) {
          const std::string fname = name;
          CAPTURE(fname);
          CAPTURE(g.axis);
          CAPTURE(g.block);
          CAPTURE(to_string(mode));
          if (f.is_affine() && pow2) continue;
          const auto ps = params_for(x, f, g, pow2);
          const tensor q = fake_quant(x, ps, g, mode);
          const code_tensor c = encode_codes(q, f, ps, g, mode);
          const std::vector<float> d = decode_codes(c);
          int diff = 0;
          for (std::size_t i = 0; i < d.size(); ++i) diff += bits(d[i]) != bits(q.data[i]);
          CHECK(diff == 0);
          ++checked;
        }
  }
  MESSAGE(checked << " (format, layout, mode, scale) combinations round-tripped");
}

TEST_CASE("export file: codes, scales, zero points, E8M0 block scales, metadata; read back") {
  tensor x;
  x.name = "w";
  x.shape = {2, 64};
  std::mt19937 gen(3);
  std::normal_distribution<float> nd;
  for (int i = 0; i < 128; ++i) x.data.push_back(nd(gen));
  const group_layout blocks{1, 32};
  const format_spec e4m3 = parse_format("e4m3fn"), u8a = parse_format("uint8a"), i12 = parse_format("int12");
  const auto p1 = params_for(x, e4m3, blocks, true);
  const auto p2 = params_for(x, u8a, {0, 0}, false);
  const auto p3 = params_for(x, i12, {-1, 0}, false);
  tensor x2 = x, x3 = x;
  x2.name = "v";
  x3.name = "u";
  const code_tensor c1 = encode_codes(fake_quant(x, p1, blocks, scale_mode::exact), e4m3, p1, blocks);
  const code_tensor c2 = encode_codes(fake_quant(x2, p2, {0, 0}, scale_mode::hardware), u8a, p2, {0, 0}, scale_mode::hardware);
  const code_tensor c3 = encode_codes(fake_quant(x3, p3, {-1, 0}, scale_mode::exact), i12, p3, {-1, 0});
  const std::string path = scratch("codes.safetensors");
  {
    safetensors_writer w(path);
    add_codes(w, c1);
    add_codes(w, c2);
    add_codes(w, c3);
    w.commit();
  }
  const auto infos = list_tensor_info(path);
  std::map<std::string, tensor_info> by;
  for (const auto& i : infos) by[i.name] = i;
  CHECK(by.at("w.codes").file_dtype == "U8");
  CHECK(by.at("w.scale").file_dtype == "F64");
  CHECK(by.at("w.scale").shape == std::vector<std::int64_t>{2, 2});
  CHECK(by.at("w.block_scale_e8m0").shape == std::vector<std::int64_t>{2, 2});
  CHECK(by.at("v.scale").file_dtype == "F32");
  CHECK(by.at("v.zero_point").file_dtype == "I32");
  CHECK(by.at("u.codes").file_dtype == "U16");
  const auto meta = read_safetensors_metadata(path);
  CHECK(contains(meta.at("exmy.codes.w"), "\"format\":\"e4m3fn\""));
  CHECK(contains(meta.at("exmy.codes.w"), "\"block\":32"));
  // E8M0 byte = log2(scale) + 127 (OCP MX v1.0 §5.4: E8M0 has bias 127, no mantissa).
  for (const raw_tensor& r : read_safetensors_raw(path))
    if (r.info.name == "w.block_scale_e8m0") {
      REQUIRE(r.bytes.size() == c1.scale.size());
      for (std::size_t k = 0; k < r.bytes.size(); ++k)
        CHECK(std::ldexp(1.0, int(r.bytes[k]) - 127) == c1.scale[k]);
    }
  CHECK(by.count("v.block_scale_e8m0") == 0);  // affine scales are not powers of two
  const auto back = read_codes(path);
  REQUIRE(back.size() == 3);
  for (const code_tensor& c : back) {
    const code_tensor& orig = c.name == "w" ? c1 : c.name == "v" ? c2 : c3;
    CAPTURE(c.name);
    CHECK(c.codes == orig.codes);
    CHECK(c.format.name == orig.format.name);
    CHECK(c.mode == orig.mode);
    const auto d1 = decode_codes(c), d2 = decode_codes(orig);
    CHECK(std::memcmp(d1.data(), d2.data(), d1.size() * 4) == 0);
  }
}

TEST_CASE("export refuses values that have no code") {
  tensor x;
  x.name = "n";
  x.shape = {3};
  x.data = {1.0f, NAN, 0.5f};
  const format_spec f = parse_format("e4m3");  // finite encoding: no NaN code; max 240 (bias 8)
  const std::vector<quant_params> p = {make_params(f, 2.0)};
  const tensor q = fake_quant(x, p, {}, scale_mode::exact);
  const std::string msg = error_of([&] { encode_codes(q, f, p, {}); });
  CHECK(contains(msg, "element 1 is NaN"));
  // A value off the grid (not quantized with these parameters) is refused too.
  tensor y = x;
  y.data = {1.0f, 0.31f, 0.5f};  // 0.31·120 = 37.2 lies between the e4m3 points 36 and 40
  const std::string off = error_of([&] { encode_codes(y, f, p, {}); });
  CHECK(contains(off, "element 1 (value 0.31"));
  CHECK(contains(off, "not a point of group 0"));
  // The e4m3fn NaN code 0x7f round-trips.
  const format_spec fn = parse_format("e4m3fn");
  const std::vector<quant_params> pn = {make_params(fn, 2.0)};
  const code_tensor c = encode_codes(fake_quant(x, pn, {}, scale_mode::exact), fn, pn, {});
  CHECK(c.codes[1] == 0x7f);
  CHECK(std::isnan(decode_codes(c)[1]));
}

TEST_CASE("group layouts: shapes and index maps") {
  const std::vector<std::int64_t> s = {2, 5, 3};
  CHECK(group_shape(s, {}).empty());
  CHECK(group_shape(s, {1, 0}) == std::vector<std::int64_t>{5});
  CHECK(group_shape(s, {1, 2}) == std::vector<std::int64_t>{2, 3, 3});
  CHECK(contains(error_of([&] { group_shape(s, {3, 0}); }), "axis 3"));
  // Brute force: element (i, j, k) belongs to channel j, or to block (i, j / 2, k).
  const auto ch = group_index(s, {1, 0}), bl = group_index(s, {1, 2});
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 5; ++j)
      for (int k = 0; k < 3; ++k) {
        const int e = (i * 5 + j) * 3 + k;
        CHECK(ch[e] == j);
        CHECK(bl[e] == (i * 3 + j / 2) * 3 + k);
      }
}

TEST_CASE("IDX: synthetic files, Fashion-MNIST, bad input") {
  NEED_PYTHON();
  int checked = 0;
  for (const auto& row : manifest()) {
    if (row[0] != "I") continue;
    CAPTURE(row[1]);
    const idx_array a = read_idx(row[1]);
    CHECK(a.shape == parse_dims(row[2]));
    long long sum = 0;
    for (std::uint8_t v : a.data) sum += v;
    CHECK(sum == std::stoll(row[3]));
    CHECK(crc32(0L, a.data.data(), static_cast<uInt>(a.data.size())) == std::stoul(row[4]));
    ++checked;
  }
  MESSAGE(checked << " IDX files checked against Python gzip/numpy");
  if (std::system("test -f /usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz") == 0) {
    // 60000 training labels, 6000 per class (Fashion-MNIST README, "Labels").
    const idx_array l = read_idx("/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz");
    REQUIRE(l.shape == std::vector<std::int64_t>{60000});
    std::vector<int> per(10, 0);
    for (std::uint8_t v : l.data) ++per.at(v);
    CHECK(per == std::vector<int>(10, 6000));
  } else {
    MESSAGE("skipped: Debian dataset-fashion-mnist is not installed");
  }
  const std::string bad = scratch("bad.idx");
  spit(bad, std::vector<unsigned char>{1, 2, 3, 4});
  CHECK(contains(error_of([&] { read_idx(bad); }), "wrong magic"));
  spit(bad, std::vector<unsigned char>{0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0});
  CHECK(contains(error_of([&] { read_idx(bad); }), "element type 0x0d"));
  spit(bad, std::vector<unsigned char>{0, 0, 8, 1, 0xff, 0xff, 0xff, 0xff, 1, 2});
  CHECK(contains(error_of([&] { read_idx(bad); }), "truncated"));
  spit(bad, std::vector<unsigned char>{0, 0, 8, 1, 0, 0, 0, 1, 9, 9});
  CHECK(contains(error_of([&] { read_idx(bad); }), "trailing"));
}
