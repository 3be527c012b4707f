// The error-message table (issue 8; README "Errors"): each bad input of each command-line tool gives
// its exact one-line message on stderr and exit code 2, writes nothing to stdout, and leaves the
// -o file as it was (no temporary file either). Absurd sizes (10^12 samples, 2^60-element tensor
// headers, --bits 64, sweeps of millions of cells, thousands of threads) are refused up front by
// the same rule, before any allocation or work. The tools run as subprocesses (paths from CMake).
#include <doctest/doctest.h>

#include <sys/wait.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

const fs::path k_dir = fs::path(EXMY_BINARY_DIR) / "test_error_messages.d";

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void spit(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
}

// Inputs the table refers to as {dir}/name: tensor files whose headers claim absurd sizes.
void make_inputs(const fs::path& d) {
  fs::create_directories(d);
  auto npy = [&](const std::string& name, const std::string& shape) {
    std::string h = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
    while ((10 + h.size() + 1) % 64) h += ' ';
    h += '\n';
    std::string f = "\x93NUMPY\x01";
    f += '\0';
    f += char(h.size() & 0xff);
    f += char(h.size() >> 8);
    spit(d / name, f + h + std::string(16, '\0'));
  };
  npy("huge.npy", "(1152921504606846976,)");             // 2^60 elements, 16 bytes of data
  npy("overflow.npy", "(4294967296, 4294967296, 16)");  // 2^68 elements: beyond int64
  auto st = [&](const std::string& name, const std::string& json, std::uint64_t len) {
    std::string f;
    for (int i = 0; i < 8; ++i) f += char((len >> (8 * i)) & 0xff);
    spit(d / name, f + json + std::string(16, '\0'));
  };
  const std::string j = R"({"w":{"dtype":"F32","shape":[1073741824,1073741824],"data_offsets":[0,16]}})";
  st("huge.safetensors", j, j.size());                      // 2^60 elements, 16 bytes of data
  st("hugeheader.safetensors", "{}", std::uint64_t(1) << 60);  // a 2^60-byte JSON header
  spit(d / "empty.npy", "");
}

struct row {
  const char* tool;
  std::string args;     ///< shell words; {dir} is the inputs directory
  std::string message;  ///< the exact stderr line, without the newline
};

