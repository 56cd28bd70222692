// Charts through gnuplot: data files and a script in a temporary directory,
// gnuplot run there through popen, the PNG moved into place when it succeeded.
#include "common/plots.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <sys/wait.h>
#include <unistd.h>

#include <tapegrad/core/autograd.hpp>
#include <tapegrad/core/tensor.hpp>

namespace tg::examples {

namespace fs = std::filesystem;

namespace {

// matplotlib's default cycle (tab10): familiar to readers of the seed notebooks.
const std::array<const char*, 10> kColours = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                              "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
// The two ends of viridis: matplotlib's colours for scatter(c=labels) with labels 0 and 1.
const std::array<int, 3> kViridisLow = {0x44, 0x01, 0x54}, kViridisHigh = {0xfd, 0xe7, 0x25};

// A gnuplot single-quoted string: no escapes inside except '' for '.
std::string gp_quote(const std::string& s) {
  std::string out = "'";
  for (const char c : s) out += c == '\'' ? std::string("''") : c == '\n' ? std::string(" ") : std::string(1, c);
  return out + "'";
}

// A POSIX shell single-quoted word.
std::string sh_quote(const std::string& s) {
  std::string out = "'";
  for (const char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// gnuplot reads "NaN" as a missing point.
std::string gp_number(double v) { return std::isfinite(v) ? train::number_text(v) : "NaN"; }

struct GnuplotScript {
  std::vector<std::pair<std::string, std::string>> files;  // name in the temp dir, contents
  std::string body;                                        // after the terminal/output preamble
};

bool is_executable(const fs::path& p) { return !p.empty() && access(p.c_str(), X_OK) == 0 && !fs::is_directory(p); }

std::string slurp(std::FILE* f) {
  std::string out;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) out.append(buf, n);
  return out;
}

PlotResult failed(const fs::path& png, const std::string& why) { return {false, "no plot " + png.string() + ": " + why}; }

// Runs the script with its data files in a fresh temporary directory, where
// gnuplot writes plot.png; the PNG is then moved to `png`, so a failed run never
// leaves a stale or half-written chart behind.
PlotResult run_gnuplot(const fs::path& png, const GnuplotScript& script) {
  std::string why;
  const std::string gnuplot = find_gnuplot(&why);
  if (gnuplot.empty()) return failed(png, why);

  const char* tmp_root = std::getenv("TMPDIR");
  std::string pattern = (fs::path(tmp_root && *tmp_root ? tmp_root : "/tmp") / "tapegrad-plot-XXXXXX").string();
  if (!mkdtemp(pattern.data())) return failed(png, "cannot create a temporary directory under " + pattern);
  const fs::path dir = pattern;

  const std::string preamble =
      "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
      "  set terminal pngcairo size " + std::to_string(kPlotWidth) + "," + std::to_string(kPlotHeight) +
      " noenhanced font 'DejaVu Sans,11'\n"
      "} else {\n"
      "  set terminal png size " + std::to_string(kPlotWidth) + "," + std::to_string(kPlotHeight) + " noenhanced\n"
      "}\n"
      "set output 'plot.png'\n";
  bool written = true;
  for (const auto& [name, contents] : script.files) written = written && (std::ofstream(dir / name) << contents).good();
  written = written && (std::ofstream(dir / "plot.gp") << preamble << script.body).good();

  PlotResult result;
  if (!written) {
    result = failed(png, "cannot write gnuplot's input files in " + dir.string());
  } else {
    const std::string command = "cd " + sh_quote(dir.string()) + " && " + sh_quote(gnuplot) + " plot.gp 2>&1";
    std::FILE* pipe = popen(command.c_str(), "r");
    const std::string output = pipe ? slurp(pipe) : "";
    const int status = pipe ? pclose(pipe) : -1;
    std::error_code ec;
    const bool has_png = fs::exists(dir / "plot.png", ec) && fs::file_size(dir / "plot.png", ec) > 0;
    if (!pipe || !WIFEXITED(status) || WEXITSTATUS(status) != 0 || !has_png) {
      result = failed(png, "gnuplot (" + gnuplot + ") failed" + (output.empty() ? std::string() : ":\n" + output));
    } else {
      if (png.has_parent_path()) fs::create_directories(png.parent_path(), ec);
      fs::rename(dir / "plot.png", png, ec);
      if (ec) {  // another file system: copy instead
        ec.clear();
        fs::copy_file(dir / "plot.png", png, fs::copy_options::overwrite_existing, ec);
      }
      result = ec ? failed(png, "cannot write it: " + ec.message()) : PlotResult{true, ""};
    }
  }
  std::error_code ignored;
  fs::remove_all(dir, ignored);
  return result;
}

std::string hex_colour(const std::array<int, 3>& rgb) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x", rgb[0], rgb[1], rgb[2]);
  return buf;
}

std::array<int, 3> parse_hex(const char* hex) {
  const unsigned long v = std::strtoul(hex + 1, nullptr, 16);
  return {static_cast<int>(v >> 16 & 0xff), static_cast<int>(v >> 8 & 0xff), static_cast<int>(v & 0xff)};
}

// Class colours: viridis ends for two classes (as the seed's scatter), tab10 beyond.
std::array<int, 3> class_colour(int k, int classes) {
  if (classes <= 2) return k == 0 ? kViridisLow : kViridisHigh;
  return parse_hex(kColours[static_cast<std::size_t>(k) % kColours.size()]);
}

// `rgb` mixed with white; alpha is the share of the colour.
std::array<int, 3> lighten(const std::array<int, 3>& rgb, double alpha) {
  std::array<int, 3> out{};
  for (int i = 0; i < 3; ++i) out[i] = static_cast<int>(std::lround(alpha * rgb[i] + (1 - alpha) * 255));
  return out;
}

}  // namespace

bool warn_if_failed(const PlotResult& r) {
  if (!r.ok) std::fprintf(stderr, "warning: %s\n", r.message.c_str());
  return r.ok;
}

std::string find_gnuplot(std::string* why) {
  const auto explain = [&](const std::string& text) {
    if (why) *why = text;
    return std::string();
  };
  if (const char* forced = std::getenv("TAPEGRAD_GNUPLOT")) {
    if (!*forced) return explain("plotting is disabled (TAPEGRAD_GNUPLOT is set and empty)");
    if (!is_executable(forced)) return explain(std::string("TAPEGRAD_GNUPLOT=") + forced + " is not an executable program");
    return forced;
  }
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path ? path : "");
  for (std::string d; std::getline(dirs, d, ':');) {
    const fs::path candidate = fs::path(d.empty() ? "." : d) / "gnuplot";
    if (is_executable(candidate)) return candidate.string();
  }
  return explain("gnuplot was not found on PATH; install it with 'sudo apt-get install gnuplot-nox' "
                 "(or scripts/install-deps.sh) to get PNG charts");
}

