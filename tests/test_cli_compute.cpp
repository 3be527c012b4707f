// Unit tests of the compute_quant_error command line (issue 3 "compute_quant_error"): the table
// layout, the JSON schema and provenance, the CSV header, atomic -o output, --sweep-maxval, and
// one-line errors with exit code 2 for every kind of bad input. The built binary is run as a
// subprocess (its path comes from CMake); fast range methods only (optimal, fixed), the paper's
// reference-mode table is the golden test's (test_golden_paper.cpp).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <sys/stat.h>
#include <sys/wait.h>

#include "exmy/distributions/distribution.hpp"
#include "exmy/formats/format_spec.hpp"
#include "exmy/quantize/params.hpp"
#include "exmy/sqnr/analytic.hpp"
#include "exmy/sqnr/mx.hpp"
#include "exmy/sqnr/report.hpp"

using namespace exmy;

namespace {

const std::string k_tool = EXMY_COMPUTE_QUANT_ERROR;
const std::string k_dir = std::string(EXMY_BINARY_DIR) + "/test_cli_compute.d";

struct result {
  int rc = -1;
  std::string out, err;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

// Runs the tool with `args` (shell words), capturing stdout and stderr.
result run(const std::string& args) {
  static const int made = std::system(("mkdir -p '" + k_dir + "'").c_str());
  (void)made;
  const std::string so = k_dir + "/stdout.txt", se = k_dir + "/stderr.txt";
  const std::string cmd = "'" + k_tool + "' " + args + " >'" + so + "' 2>'" + se + "'";
  const int st = std::system(cmd.c_str());
  result r;
  r.rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  r.out = slurp(so);
  r.err = slurp(se);
  return r;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> v;
  std::stringstream ss(text);
  for (std::string l; std::getline(ss, l);) v.push_back(l);
  return v;
}

// The record keys of issue 3 ("JSON: …"), plus the rounding mode.
const std::vector<std::string> k_keys = {
    "distribution", "format",  "range_method", "maxval",      "mse",      "sqnr_db",
    "paper_db",     "second_moment", "dot_mse", "dot_sqnr_db", "clip_mse", "round_mse",
    "subnormal_mse"};

}  // namespace

TEST_CASE("table: the paper's layout for any distribution and format") {
  const result r = run("--dist laplace:b=1,clip=20 --formats e4m3,int8,e4m3fn --range optimal");
  REQUIRE(r.rc == 0);
  CHECK(r.err.empty());
  const std::vector<std::string> l = lines_of(r.out);
  REQUIRE(l.size() == 2 + 3 * 2);
  CHECK(l[0] == std::string(80, '*'));
  // A law other than the paper's three is announced by its canonical spec.
  CHECK(l[1] == "Distribution laplace:b=1,clip=20");
  // Element line: the paper's label (INT8 as "FP8 0 E 7 M", reference-spec Q8; other formats by
  // name padded to the same 11 columns), MSE and −10·log10 MSE as {:.2e}, then the standard SQNR
  // and the maxval with its range method.
  const std::string num = R"(-?\d\.\d\de[+-]\d\d)";
  const std::regex elem("^(FP8 \\d E \\d M|[a-z0-9.]+ *) Quantization: expected MSE " + num +
                        "  SQNR  " + num + R"(   \| sqnr_db -?\d+\.\d{3}  maxval \S+ \(optimal\)$)");
  const std::regex dot("^            Dot product:  expected MSE " + num + "  SQNR  " + num +
                       R"(   \| dot_sqnr_db -?\d+\.\d{3}$)");
  const char* labels[] = {"FP8 4 E 3 M", "FP8 0 E 7 M", "e4m3fn     "};
  for (int i = 0; i < 3; ++i) {
    INFO(l[2 + 2 * i] << "\n" << l[3 + 2 * i]);
    CHECK(std::regex_match(l[2 + 2 * i], elem));
    CHECK(l[2 + 2 * i].rfind(std::string(labels[i]) + " Quantization:", 0) == 0);
    CHECK(std::regex_match(l[3 + 2 * i], dot));
  }
  // Threads change nothing in the output.
  CHECK(run("--dist laplace:b=1,clip=20 --formats e4m3,int8,e4m3fn --range optimal --threads 2")
            .out == r.out);
}

TEST_CASE("json: provenance, schema, records equal to the library's") {
  // A non-canonical spec (keys reordered): records carry the canonical one.
  const result r = run("--dist normal:sigma=1,mu=0,clip=10 --dist uniform:lo=-1,hi=1 "
                       "--formats e3m4,int8 --range optimal --output json");
  REQUIRE(r.rc == 0);
  CHECK(r.err.empty());
  const nlohmann::json j = nlohmann::json::parse(r.out);
  CHECK(j.at("schema_version") == 1);
  CHECK(j.at("exmy_version").is_string());
  CHECK(!j.at("exmy_version").get<std::string>().empty());
  CHECK(j.at("git_sha").is_string());
  const std::string cmd = j.at("command").get<std::string>();
  CHECK(cmd.find("--output json") != std::string::npos);
  CHECK(cmd.find("--range optimal") != std::string::npos);
  const auto& recs = j.at("records");
  REQUIRE(recs.size() == 4);  // 2 distributions × 2 formats, distribution-major
  const char* dists[] = {"normal:mu=0,sigma=1,clip=10", "normal:mu=0,sigma=1,clip=10",
                         "uniform:lo=-1,hi=1", "uniform:lo=-1,hi=1"};
  const char* fmts[] = {"e3m4", "int8", "e3m4", "int8"};
  for (std::size_t i = 0; i < recs.size(); ++i) {
    const auto& rec = recs[i];
    for (const std::string& k : k_keys) {
      INFO("record " << i << " key " << k);
      CHECK(rec.contains(k));
    }
    CHECK(rec.at("distribution") == dists[i]);
    CHECK(rec.at("format") == fmts[i]);
    CHECK(rec.at("range_method") == "optimal");
    // The same record from the library (the JSON writes doubles round-trip exactly).
    evaluate_options o;
    o.method = range_method::optimal;
    const sqnr_record lib = evaluate(parse_distribution(dists[i]), parse_format(fmts[i]), o);
    CHECK(rec.at("maxval").get<double>() == lib.maxval);
    CHECK(rec.at("mse").get<double>() == lib.moments.mse);
    CHECK(rec.at("dot_mse").get<double>() == lib.dot_mse);
    // Internal consistency of the conventions (issue 3: sqnr_db standard, paper_db = −10·log10).
    const double mse = rec.at("mse"), ex2 = rec.at("second_moment");
    CHECK(std::fabs(rec.at("sqnr_db").get<double>() - 10 * std::log10(ex2 / mse)) <= 1e-12);
    CHECK(std::fabs(rec.at("paper_db").get<double>() + 10 * std::log10(mse)) <= 1e-12);
    CHECK(std::fabs(rec.at("dot_sqnr_db").get<double>() -
                    10 * std::log10(ex2 * ex2 / rec.at("dot_mse").get<double>())) <= 1e-12);
    const double parts = rec.at("clip_mse").get<double>() + rec.at("round_mse").get<double>() +
                         rec.at("subnormal_mse").get<double>();
    CHECK(std::fabs(parts - mse) <= 1e-12 * mse);
  }
}

TEST_CASE("csv: provenance line, the JSON record's columns, quoted specs") {
  const result r = run("--dist normal:mu=0,sigma=1,clip=10 --formats e4m3,e5m2 --range fixed "
                       "--maxval 3 --output csv");
  REQUIRE(r.rc == 0);
  const std::vector<std::string> l = lines_of(r.out);
  REQUIRE(l.size() == 4);
  CHECK(std::regex_match(l[0], std::regex("^# schema_version=1 exmy_version=\\S+ git_sha=\\S+ "
                                          "(date=\\S+ )?command=.*--output csv$")));
  CHECK(l[1] == "distribution,format,range_method,rounding,maxval,mse,sqnr_db,paper_db,"
                "second_moment,dot_mse,dot_sqnr_db,clip_mse,round_mse,subnormal_mse");
  // The spec contains commas: quoted.
  CHECK(l[2].rfind("\"normal:mu=0,sigma=1,clip=10\",e4m3,fixed,rne,3,", 0) == 0);
  CHECK(l[3].rfind("\"normal:mu=0,sigma=1,clip=10\",e5m2,fixed,rne,3,", 0) == 0);
  // Column 6 (mse) is the library's value at 17 significant digits.
  const error_moments m = analytic_moments(view_of(parse_distribution("normal:mu=0,sigma=1,clip=10")),
                                           make_params(parse_format("e4m3"), 3.0));
  const std::string after = l[2].substr(std::string("\"normal:mu=0,sigma=1,clip=10\",e4m3,fixed,rne,3,").size());
  CHECK(std::stod(after.substr(0, after.find(','))) == m.mse);
}

TEST_CASE("-o writes the file atomically: same bytes as stdout, no temporary left") {
  const std::string args = "--dist uniform:lo=-1,hi=1 --formats e2m5 --range fixed --maxval 1";
  const result to_stdout = run(args);
  REQUIRE(to_stdout.rc == 0);
  const std::string path = k_dir + "/table.txt";
  std::remove(path.c_str());
  const result to_file = run(args + " -o '" + path + "'");
  REQUIRE(to_file.rc == 0);
  CHECK(to_file.out.empty());
  CHECK(slurp(path) == to_stdout.out);
  CHECK(!exists(path + ".tmp-exmy"));  // cli_common.hpp write_atomic's temporary
}

TEST_CASE("--sweep-maxval LO:HI:COUNT: COUNT log-spaced records per (distribution, format)") {
  const result r = run("--dist uniform:lo=-1,hi=1 --dist normal:mu=0,sigma=1 --formats e4m3,int8 "
                       "--sweep-maxval 0.5:8:5 --output json");
  REQUIRE(r.rc == 0);
  const auto recs = nlohmann::json::parse(r.out).at("records");
  REQUIRE(recs.size() == 2 * 2 * 5);
  // 0.5·16^(i/4): 0.5, 1, 2, 4, 8 for each (distribution, format), in that order.
  for (std::size_t i = 0; i < recs.size(); ++i) {
    const double m = 0.5 * std::pow(2.0, double(i % 5));
    INFO("record " << i);
    CHECK(std::fabs(recs[i].at("maxval").get<double>() / m - 1) <= 1e-15);
    CHECK(recs[i].at("range_method") == "fixed");
    CHECK(recs[i].at("format") == (i / 5 % 2 == 0 ? "e4m3" : "int8"));
    const std::string d = recs[i].at("distribution");
    const error_moments em = analytic_moments(view_of(parse_distribution(d)),
                                              make_params(parse_format(recs[i].at("format")),
                                                          recs[i].at("maxval").get<double>()));
    CHECK(recs[i].at("mse").get<double>() == em.mse);
  }
}

TEST_CASE("non-saturating overflow is reported as inf, not as a number or a crash") {
  const result r = run("--dist normal:mu=0,sigma=1 --formats e5m2ieee.nosat,e5m2ieee --range fixed "
                       "--maxval 0.5 --output csv");
  REQUIRE(r.rc == 0);
  const std::vector<std::string> l = lines_of(r.out);
  REQUIRE(l.size() == 4);
  // mse, sqnr_db, paper_db, second_moment, dot_mse, dot_sqnr_db of the non-saturating format.
  CHECK(l[2].find(",e5m2ieee.nosat,fixed,rne,0.5,inf,-inf,-inf,1,inf,-inf,inf,") != std::string::npos);
  CHECK(l[3].find(",inf") == std::string::npos);
}

TEST_CASE("bad input: one line on stderr naming the token, exit code 2, no output file") {
  struct bad {
    std::string args, token;
  };
  const std::vector<bad> cases = {
      {"--dist gauss:sigma=1", "'gauss'"},                       // unknown family
      {"--formats e4m3,e9m9x", "'e9m9x'"},                       // unknown format
      {"--dist normal:mu=0,sigma=-1", "'sigma=-1'"},             // bad parameter
      {"--dist student_t:nu=2", "'nu=2'"},                       // ν ≤ 2 unclipped
      {"--dist uniform:lo=1,hi=1", "'lo=1' is not below 'hi=1'"},  // lo ≥ hi
      {"--dist uniform:lo=2,hi=1", "'lo=2' is not below 'hi=1'"},
      {"--range fixed --maxval 0", "--maxval"},
      {"--range fixed --maxval nan", "--maxval"},
      {"--range fixed --maxval -2", "--maxval"},
      {"--range fixed", "--maxval"},
      {"--sweep-maxval 1:0.5:10", "'1:0.5:10'"},
      {"--sweep-maxval 1:2", "'1:2'"},
      {"--sweep-maxval a:b:c", "'a:b:c'"},
      {"--sweep-maxval 1:2:1", "'1:2:1'"},
      {"--sweep-maxval 1:2:3x", "'1:2:3x'"},
      {"--bits 64", "--bits 64"},
      {"--output xml", "'xml'"},
      {"--range best", "'best'"},
      {"--rounding up", "'up'"},
      {"--threads -1", "--threads"},
      {"--maxval 3", "--maxval"},                                // only with --range fixed
      {"--dist laplace:b=1,trunc=4", "'laplace:b=1,trunc=4'"},   // no paper sampler
  };
  const std::string path = k_dir + "/never.txt";
  for (const bad& b : cases) {
    std::remove(path.c_str());
    const result r = run(b.args + " -o '" + path + "'");
    INFO(b.args << " → rc " << r.rc << ", stderr: " << r.err);
    CHECK(r.rc == 2);
    CHECK(r.out.empty());
    CHECK(lines_of(r.err).size() == 1);
    CHECK(r.err.rfind("compute_quant_error: error: ", 0) == 0);
    CHECK(r.err.find(b.token) != std::string::npos);
    CHECK(!exists(path));
    CHECK(!exists(path + ".tmp-exmy"));
  }
}

TEST_CASE("--block K[:rule]: block-scaled (MX) records equal the library's closed form and Monte-Carlo") {
  // The closed form of sqnr/mx.hpp, computed here in-process: the CLI must print the same bits
  // (JSON doubles round-trip), with the block fields and no maxval or dot-product model.
  const result r = run("--block 32:ceil --formats e4m3fn,int8n --dist normal:mu=0,sigma=1 "
                       "--dist laplace:b=1 --method both --samples 1e6 --seed 3 --output json");
  REQUIRE(r.rc == 0);
  const nlohmann::json j = nlohmann::json::parse(r.out);
  REQUIRE(j["records"].size() == 4);
  for (const auto& rec : j["records"]) {
    const distribution d = parse_distribution(rec["distribution"].get<std::string>());
    const format_spec f = parse_format(rec["element_format"].get<std::string>());
    const mx_spec mx = parse_mx(f, "32:ceil");
    const error_moments m = mx_analytic_moments(d, mx);
    CAPTURE(rec.dump());
    CHECK(rec["format"] == to_string(mx));
    CHECK(rec["block"] == 32);
    CHECK(rec["block_rule"] == "ceil");
    CHECK(rec["range_method"] == "block");
    CHECK(rec["maxval"].is_null());
    CHECK(rec["dot_mse"].is_null());
    CHECK(rec["mse"].get<double>() == m.mse);
    CHECK(rec["sqnr_db"].get<double>() == m.sqnr_db());
    CHECK(rec["mc_samples"] == 1000000);
    CHECK(std::fabs(rec["z"].get<double>()) < 4.0);
  }
  // The default set: three continuous laws × the six OCP MX elements, floor rule.
  const result def = run("--block 32 --output json");
  REQUIRE(def.rc == 0);
  const nlohmann::json jd = nlohmann::json::parse(def.out);
  CHECK(jd["records"].size() == 18);
  CHECK(jd["records"][0]["format"] == "e4m3fn/32:floor");
  // Monte-Carlo alone works where the closed form does not (a clipped law has point masses).
  const result mc = run("--block 16 --formats e2m1fn --dist normal:mu=0,sigma=1,clip=2 --method mc "
                        "--samples 1e4");
  CHECK(mc.rc == 0);
  CHECK(mc.out.find("e2m1fn/16:floor") != std::string::npos);
  struct bad {
    std::string args, token;
  };
  for (const bad& b : std::vector<bad>{
           {"--block 0", "'0'"},
           {"--block 70000", "'70000'"},
           {"--block 32:up", "'up'"},
           {"--block 32 --range optimal", "--block"},
           {"--block 32 --range fixed --maxval 2", "--block"},
           {"--block 32 --sweep-maxval 1:2:3", "--block"},
           {"--block 32 --method both --device cuda", "--device cpu"},
           {"--block 32 --dist normal:mu=0,sigma=1,clip=10", "point masses"}}) {
    const result e = run(b.args);
    INFO(b.args << " → rc " << e.rc << ", stderr: " << e.err);
    CHECK(e.rc == 2);
    CHECK(e.out.empty());
    CHECK(lines_of(e.err).size() == 1);
    CHECK(e.err.find(b.token) != std::string::npos);
  }
}
