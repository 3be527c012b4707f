// exmy-ptq — the PTQ harness on a model file (issue 5, "Command-line tool"): every float tensor of
// an .npy / .npz / safetensors / ONNX file is range-estimated, quantized with every candidate
// format and measured (SQNR), the best format is chosen, and the analytic engine's prediction
// from a fitted normal / Student-t law is printed next to the measurement.
//
//   exmy-ptq MODEL [--formats all] [--granularity tensor|channel[:AXIS]|block:K[:AXIS][:RULE]|
//            group:G[:AXIS][:sym|asym]] [--estimator NAME] [--device cpu|cuda[:N]]
//            [--output table|json|csv] [-o FILE] [--write quantized.safetensors]
//            [--export codes.safetensors]
//
// Output: a table per tensor (name, shape, excess kurtosis, fitted ν, SQNR per format, best
// format, predicted vs measured SQNR of the best format) and a summary (parameter-weighted SQNR
// per format, pooled SQNR, how often each format wins); JSON and CSV carry the same numbers plus
// provenance. Tensors with NaN/±inf are measured over their finite values and flagged with counts.
// --device cuda runs the measurement pass on the GPU and gives the same report bits.
#include <cmath>
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include "cli_common.hpp"
#include "exmy_ptq_args.hpp"
#include "exmy/ptq/codes.hpp"
#include "exmy/ptq/format_choice.hpp"
#include "exmy/ptq/tensor_io.hpp"

