// Progress reporting: pure formatting functions plus the small stateful reporter.
#include <tapegrad/train/progress.hpp>

#include <algorithm>
#include <cmath>

#include <sys/ioctl.h>
#include <unistd.h>

#include <tapegrad/train/fit.hpp>

namespace tg::train {

namespace {

template <class... Args> std::string printf_text(const char* format, Args... args) {
  char buf[256];
  const int n = std::snprintf(buf, sizeof buf, format, args...);
  return std::string(buf, static_cast<std::size_t>(std::clamp(n, 0, static_cast<int>(sizeof buf) - 1)));
}

constexpr double kRedrawInterval = 0.1;  // seconds: ~10 updates/s is smooth and costs nothing
constexpr int kMaxBarWidth = 30;
constexpr int kMinBarWidth = 5;

// Columns of the terminal behind `out`, minus one: writing the last column makes
// some terminals wrap, which breaks redrawing with '\r'.
int terminal_width(std::FILE* out) {
  winsize ws{};
  if (ioctl(fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20) return ws.ws_col - 1;
  return 100;
}

}  // namespace

// ---- pure formatting ------------------------------------------------------------

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "--:--";
  const auto total = static_cast<long long>(std::llround(seconds));
  const long long h = total / 3600, m = total / 60 % 60, s = total % 60;
  return h > 0 ? printf_text("%lld:%02lld:%02lld", h, m, s) : printf_text("%lld:%02lld", m, s);
}

std::string format_bar(std::int64_t done, std::int64_t total, int width) {
  width = std::max(width, 1);
  const double fraction = total > 0 ? std::clamp(static_cast<double>(done) / static_cast<double>(total), 0.0, 1.0) : 0;
  const int filled = static_cast<int>(fraction * width);
  std::string bar = "[" + std::string(filled, '=');
  if (filled < width) bar += (filled > 0 ? ">" : " ") + std::string(width - filled - 1, ' ');
  return bar + "]";
}

std::string format_progress_line(const ProgressSnapshot& s, int max_width) {
  // Counters padded to their final width so the bar does not jump as digits grow.
  const int batch_digits = static_cast<int>(std::to_string(s.batches).size());
  const int epoch_digits = static_cast<int>(std::to_string(s.epochs).size());
  const std::string head = printf_text("epoch %*lld/%lld  batch %*lld/%lld ", epoch_digits,
                                       static_cast<long long>(s.epoch), static_cast<long long>(s.epochs),
                                       batch_digits, static_cast<long long>(s.batch), static_cast<long long>(s.batches));
  const std::string tail = printf_text(" loss %.4f  acc %6.2f%%  %6.0f img/s  ETA %s", s.loss, 100 * s.accuracy,
                                       s.images_per_second, format_duration(s.eta_seconds).c_str());
  const int room = max_width - static_cast<int>(head.size() + tail.size()) - 2;  // 2 brackets
  std::string line = room >= kMinBarWidth
                         ? head + format_bar(s.batch, s.batches, std::min(room, kMaxBarWidth)) + tail
                         : head.substr(0, head.size() - 1) + tail;
  if (static_cast<int>(line.size()) > max_width) line.resize(static_cast<std::size_t>(std::max(max_width, 0)));
  return line;
}

std::string format_epoch_line(const EpochSummary& e, const std::string& extra) {
  std::string line = printf_text("epoch %lld/%lld  loss %.4f  accuracy %.4f  images/s %.0f  seconds %.1f",
                                 static_cast<long long>(e.epoch), static_cast<long long>(e.epochs), e.loss, e.accuracy, e.images_per_second, e.seconds);
  if (!extra.empty()) line += "  " + extra;
  return line;
}

// ---- the reporter ----------------------------------------------------------------

Progress::Progress(std::int64_t epochs, std::int64_t batches_per_epoch, std::FILE* out, ProgressStyle style)
    : epochs_(epochs), batches_per_epoch_(batches_per_epoch), out_(out) {
  live_ = style == ProgressStyle::Bar || (style == ProgressStyle::Auto && isatty(fileno(out)));
}

void Progress::start_epoch(std::int64_t epoch) {
  epoch_ = epoch;
  batch_ = images_ = 0;
  loss_sum_ = accuracy_sum_ = 0;
  epoch_start_ = Clock::now();
  last_draw_ = Clock::time_point{};
  last_batch_end_ = epoch_start_;
}

ProgressSnapshot Progress::snapshot(Clock::time_point now) const {
  ProgressSnapshot s;
  s.epoch = epoch_;
  s.epochs = epochs_;
  s.batch = batch_;
  s.batches = batches_per_epoch_;
  const double n = static_cast<double>(std::max<std::int64_t>(images_, 1));
  s.loss = loss_sum_ / n;
  s.accuracy = accuracy_sum_ / n;
  const double elapsed = std::chrono::duration<double>(now - epoch_start_).count();
  if (elapsed > 0 && batch_ > 0) {
    s.images_per_second = static_cast<double>(images_) / elapsed;
    // Batches left in this epoch and in the epochs after it, at this epoch's pace.
    const double left = static_cast<double>(batches_per_epoch_ - batch_) +
                        static_cast<double>(epochs_ - epoch_) * static_cast<double>(batches_per_epoch_);
    s.eta_seconds = std::max(left, 0.0) * elapsed / static_cast<double>(batch_);
  }
  return s;
}

void Progress::batch(std::int64_t images, double loss, double accuracy) {
  ++batch_;
  images_ += images;
  last_batch_end_ = Clock::now();
  loss_sum_ += loss * static_cast<double>(images);
  accuracy_sum_ += accuracy * static_cast<double>(images);
  if (!live_) return;
  const Clock::time_point now = last_batch_end_;
  const bool last = batch_ >= batches_per_epoch_;
  if (!last && std::chrono::duration<double>(now - last_draw_).count() < kRedrawInterval) return;
  last_draw_ = now;
  draw(format_progress_line(snapshot(now), terminal_width(out_)));
}

// '\r' and the new text, padded with spaces over whatever the last line left.
void Progress::draw(const std::string& line) {
  const std::size_t pad = drawn_width_ > line.size() ? drawn_width_ - line.size() : 0;
  std::fprintf(out_, "\r%s%*s", line.c_str(), static_cast<int>(pad), "");
  std::fflush(out_);
  drawn_width_ = line.size();
}

// Speed and seconds stop at the last batch: an evaluation run between the last
// batch and end_epoch() (to fill `extra`) is not training time.
EpochSummary Progress::end_epoch(const std::string& extra) {
  const Clock::time_point now = batch_ > 0 ? last_batch_end_ : Clock::now();
  const ProgressSnapshot s = snapshot(now);
  EpochSummary e;
  e.epoch = epoch_;
  e.epochs = epochs_;
  e.loss = s.loss;
  e.accuracy = s.accuracy;
  e.images_per_second = s.images_per_second;
  e.seconds = std::chrono::duration<double>(now - epoch_start_).count();
  const std::string line = format_epoch_line(e, extra);
  if (live_) {
    draw(line);
    std::fputc('\n', out_);
    drawn_width_ = 0;
  } else {
    std::fprintf(out_, "%s\n", line.c_str());
  }
  std::fflush(out_);
  return e;
}

void Progress::attach(nn::FitOptions& options, const std::string& val_label) {
  const std::int64_t first = options.first_epoch;
  auto begin = std::move(options.on_epoch_begin);
  options.on_epoch_begin = [this, first, begin](std::int64_t epoch) {
    start_epoch(epoch - first + 1);
    if (begin) begin(epoch);
  };
  auto batch_done = std::move(options.on_batch);
  options.on_batch = [this, batch_done](const nn::BatchReport& b) {
    batch(b.batch_size, b.loss, b.accuracy);
    if (batch_done) batch_done(b);
  };
  auto epoch_done = std::move(options.on_epoch);
  options.on_epoch = [this, val_label, epoch_done](const nn::EpochReport& e) {
    end_epoch(e.val_accuracy ? printf_text("%s %.4f", val_label.c_str(), *e.val_accuracy) : "");
    if (epoch_done) epoch_done(e);
  };
}

}  // namespace tg::train