PlotResult plot_loss_accuracy(const fs::path& png, const std::vector<train::BatchRecord>& history, const std::string& title) {
  if (history.empty()) throw std::invalid_argument("plot_loss_accuracy: the history is empty");
  GnuplotScript s;
  std::string data;
  for (std::size_t i = 0; i < history.size(); ++i)
    data += std::to_string(i + 1) + " " + gp_number(history[i].loss) + " " + gp_number(history[i].accuracy) + "\n";
  s.files.emplace_back("history.dat", data);

  std::ostringstream b;
  b << "set title " << gp_quote(title) << " font ',14'\n"
    << "set xlabel '#batches'\nset ylabel 'loss' textcolor rgb '#2ca02c'\n"
    << "set y2label 'accuracy' textcolor rgb '#1f77b4'\n"
    << "set ytics nomirror\nset y2tics\nset grid xtics ytics lt 1 lw 1 lc rgb '#d0d0d0'\n"
    << "set key outside below center horizontal\nset bmargin 5.5\n"
    << "set xrange [1:" << std::max<std::size_t>(history.size(), 2) << "]\n";
  // A dashed line where each new epoch starts (only while they stay readable).
  std::vector<std::size_t> starts;
  for (std::size_t i = 1; i < history.size(); ++i)
    if (history[i].epoch != history[i - 1].epoch) starts.push_back(i + 1);
  if (starts.size() <= 30)
    for (const std::size_t x : starts)
      b << "set arrow from " << x << ", graph 0 to " << x << ", graph 1 nohead dt 2 lc rgb '#999999'\n";
  b << "plot 'history.dat' using 1:2 axes x1y1 with lines lw 1.5 lc rgb '#2ca02c' title 'train loss', \\\n"
    << "     '' using 1:3 axes x1y2 with lines lw 2 lc rgb '#1f77b4' title 'train accuracy'"
    << (starts.empty() || starts.size() > 30 ? "" : ", \\\n     NaN with lines dt 2 lc rgb '#999999' title 'new epoch'")
    << "\n";
  s.body = b.str();
  return run_gnuplot(png, s);
}