namespace {

constexpr int k_schema_version = 1;

// JSON numbers: finite as numbers, ±inf as "inf"/"-inf" (JSON has no infinity), NaN as null.
nlohmann::json jnum(double d) {
  if (std::isnan(d)) return nullptr;
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  return d;
}

std::string shape_text(const std::vector<std::int64_t>& s) {
  if (s.empty()) return "scalar";
  std::string t;
  for (std::size_t i = 0; i < s.size(); ++i) t += (i ? "x" : "") + std::to_string(s[i]);
  return t;
}

std::string fixed(double d, int prec) {
  if (std::isnan(d)) return "-";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  std::ostringstream os;
  os << std::fixed << std::setprecision(prec) << d;
  return os.str();
}

std::string num17(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  std::ostringstream os;
  os << std::setprecision(17) << d;
  return os.str();
}

nlohmann::json tensor_json(const exmy::tensor_report& r) {
  nlohmann::json t;
  t["name"] = r.name;
  t["shape"] = r.shape;
  t["numel"] = r.numel();
  t["dtype"] = exmy::to_string(r.source);
  t["granularity"] = exmy::to_string(r.applied);
  t["groups"] = r.groups;
  t["finite"] = r.stats.finite;
  t["nan"] = r.stats.nan;
  t["inf"] = r.stats.inf;
  t["min"] = jnum(r.stats.lo);
  t["max"] = jnum(r.stats.hi);
  t["mean"] = jnum(r.stats.mean);
  t["std"] = jnum(r.stats.std);
  t["excess_kurtosis"] = jnum(r.stats.excess_kurtosis);
  if (r.fitted) {
    const exmy::law_fit& f = r.fit;
    t["fit"] = {{"points", f.points},
                {"law", f.use_t ? "student_t" : "normal"},
                {"normal", {{"mu", jnum(f.normal_mu)}, {"sigma", jnum(f.normal_sigma)},
                            {"loglik_per_point", jnum(f.normal_loglik)}}},
                {"student_t", {{"nu", jnum(f.t_nu)}, {"mu", jnum(f.t_mu)},
                               {"scale", jnum(f.t_scale)},
                               {"loglik_per_point", jnum(f.t_loglik)}}}};
  } else {
    t["fit"] = nullptr;
  }
  t["formats"] = nlohmann::json::array();
  for (const exmy::format_result& f : r.formats) {
    nlohmann::json j;
    j["format"] = f.format;
    if (!f.error.empty()) {
      j["error"] = f.error;
    } else {
      j["sqnr_db"] = jnum(f.sqnr_db);
      j["mse"] = jnum(f.stats.mse());
      j["max_abs_err"] = jnum(f.stats.max_abs_err);
      j["clipped"] = f.stats.clipped;
      j["flushed"] = f.stats.flushed;
      j["maxval_min"] = jnum(f.maxval_min);
      j["maxval_max"] = jnum(f.maxval_max);
      j["predicted_db"] = jnum(f.predicted_db);
      j["predicted_opt_db"] = jnum(f.predicted_opt_db);
      j["predicted_opt_maxval"] = jnum(f.predicted_opt_maxval);
    }
    t["formats"].push_back(j);
  }
  t["best"] = r.best >= 0 ? nlohmann::json(r.formats[static_cast<std::size_t>(r.best)].format)
                          : nlohmann::json(nullptr);
  if (!r.vote.empty()) t["mse_vote"] = r.vote;
  return t;
}

nlohmann::json summary_json(const exmy::ptq_summary& s) {
  nlohmann::json j{{"tensors", s.tensors}, {"parameters", s.parameters}, {"nan", s.nan},
                   {"inf", s.inf}};
  j["formats"] = nlohmann::json::array();
  for (const exmy::format_summary& f : s.formats)
    j["formats"].push_back({{"format", f.format},
                            {"weighted_sqnr_db", jnum(f.weighted_sqnr_db)},
                            {"pooled_sqnr_db", jnum(f.pooled_sqnr_db)},
                            {"weighted_parameters", f.parameters},
                            {"exact", f.exact},
                            {"failed", f.failed},
                            {"wins", f.wins},
                            {"sole_wins", f.sole_wins}});
  return j;
}

// The table: one row per tensor, then the summary.
std::string table_text(const std::string& model, const nlohmann::json& settings,
                       const std::vector<exmy::tensor_report>& reports,
                       const exmy::ptq_summary& sum,
                       const std::vector<std::pair<std::string, std::string>>& skipped) {
  std::ostringstream os;
  os << "exmy-ptq " << model << ": " << sum.tensors << " tensors, " << sum.parameters
     << " parameters; granularity " << settings["granularity"].get<std::string>() << ", estimator "
     << settings["estimator"].get<std::string>() << ", device "
     << settings["device"].get<std::string>() << "\n";
  os << "SQNR = 10·log10(Σx²/Σ(Q−x)²) in dB; kurt = excess kurtosis; nu = fitted Student-t "
        "(inf: normal fits as well); pred = analytic SQNR of the fitted law for the best format ("
     << (reports.empty() || reports[0].applied.kind == exmy::granularity_kind::tensor
             ? "at the used scale"
             : "per tensor at its optimal scale")
     << ")\n\n";
  std::size_t w = 6;
  for (const auto& r : reports) w = std::max(w, std::min<std::size_t>(r.name.size(), 48));
  std::vector<std::string> fnames;
  if (!reports.empty())
    for (const auto& f : reports[0].formats) fnames.push_back(f.format);
  os << std::left << std::setw(static_cast<int>(w)) << "tensor" << "  " << std::setw(14) << "shape"
     << std::right << std::setw(8) << "kurt" << std::setw(7) << "nu";
  for (const auto& f : fnames) os << std::setw(8) << f;
  os << "  " << std::left << std::setw(8) << "best" << std::right << std::setw(8) << "pred"
     << std::setw(8) << "meas" << "\n";
  for (const auto& r : reports) {
    std::string name = r.name.size() > w ? "…" + r.name.substr(r.name.size() - w + 1) : r.name;
    os << std::left << std::setw(static_cast<int>(w)) << name << "  " << std::setw(14)
       << shape_text(r.shape) << std::right << std::setw(8) << fixed(r.stats.excess_kurtosis, 2)
       << std::setw(7)
       << (r.fitted ? (r.fit.use_t ? fixed(r.fit.t_nu, 1) : std::string("inf")) : std::string("-"));
    for (const auto& f : r.formats) os << std::setw(8) << (f.error.empty() ? fixed(f.sqnr_db, 2) : "n/a");
    if (r.best >= 0) {
      const auto& b = r.formats[static_cast<std::size_t>(r.best)];
      const double pred =
          r.applied.kind == exmy::granularity_kind::tensor ? b.predicted_db : b.predicted_opt_db;
      os << "  " << std::left << std::setw(8) << b.format << std::right << std::setw(8)
         << fixed(pred, 2) << std::setw(8) << fixed(b.sqnr_db, 2);
    } else {
      os << "  " << std::left << std::setw(8) << "-" << std::right;
    }
    if (r.stats.nan || r.stats.inf)
      os << "   [" << r.stats.nan << " NaN, " << r.stats.inf << " inf: not measured]";
    os << "\n";
  }
  for (const auto& s : skipped) os << "skipped " << s.first << ": " << s.second << "\n";
  os << "\nsummary over " << sum.tensors << " tensors (" << sum.parameters << " parameters";
  if (sum.nan || sum.inf) os << ", " << sum.nan << " NaN and " << sum.inf << " inf values not measured";
  os << ")\n";
  os << "weighted dB = parameter-weighted mean SQNR, pooled dB = 10·log10(ΣΣx²/ΣΣ(Q−x)²), both over "
        "tensors not represented exactly; wins = tensors where the format reaches the best SQNR "
        "(ties count for each), sole = where it alone does\n";
  os << std::left << std::setw(10) << "format" << std::right << std::setw(14) << "weighted dB"
     << std::setw(12) << "pooled dB" << std::setw(8) << "wins" << std::setw(8) << "sole" << "\n";
  for (const auto& f : sum.formats) {
    os << std::left << std::setw(10) << f.format << std::right << std::setw(14)
       << fixed(f.weighted_sqnr_db, 2) << std::setw(12) << fixed(f.pooled_sqnr_db, 2) << std::setw(8)
       << f.wins << std::setw(8) << f.sole_wins;
    if (f.exact) os << "   (" << f.exact << " exact)";
    if (f.failed) os << "   (" << f.failed << " n/a)";
    os << "\n";
  }
  return os.str();
}

const char* const k_csv_columns[] = {
    "tensor", "shape", "numel", "nan", "inf", "excess_kurtosis", "nu", "law", "granularity",
    "groups", "format", "sqnr_db", "predicted_db", "predicted_opt_db", "predicted_opt_maxval",
    "maxval_min", "maxval_max", "clipped", "flushed", "best", "error"};

std::string csv_quote(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += (c == '"') ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

std::string csv_text(int argc, char** argv, const std::vector<exmy::tensor_report>& reports) {
  std::ostringstream os;
  os << "# schema_version=" << k_schema_version << " exmy_version=" << exmy::version()
     << " git_sha=" << EXMY_GIT_SHA << " command=" << exmy::cli::command_line(argc, argv) << "\n";
  for (std::size_t c = 0; c < std::size(k_csv_columns); ++c) os << (c ? "," : "") << k_csv_columns[c];
  os << "\n";
  for (const auto& r : reports)
    for (std::size_t k = 0; k < r.formats.size(); ++k) {
      const auto& f = r.formats[k];
      const bool ok = f.error.empty();
      const std::vector<std::string> row = {
          csv_quote(r.name), shape_text(r.shape), std::to_string(r.numel()),
          std::to_string(r.stats.nan), std::to_string(r.stats.inf),
          num17(r.stats.excess_kurtosis), r.fitted ? num17(r.fit.t_nu) : "nan",
          r.fitted ? (r.fit.use_t ? "student_t" : "normal") : "", exmy::to_string(r.applied),
          std::to_string(r.groups), f.format, ok ? num17(f.sqnr_db) : "nan",
          num17(f.predicted_db), num17(f.predicted_opt_db), num17(f.predicted_opt_maxval),
          num17(f.maxval_min), num17(f.maxval_max), ok ? std::to_string(f.stats.clipped) : "",
          ok ? std::to_string(f.stats.flushed) : "", r.best == static_cast<int>(k) ? "1" : "0",
          csv_quote(f.error)};
      for (std::size_t c = 0; c < row.size(); ++c) os << (c ? "," : "") << row[c];
      os << "\n";
    }
  return os.str();
}

bool ends_with(const std::string& s, const std::string& e) {
  return s.size() >= e.size() && s.compare(s.size() - e.size(), e.size(), e) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"exmy-ptq: range estimation, per-format SQNR and format choice on the tensors of a "
               "model file (.npy, .npz, safetensors, ONNX)"};
  exmy::cli::ptq_args args;
  exmy::cli::declare_options(app, args);

  return exmy::cli::run_tool("exmy-ptq", app, argc, argv, [&]() -> int {
    // Every option parsed and checked before the model is opened (exmy_ptq_args.hpp).
    const exmy::cli::ptq_plan plan = exmy::cli::check_options(args);
    const exmy::ptq_options& o = plan.opt;
    const std::string &model = args.model, &include = args.include, &output = plan.output,
                      &write_path = args.write_path, &export_path = args.export_path,
                      &file = args.file;
    const std::regex& filter = plan.filter;
    const std::vector<exmy::format_spec>& eff = plan.effective;
    const int write_k = plan.write_k;
#if defined(_OPENMP)
    if (args.threads > 0) omp_set_num_threads(args.threads);
#endif
    exmy::require_device(o.device);

    const exmy::tensor_file_kind kind = exmy::detect_tensor_file(model);
    std::vector<std::pair<std::string, std::string>> skipped;
    exmy::read_options ro;
    ro.on_skip = [&](const exmy::tensor_info& i, const std::string& why) {
      skipped.emplace_back(i.name, why);
    };
    const bool keep = !write_path.empty() || !export_path.empty();
    std::vector<exmy::tensor_report> reports;
    std::vector<exmy::tensor> written;
    std::unique_ptr<exmy::safetensors_writer> codes;
    if (!export_path.empty()) {
      codes = std::make_unique<exmy::safetensors_writer>(export_path);
      codes->set_metadata("exmy.command", exmy::cli::command_line(argc, argv));
      codes->set_metadata("exmy.git_sha", EXMY_GIT_SHA);
    }
    exmy::for_each_tensor(
        model,
        [&](exmy::tensor&& t) {
          if (!include.empty() && !std::regex_search(t.name, filter)) return;
          reports.push_back(exmy::analyze_tensor(t, o, keep));
          exmy::tensor_report& r = reports.back();
          const int k = write_k >= 0 ? write_k : r.best;
          if (keep && k >= 0 && r.formats[static_cast<std::size_t>(k)].error.empty()) {
            if (!write_path.empty())
              written.push_back(exmy::fake_quantize(t, r, static_cast<std::size_t>(k), o));
            if (codes) {
              // A value the format cannot encode (NaN in int8 …) leaves this tensor out of the
              // code file, with the reason in the report; the fake-quantized file still has it.
              try {
                exmy::add_codes(*codes, exmy::export_codes(t, r, static_cast<std::size_t>(k), o));
              } catch (const exmy::error& e) {
                skipped.emplace_back(t.name, std::string("not exported: ") + e.what());
              }
            }
          } else if (keep) {
            skipped.emplace_back(t.name, "no applicable format to write");
          }
          for (auto& f : r.formats) f.params.clear();  // the parameters are not needed any more
        },
        ro);
    if (reports.empty()) throw exmy::error("'" + model + "' holds no float tensor to quantize" +
                                           (include.empty() ? "" : " matching --include"));
    const exmy::ptq_summary sum = exmy::summarize(reports);

    nlohmann::json settings{{"formats", nlohmann::json::array()},
                            {"granularity", exmy::to_string(o.gran)},
                            {"estimator", exmy::to_string(o.est.kind)},
                            {"momentum", args.momentum},
                            {"percentile", args.percentile},
                            {"mantissa_vote", args.vote},
                            {"kl_bins", args.kl_bins},
                            {"kl_start_bin", args.kl_start},
                            {"kl_grouping", args.kl_grouping},
                            {"symmetric", !args.asymmetric},
                            {"reduce_range", args.reduce},
                            {"rounding", exmy::to_string(o.mode)},
                            {"scale_mode", exmy::to_string(o.scale)},
                            {"device", exmy::to_string(o.device)},
                            {"fit", !args.no_fit},
                            {"predict_optimal", args.predict},
                            {"fit_points", o.fit_points},
                            {"chunk", o.chunk}};
    for (const auto& f : eff) settings["formats"].push_back(f.name);

    std::string text;
    if (output == "json") {
      nlohmann::json j = exmy::cli::provenance(k_schema_version, argc, argv);
      j["tool"] = "exmy-ptq";
      j["model"] = model;
      j["model_kind"] = exmy::to_string(kind);
      j["settings"] = settings;
      j["tensors"] = nlohmann::json::array();
      for (const auto& r : reports) j["tensors"].push_back(tensor_json(r));
      j["skipped"] = nlohmann::json::array();
      for (const auto& s : skipped) j["skipped"].push_back({{"name", s.first}, {"why", s.second}});
      j["summary"] = summary_json(sum);
      text = j.dump(2) + "\n";
    } else if (output == "csv") {
      text = csv_text(argc, argv, reports);
    } else {
      text = table_text(model, settings, reports, sum, skipped);
    }
    if (!write_path.empty()) {
      if (ends_with(write_path, ".npy")) {
        if (written.size() != 1)
          throw exmy::error("--write '" + write_path + "': a .npy file holds one tensor, there are " +
                            std::to_string(written.size()));
        exmy::write_npy(write_path, written[0]);
      } else {
        exmy::write_safetensors(write_path, written,
                                {{"exmy.content", "fake_quantized"},
                                 {"exmy.command", exmy::cli::command_line(argc, argv)},
                                 {"exmy.git_sha", EXMY_GIT_SHA}});
      }
    }
    if (codes) codes->commit();
    exmy::cli::write_atomic(file, text);
    return 0;
  });
}
