// exmy/display/chart.hpp — a small line/bar chart rendered to PNG in C++, for notebooks.
//
// xeus-cling has no usable plotting widget here (xplot is conda-only and crashes, xeus-cling#435:
// "render a PNG and display it through mime_bundle_repr"). So a notebook builds a `chart`, and the
// kernel shows it through mime_bundle_repr(chart) → {"image/png": base64, "text/plain": summary}.
// Rendering: own rasterizer (axes, ticks, lines, bars, legend), text from stb_easy_font, PNG
// encoding by stb_image_write (Debian libstb-dev). Paper figures come from analysis/ (matplotlib);
// this is for exploring.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace exmy {

/// What a chart draws: polylines over numeric x, or grouped bars over categories.
enum class chart_kind : std::uint8_t { line, bar };

/// How a line-chart series is drawn.
enum class series_style : std::uint8_t { line, points, line_points };

/// One data series. Line charts use x and y (same length); bar charts use y only, one value per
/// category of the chart. A series without a name is left out of the legend.
struct chart_series {
  std::string name;
  std::vector<double> x;
  std::vector<double> y;
  series_style style = series_style::line;
  std::int32_t color = -1;  ///< 0xRRGGBB; −1: the palette colour of the series' position
};

/// A chart description; render it with render_png() or display it with mime_bundle_repr().
struct chart {
  std::string title;
  std::string x_label;
  std::string y_label;
  chart_kind kind = chart_kind::line;
  bool log_x = false;                   ///< line charts: log10 x axis (non-positive x skipped)
  bool log_y = false;                   ///< log10 y axis (non-positive y skipped)
  std::vector<std::string> categories;  ///< bar charts: one label per bar group
  std::vector<chart_series> series;
  int width = 640;                      ///< pixels
  int height = 400;
};

/// An RGB image, row-major, 3 bytes per pixel.
struct rgb_image {
  int width = 0;
  int height = 0;
  std::vector<std::uint8_t> pixels;
};

/// The colour of series i (RGB), the same palette as analysis/results_io.py.
std::uint32_t series_color(std::size_t i);

/// Rasterizes the chart. Throws exmy::error for an inconsistent description (sizes out of
/// 64…4096, x/y length mismatch, bar series whose length differs from the categories).
rgb_image render(const chart& c);

/// Encodes an RGB image as PNG bytes.
std::vector<std::uint8_t> encode_png(const rgb_image& img);

/// render() then encode_png().
std::vector<std::uint8_t> render_png(const chart& c);

/// Standard base64 (RFC 4648, with padding), as Jupyter expects for image/png.
std::string base64_encode(const std::vector<std::uint8_t>& bytes);

/// Jupyter MIME bundle: {"image/png": base64 PNG, "text/plain": a one-line summary}.
nlohmann::json mime_bundle_repr(const chart& c);

}  // namespace exmy