PlotResult plot_epoch_metrics(const fs::path& png, const EpochChart& chart) {
  if (chart.series.empty()) throw std::invalid_argument("plot_epoch_metrics: no series to plot");
  std::size_t epochs = 0;
  bool any_right = false;
  for (const EpochSeries& series : chart.series) {
    if (series.values.empty())
      throw std::invalid_argument("plot_epoch_metrics: series '" + series.label + "' has no values");
    epochs = std::max(epochs, series.values.size());
    any_right = any_right || series.right_axis;
  }

  GnuplotScript s;
  std::ostringstream b;
  b << "set title " << gp_quote(chart.title) << " font ',14'\n"
    << "set xlabel " << gp_quote(chart.x_label) << "\n"
    << "set grid xtics ytics lt 1 lw 1 lc rgb '#d0d0d0'\nset key outside below center horizontal\nset bmargin 5.5\n"
    << "set xrange [0.5:" << epochs << ".5]\n";
  if (epochs <= 20) b << "set xtics 1\n";
  // With two axes, dashed curves belong to the left one and solid to the right.
  if (any_right)
    b << "set ylabel " << gp_quote(chart.left_label + " (dashed)") << "\nset ytics nomirror\nset y2tics\n"
      << "set y2label " << gp_quote(chart.right_label + " (solid)") << "\n";
  else
    b << "set ylabel " << gp_quote(chart.left_label) << "\n";
  b << "plot ";
  for (std::size_t k = 0; k < chart.series.size(); ++k) {
    const EpochSeries& series = chart.series[k];
    std::string data;
    for (std::size_t e = 0; e < series.values.size(); ++e)
      data += std::to_string(e + 1) + " " + gp_number(series.values[e]) + "\n";
    const std::string file = "series" + std::to_string(k) + ".dat";
    s.files.emplace_back(file, data);
    b << (k ? ", \\\n     " : "") << gp_quote(file) << " using 1:2 axes " << (series.right_axis ? "x1y2" : "x1y1")
      << " with linespoints lw 2 pt 7 ps 1.2 lc rgb '" << kColours[k % kColours.size()] << "'"
      << (series.right_axis || !any_right ? " dt 1" : " dt 2") << " title " << gp_quote(series.label);
  }
  b << "\n";
  s.body = b.str();
  return run_gnuplot(png, s);
}

