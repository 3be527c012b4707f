// exmy/cli/exmy_formats_args.hpp — the command line of exmy-formats: its options
// (declare_options) and their check (check_options). Separate from main() so that the fuzz target
// fuzz/fuzz_cli.cpp runs exactly this parsing (issue 8).
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "exmy/formats/format_spec.hpp"

namespace exmy::cli {

/// The option values as typed.
struct formats_args {
  std::string list, output = "table", file = "-";
};

/// Declares the options of exmy-formats on `app`, bound to `a`.
inline void declare_options(CLI::App& app, formats_args& a) {
  app.add_option("--formats", a.list, "comma-separated format names (default: every preset)");
  app.add_option("--output", a.output, "table | json | csv")
      ->check(CLI::IsMember({"table", "json", "csv"}));
  app.add_option("-o", a.file, "output file (written atomically; default stdout)");
}

/// The formats to print (after app.parse); throws exmy::error for a bad name.
inline std::vector<format_spec> check_options(const formats_args& a) {
  return a.list.empty() ? presets() : parse_format_list(a.list);
}

}  // namespace exmy::cli
