// exmy/cli/cli_common.hpp — what every exmy command-line tool shares: provenance of outputs
// (schema version, exmy version, git SHA, date, the exact command line), one-line errors with exit
// code 2, and atomic output files (temp file + rename).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "exmy/config.hpp"
#include "exmy/formats/format_spec.hpp"
#include "exmy/ptq/atomic_file.hpp"

#if defined(EXMY_HAVE_GIT_SHA_HEADER)
#include "exmy_git_sha.h"  // generated at build time (cmake/exmy_git_sha.cmake)
#endif
#ifndef EXMY_GIT_SHA
#define EXMY_GIT_SHA "unknown"
#endif

namespace exmy::cli {

/// The command line as one shell-quoted string (recorded in every output).
inline std::string command_line(int argc, char** argv) {
  std::string s;
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    const bool plain = a.find_first_of(" \t'\"\\$`*?;&|<>()") == std::string::npos && !a.empty();
    if (i) s += ' ';
    if (plain) {
      s += a;
    } else {
      s += '\'';
      for (char c : a) s += (c == '\'') ? std::string("'\\''") : std::string(1, c);
      s += '\'';
    }
  }
  return s;
}

/// The run's UTC date and time, ISO 8601 ("2024-05-01T12:00:00Z"). SOURCE_DATE_EPOCH (the
/// reproducible-builds convention), when set, replaces the clock so outputs can be byte-identical.
inline std::string utc_date() {
  std::time_t t = std::time(nullptr);
  if (const char* e = std::getenv("SOURCE_DATE_EPOCH")) t = static_cast<std::time_t>(std::atoll(e));
  std::tm tm{};
  gmtime_r(&t, &tm);
  char b[32];
  std::strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return b;
}

/// Provenance fields every JSON output starts with.
inline nlohmann::json provenance(int schema_version, int argc, char** argv) {
  return nlohmann::json{{"schema_version", schema_version},
                        {"exmy_version", exmy::version()},
                        {"git_sha", EXMY_GIT_SHA},
                        {"date", utc_date()},
                        {"command", command_line(argc, argv)}};
}

/// Writes `text` to `path` atomically (ptq/atomic_file.hpp: a temporary file beside it, fsync,
/// rename; removed if the run is interrupted). "-" is stdout.
inline void write_atomic(const std::string& path, const std::string& text) {
  if (path.empty() || path == "-") {
    std::cout << text;
    std::cout.flush();
    return;
  }
  exmy::atomic_file out(path);
  out.write(text.data(), text.size());
  out.commit();
}

/// Runs a tool body: exmy::error and CLI11 errors become one line on stderr and exit code 2;
/// SIGINT/SIGTERM/SIGHUP remove the temporary files of outputs being written.
template <class F>
int run_tool(const char* tool, CLI::App& app, int argc, char** argv, F&& body) {
  exmy::remove_temp_files_on_signal();  // an interrupted run leaves no temporary output file
  try {
    try {
      app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
      return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
      return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
      return app.exit(e);
    } catch (const CLI::ParseError& e) {
      std::cerr << tool << ": error: " << e.what() << "\n";
      return 2;
    }
    return body();
  } catch (const exmy::error& e) {
    std::cerr << tool << ": error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << tool << ": internal error: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace exmy::cli
