// exmy-formats — prints the format table: every preset (or --formats LIST) with its native limits.
#include <iomanip>
#include <sstream>

#include "exmy/cli/cli_common.hpp"
#include "exmy/cli/exmy_formats_args.hpp"
#include "exmy/formats/format_spec.hpp"

namespace {

constexpr int k_schema_version = 1;

std::string num(double v) {
  std::ostringstream os;
  os << std::setprecision(9) << v;
  return os.str();
}

struct row {
  exmy::format_spec f;
  exmy::format_limits L;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"exmy-formats: the number formats exmy knows, with their native limits"};
  exmy::cli::formats_args args;
  exmy::cli::declare_options(app, args);
  return exmy::cli::run_tool("exmy-formats", app, argc, argv, [&]() {
    const std::vector<exmy::format_spec> fs = exmy::cli::check_options(args);
    const std::string& output = args.output;
    std::vector<row> rows;
    for (const auto& f : fs) rows.push_back({f, exmy::limits(f)});
    std::ostringstream os;
    auto enc = [](const exmy::format_spec& f) {
      return f.is_float() ? std::string(exmy::to_string(f.enc))
                          : std::string("int:") + exmy::to_string(f.irange);
    };
    if (output == "json") {
      nlohmann::json j = exmy::cli::provenance(k_schema_version, argc, argv);
      j["formats"] = nlohmann::json::array();
      for (auto& r : rows)
        j["formats"].push_back({{"name", r.f.name},
                                {"bits", r.f.bits},
                                {"exp_bits", r.f.exp_bits},
                                {"man_bits", r.f.man_bits},
                                {"signed", r.f.is_signed},
                                {"bias", r.f.native_bias},
                                {"encoding", enc(r.f)},
                                {"overflow", exmy::to_string(r.f.overflow)},
                                {"subnormals", r.f.subnormals},
                                {"max", r.L.max},
                                {"min", r.L.min_value},
                                {"min_normal", r.L.min_normal},
                                {"min_subnormal", r.L.min_subnormal},
                                {"finite_values", r.L.finite_values},
                                {"finite_codes", r.L.finite_codes},
                                {"epsilon", r.L.epsilon}});
      os << j.dump(2) << "\n";
    } else if (output == "csv") {
      os << "name,bits,exp_bits,man_bits,signed,bias,encoding,overflow,subnormals,max,min,"
            "min_normal,min_subnormal,finite_values,finite_codes,epsilon\n";
      for (auto& r : rows)
        os << r.f.name << ',' << r.f.bits << ',' << r.f.exp_bits << ',' << r.f.man_bits << ','
           << (r.f.is_signed ? 1 : 0) << ',' << r.f.native_bias << ',' << enc(r.f) << ','
           << exmy::to_string(r.f.overflow) << ',' << (r.f.subnormals ? 1 : 0) << ','
           << num(r.L.max) << ',' << num(r.L.min_value) << ',' << num(r.L.min_normal) << ','
           << num(r.L.min_subnormal) << ',' << r.L.finite_values << ',' << r.L.finite_codes << ','
           << num(r.L.epsilon) << "\n";
    } else {
      os << std::left << std::setw(14) << "name" << std::right << std::setw(5) << "n"
         << std::setw(4) << "E" << std::setw(4) << "M" << std::setw(6) << "bias" << "  "
         << std::left << std::setw(18) << "encoding" << std::right << std::setw(16) << "max"
         << std::setw(16) << "min normal" << std::setw(16) << "min subnormal" << std::setw(8)
         << "values" << std::setw(14) << "epsilon" << "\n";
      for (auto& r : rows)
        os << std::left << std::setw(14) << r.f.name << std::right << std::setw(5) << r.f.bits
           << std::setw(4) << r.f.exp_bits << std::setw(4) << r.f.man_bits << std::setw(6)
           << r.f.native_bias << "  " << std::left << std::setw(18) << enc(r.f) << std::right
           << std::setw(16) << num(r.L.max) << std::setw(16) << num(r.L.min_normal)
           << std::setw(16) << num(r.L.min_subnormal) << std::setw(8) << r.L.finite_values
           << std::setw(14) << num(r.L.epsilon) << "\n";
    }
    exmy::cli::write_atomic(args.file, os.str());
    return 0;
  });
}
