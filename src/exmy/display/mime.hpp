// exmy/display/mime.hpp — Jupyter rich display of exmy values (the xeus-cling convention).
//
// xeus-cling shows a value of type T through `nl::json mime_bundle_repr(const T&)`, found by
// argument-dependent lookup in T's namespace (xeus-cling docs, "Displaying rich content"). These
// overloads return {"text/html": a table, "text/plain": the same table as aligned text} for format
// descriptors and analytic results; charts are in display/chart.hpp. Nothing here needs a kernel:
// tests/test_display.cpp checks the bundles directly.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "exmy/formats/format_spec.hpp"
#include "exmy/sqnr/report.hpp"

namespace exmy {

/// A list of formats shown as one table (name, bits, E, M, bias, encoding, max, min normal,
/// min subnormal, finite values, epsilon).
struct format_table {
  std::vector<format_spec> formats;
};

/// A list of analytic results shown as one table (distribution, format, range method, maxval,
/// MSE, SQNR in both conventions, dot-product SQNR, error decomposition).
struct sqnr_table {
  std::vector<sqnr_record> records;
};

/// Escapes &, <, >, " for HTML text and attributes.
std::string html_escape(const std::string& s);

/// Bundle of a format table.
nlohmann::json mime_bundle_repr(const format_table& t);
/// Bundle of one format (a one-row format table).
nlohmann::json mime_bundle_repr(const format_spec& f);
/// Bundle of an analytic results table.
nlohmann::json mime_bundle_repr(const sqnr_table& t);
/// Bundle of one analytic result (a one-row results table).
nlohmann::json mime_bundle_repr(const sqnr_record& r);

}  // namespace exmy