PlotResult plot_decision_boundary(const fs::path& png, const Tensor& points, const Tensor& labels,
                                  const Predictor& predict, const DecisionBoundaryOptions& o) {
  const char* fn = "plot_decision_boundary";
  if (!points.defined() || points.dim() != 2 || points.size(1) != 2 || points.size(0) < 1 ||
      points.dtype() == kInt64)
    throw std::invalid_argument(std::string(fn) + ": points must be a float [N,2] tensor, got " +
                                (points.defined() ? describe(points) : "an undefined tensor"));
  if (!labels.defined() || labels.numel() != points.size(0))
    throw std::invalid_argument(std::string(fn) + ": expected one label per point (" + std::to_string(points.size(0)) +
                                "), got " + (labels.defined() ? describe(labels) : "an undefined tensor"));
  if (o.resolution < 2 || o.resolution > 2000)
    throw std::invalid_argument(std::string(fn) + ": resolution must be in [2, 2000], got " +
                                std::to_string(o.resolution));
  if (!predict) throw std::invalid_argument(std::string(fn) + ": no prediction function");

  const std::vector<double> xy = points.to_vector<double>();
  const std::vector<double> y = labels.to_vector<double>();
  double u_min = xy[0], u_max = xy[0], v_min = xy[1], v_max = xy[1];
  for (std::size_t i = 0; i < xy.size(); i += 2) {
    u_min = std::min(u_min, xy[i]), u_max = std::max(u_max, xy[i]);
    v_min = std::min(v_min, xy[i + 1]), v_max = std::max(v_max, xy[i + 1]);
  }
  u_min -= o.margin, u_max += o.margin, v_min -= o.margin, v_max += o.margin;

  // The grid, row by row, in the dtype of the data (the model's dtype).
  const int r = o.resolution;
  std::vector<double> grid;
  grid.reserve(static_cast<std::size_t>(r) * r * 2);
  for (int j = 0; j < r; ++j)
    for (int i = 0; i < r; ++i) {
      grid.push_back(u_min + (u_max - u_min) * i / (r - 1));
      grid.push_back(v_min + (v_max - v_min) * j / (r - 1));
    }
  const std::int64_t m = static_cast<std::int64_t>(r) * r;
  Tensor scores;
  {
    NoGradGuard no_grad;
    scores = predict(tensor(grid, {m, 2}, points.dtype()));
  }
  if (!scores.defined() || scores.numel() % m != 0 || scores.numel() == 0)
    throw std::invalid_argument(std::string(fn) + ": the prediction for [" + std::to_string(m) +
                                ",2] points should have " + std::to_string(m) + " or " + std::to_string(m) +
                                "xK values, got " + (scores.defined() ? describe(scores) : "an undefined tensor"));
  const std::int64_t k = scores.numel() / m;  // 1: probability of class 1; K > 1: class scores
  const std::vector<double> sv = scores.to_vector<double>();

  int classes = k > 1 ? static_cast<int>(k) : 2;
  for (const double label : y) classes = std::max(classes, static_cast<int>(std::lround(label)) + 1);

  GnuplotScript s;
  std::string grid_data;
  grid_data.reserve(static_cast<std::size_t>(m) * 40);
  for (std::int64_t p = 0; p < m; ++p) {
    std::array<int, 3> colour{};
    if (k == 1 && !o.hard) {  // shade between the two class colours by probability
      const double t = std::clamp(sv[static_cast<std::size_t>(p)], 0.0, 1.0);
      for (int c = 0; c < 3; ++c) colour[c] = static_cast<int>(std::lround((1 - t) * kViridisLow[c] + t * kViridisHigh[c]));
    } else {
      int cls = 0;
      if (k == 1) {
        cls = sv[static_cast<std::size_t>(p)] > 0.5 ? 1 : 0;
      } else {
        const auto row = sv.begin() + static_cast<std::ptrdiff_t>(p * k);
        cls = static_cast<int>(std::max_element(row, row + k) - row);
      }
      colour = class_colour(cls, classes);
    }
    colour = lighten(colour, 0.3);  // the seed's low-alpha background
    grid_data += gp_number(grid[2 * p]) + " " + gp_number(grid[2 * p + 1]) + " " + std::to_string(colour[0]) + " " +
                 std::to_string(colour[1]) + " " + std::to_string(colour[2]) + "\n";
  }
  s.files.emplace_back("grid.dat", grid_data);

  std::ostringstream b;
  b << "set title " << gp_quote(o.title) << " font ',14'\n"
    << "set xlabel 'x1'\nset ylabel 'x2'\nset size ratio -1\n"
    << "set xrange [" << gp_number(u_min) << ":" << gp_number(u_max) << "]\n"
    << "set yrange [" << gp_number(v_min) << ":" << gp_number(v_max) << "]\n"
    << "set key outside below center horizontal\nset bmargin 5.5\n"
    << "plot 'grid.dat' using 1:2:3:4:5 with rgbimage notitle";
  // One file per label, drawn as a black disc under a coloured one (an outline).
  for (int c = 0; c < classes; ++c) {
    std::string data;
    for (std::size_t i = 0; i < y.size(); ++i)
      if (std::lround(y[i]) == c) data += gp_number(xy[2 * i]) + " " + gp_number(xy[2 * i + 1]) + "\n";
    if (data.empty()) continue;
    const std::string file = "label" + std::to_string(c) + ".dat";
    s.files.emplace_back(file, data);
    b << ", \\\n  " << gp_quote(file) << " using 1:2 with points pt 7 ps 1.5 lc rgb 'black' notitle"
      << ", \\\n  '' using 1:2 with points pt 7 ps 1.1 lc rgb '" << hex_colour(class_colour(c, classes))
      << "' title 'label " << c << "'";
  }
  b << "\n";
  s.body = b.str();
  return run_gnuplot(png, s);
}

}  // namespace tg::examples