// The table. One row per distinct check; README "Errors" lists the same messages.
const std::vector<row> k_rows = {
    // compute_quant_error: values and their combinations.
    {"cqe", "--formats all --bits 64", "compute_quant_error: error: --bits 64 outside 3…16"},
    {"cqe", "--formats e9m9", "compute_quant_error: error: format 'e9m9': total bits 19 outside 2…16"},
    {"cqe", "--formats e4m3,,int8", "compute_quant_error: error: empty entry in format list 'e4m3,,int8'"},
    {"cqe", "--dist cauchy",
     "compute_quant_error: error: unknown distribution family 'cauchy' in 'cauchy' (expected uniform, "
     "normal, student_t, laplace)"},
    {"cqe", "--dist normal:sigma=0",
     "compute_quant_error: error: distribution 'normal:sigma=0': 'sigma=0': sigma must be > 0"},
    {"cqe", "--dist normal:sigma=nan",
     "compute_quant_error: error: distribution 'normal:sigma=nan': bad number 'nan' in 'sigma=nan'"},
    {"cqe", "--dist student_t:nu=1",
     "compute_quant_error: error: distribution 'student_t:nu=1': 'nu=1' gives an infinite second "
     "moment: add clip=C or trunc=C (both sides bounded)"},
    {"cqe", "--dist student_t:nu=1e7",
     "compute_quant_error: error: distribution 'student_t:nu=1e7': student_t: nu=1e+07 outside "
     "1e-100…1e6 (above 1e6 the law is a normal one to within 1e-6: use normal)"},
    {"cqe", "--dist normal:mu=0,sigma=1e-300 --range optimal",
     "compute_quant_error: error: distribution 'normal:mu=0,sigma=1e-300': root mean square 0 "
     "outside 1e-100…1e100; rescale it (a scaled grid's SQNR does not depend on the scale)"},
    {"cqe", "--range magic",
     "compute_quant_error: error: unknown range method 'magic': expected reference, optimal or fixed"},
    {"cqe", "--range fixed", "compute_quant_error: error: --range fixed needs --maxval > 0 (got 0)"},
    {"cqe", "--range fixed --maxval 1e-320 --formats e5m2",
     "compute_quant_error: error: --maxval 9.999888672e-321: format 'e5m2': scale 0 is not a positive "
     "finite number"},
    {"cqe", "--maxval 3", "compute_quant_error: error: --maxval is only used with --range fixed"},
    {"cqe", "--rounding rtz",
     "compute_quant_error: error: --range reference reproduces the paper's RNE quantizers; use "
     "--rounding rne"},
    {"cqe", "--output xml", "compute_quant_error: error: --output 'xml': expected table, csv or json"},
    {"cqe", "--method magic", "compute_quant_error: error: --method 'magic': expected analytic, mc or both"},
    {"cqe", "--device tpu", "compute_quant_error: error: unknown device 'tpu': expected cpu or cuda"},
    {"cqe", "--unknown-flag",
     "compute_quant_error: error: The following argument was not expected: --unknown-flag"},
    {"cqe", "--bits abc", "compute_quant_error: error: Could not convert: --bits = abc"},
    {"cqe", "--sweep-maxval 1:2:1e7",
     "compute_quant_error: error: --sweep-maxval '1:2:1e7': expected LO:HI:COUNT with 0 < LO < HI, "
     "HI/LO finite and 2 ≤ COUNT ≤ 1e6"},
    {"cqe", "--sweep-maxval 1e-300:1e300:10",
     "compute_quant_error: error: --sweep-maxval '1e-300:1e300:10': expected LO:HI:COUNT with 0 < LO "
     "< HI, HI/LO finite and 2 ≤ COUNT ≤ 1e6"},
    // compute_quant_error: resource limits.
    {"cqe", "--samples 1e12 --method mc",
     "compute_quant_error: error: --samples 1e+12: expected an integer in 1…1e11"},
    {"cqe", "--samples 0.5 --method mc",
     "compute_quant_error: error: --samples 0.5: expected an integer in 1…1e11"},
    {"cqe", "--formats all --bits 16 --range optimal --method mc --samples 1e11",
     "compute_quant_error: error: --samples 1e+11 × 33 cells: at most 1e12 Monte-Carlo samples per run"},
    {"cqe", "--formats all --bits 16 --range optimal --sweep-maxval 1:2:100000",
     "compute_quant_error: error: 3 distributions × 11 formats × 100000 maxvals = 3300000 cells: at "
     "most 1000000 per run"},
    {"cqe", "--threads 5000", "compute_quant_error: error: --threads 5000: expected 0 ≤ N ≤ 1024"},
    {"cqe", "--dist normal --dist normal --dist normal --dist normal --dist normal --dist normal "
            "--dist normal --dist normal --dist normal --dist normal --dist normal --dist normal "
            "--dist normal --dist normal --dist normal --dist normal --dist normal",
     "compute_quant_error: error: 17 distributions with --range reference: at most 16 (each keeps a "
     "5e6-point sample in memory; use --range optimal)"},
    // exmy-formats.
    {"formats", "--formats e4m3,bogus",
     "exmy-formats: error: unknown format 'bogus': expected one of: eXmY (paper grid, e.g. e4m3), "
     "eXmYfn | eXmYfnuz | eXmYieee (hardware encodings, e.g. e4m3fn, e5m2ieee), e2m3fn | e3m2fn | "
     "e2m1fn (OCP FP6/FP4), fp16, bf16, intN, intNn, intNa, uintN, uintNa, ueXmY (unsigned), "
     "optionally followed by .sat | .nosat | .ftz"},
    {"formats", "--output xml", "exmy-formats: error: --output: xml not in {table,json,csv}"},
    // exmy-ptq: options (checked before the model is opened).
    {"ptq", "", "exmy-ptq: error: MODEL is required"},
    {"ptq", "{dir}/huge.npy --estimator magic",
     "exmy-ptq: error: unknown estimator 'magic': expected current_minmax, allminmax, "
     "running_minmax, mse, kl, percentile or analytic"},
    {"ptq", "{dir}/huge.npy --granularity block:0",
     "exmy-ptq: error: granularity 'block:0': size '0' is not an integer in 1 … 2^30 (expected "
     "tensor, channel[:AXIS], block:K[:AXIS][:floor|ceil|nearest] or group:G[:AXIS][:sym|asym])"},
    {"ptq", "{dir}/huge.npy --kl-bins 1000000000 --estimator kl",
     "exmy-ptq: error: --kl-bins 1000000000: at most 65536"},
    {"ptq", "{dir}/huge.npy --threads -1", "exmy-ptq: error: --threads -1: expected 0 ≤ N ≤ 1024"},
    {"ptq", "{dir}/huge.npy --percentile 0 --estimator percentile",
     "exmy-ptq: error: --percentile must lie in (0, 100]"},
    {"ptq", "{dir}/huge.npy --include '('",
     "exmy-ptq: error: --include '(': Mismatched '(' and ')' in regular expression"},
    {"ptq", "{dir}/huge.npy --include " + std::string(300, 'a'),
     "exmy-ptq: error: --include: a regular expression of 300 characters; at most 256"},
    {"ptq", "{dir}/huge.npy --write out.txt",
     "exmy-ptq: error: --write 'out.txt': expected a .safetensors or .npy file name"},
    {"ptq", "{dir}/huge.npy --bits 64", "exmy-ptq: error: --bits 64 outside 3…16"},
    // exmy-ptq: files (absurd headers are refused before any allocation).
    {"ptq", "{dir}/missing.npy",
     "exmy-ptq: error: file '{dir}/missing.npy': cannot open (No such file or directory)"},
    {"ptq", "{dir}/empty.npy",
     "exmy-ptq: error: file '{dir}/empty.npy': not a .npy stream (wrong magic; expected \\x93NUMPY)"},
    {"ptq", "{dir}/huge.npy",
     "exmy-ptq: error: file '{dir}/huge.npy': truncated: the header's shape needs "
     "4611686018427387904 data bytes, the file holds 16"},
    {"ptq", "{dir}/overflow.npy",
     "exmy-ptq: error: file '{dir}/overflow.npy': the shape's element count overflows int64"},
    {"ptq", "{dir}/huge.safetensors",
     "exmy-ptq: error: file '{dir}/huge.safetensors': tensor 'w': data_offsets span 16 bytes, the "
     "shape needs 4611686018427387904"},
    {"ptq", "{dir}/hugeheader.safetensors",
     "exmy-ptq: error: file '{dir}/hugeheader.safetensors': safetensors header length "
     "1152921504606846976 is absurd (limit 100000000 bytes)"},
    // exmy-tune (checked before the model and data are read).
    {"tune", "--formats e4m3,e4m3x",
     "exmy-tune: error: unknown format 'e4m3x' (unknown suffix 'x'): expected one of: eXmY (paper grid, e.g. e4m3), "
     "eXmYfn | eXmYfnuz | eXmYieee (hardware encodings, e.g. e4m3fn, e5m2ieee), e2m3fn | e3m2fn | "
     "e2m1fn (OCP FP6/FP4), fp16, bf16, intN, intNn, intNa, uintN, uintNa, ueXmY (unsigned), "
     "optionally followed by .sat | .nosat | .ftz"},
    {"tune", "--strategy magic",
     "exmy-tune: error: unknown tuning strategy 'magic' (order, inc-fp8, sensitivity)"},
    {"tune", "--bn magic", "exmy-tune: error: unknown BatchNorm mode 'magic' (fold, keep, reestimate)"},
    {"tune", "--op-types conv2d,bogus",
     "exmy-tune: error: unknown op type 'bogus' (conv2d, linear, add, pool, logits)"},
    {"tune", "--max-trials 0", "exmy-tune: error: --max-trials must be ≥ 1"},
    {"tune", "--tolerable-loss 2", "exmy-tune: error: --tolerable-loss must lie in [0, 1]"},
    {"tune", "--calib 0", "exmy-tune: error: --calib and --eval-images must be ≥ 1"},
    {"tune", "--threads 99999", "exmy-tune: error: --threads 99999: expected 0 ≤ N ≤ 1024"},
    {"tune", "--timeout -1", "exmy-tune: error: --timeout must be a finite number of seconds ≥ 0"},
    {"tune", "--model {dir}/missing.safetensors",
     "exmy-tune: error: file '{dir}/missing.safetensors': cannot open (No such file or directory)"},
};

std::string tool_path(const std::string& t) {
  if (t == "cqe") return EXMY_COMPUTE_QUANT_ERROR;
  if (t == "formats") return EXMY_FORMATS_TOOL;
  if (t == "ptq") return EXMY_PTQ_TOOL;
  return EXMY_TUNE_TOOL;
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (std::size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size()))
    s.replace(p, from.size(), to);
  return s;
}

}  // namespace

TEST_CASE("every bad input: its one-line message, exit code 2, nothing written") {
  const fs::path in = k_dir / "inputs";
  make_inputs(in);
  int i = 0;
  for (const row& r : k_rows) {
    const fs::path d = k_dir / ("case_" + std::to_string(i++));
    fs::remove_all(d);
    fs::create_directories(d);
    spit(d / "out.txt", "old\n");
    const std::string args = replace_all(r.args, "{dir}", in.string());
    const std::string message = replace_all(r.message, "{dir}", in.string());
    const std::string cmd = "cd '" + d.string() + "' && '" + tool_path(r.tool) + "' " + args +
                            " -o out.txt >stdout.txt 2>stderr.txt";
    const int st = std::system(cmd.c_str());
    const std::string what = std::string(r.tool) + " " + args;
    INFO(what);
    CHECK(WIFEXITED(st));
    CHECK(WEXITSTATUS(st) == 2);
    CHECK(slurp(d / "stderr.txt") == message + "\n");
    CHECK(slurp(d / "stdout.txt").empty());
    CHECK(slurp(d / "out.txt") == "old\n");
    int files = 0;
    for (const auto& e : fs::directory_iterator(d)) (void)e, ++files;
    CHECK(files == 3);  // out.txt, stdout.txt, stderr.txt: no temporary file
  }
}
