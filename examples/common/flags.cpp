// The flag parser: declarations, parsing with named errors, and the usage table.
#include "common/flags.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include <tapegrad/core/parallel.hpp>
#include <tapegrad/core/tensor.hpp>
#include <tapegrad/ops/config.hpp>

#include <tapegrad/train/metrics.hpp>  // number_text, parse_number, parse_integer

namespace tg::examples {

namespace {

const char* default_metavar(FlagType type) {
  switch (type) {
    case FlagType::Int: return "N";
    case FlagType::Double: return "X";
    case FlagType::Path: return "PATH";
    case FlagType::String: return "TEXT";
    case FlagType::Bool: return "";
  }
  return "";
}

const char* type_name(FlagType type) {
  switch (type) {
    case FlagType::Bool: return "bool";
    case FlagType::Int: return "int";
    case FlagType::Double: return "double";
    case FlagType::String: return "string";
    case FlagType::Path: return "path";
  }
  return "?";
}

std::optional<bool> parse_bool(const std::string& text) {
  if (text == "true" || text == "1" || text == "yes" || text == "on") return true;
  if (text == "false" || text == "0" || text == "no" || text == "off") return false;
  return std::nullopt;
}

// Levenshtein distance, for "did you mean" on a mistyped flag.
std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

}  // namespace

// ---- Flag -------------------------------------------------------------------

Flag& Flag::at_least(double min) {
  if (type_ != FlagType::Int && type_ != FlagType::Double)
    throw std::logic_error("flag --" + name_ + ": at_least() applies to int and double flags only");
  min_ = min;
  return *this;
}

Flag& Flag::at_most(double max) {
  if (type_ != FlagType::Int && type_ != FlagType::Double)
    throw std::logic_error("flag --" + name_ + ": at_most() applies to int and double flags only");
  max_ = max;
  return *this;
}

Flag& Flag::metavar(std::string name) {
  metavar_ = std::move(name);
  return *this;
}

// ---- declarations -------------------------------------------------------------

FlagParser::FlagParser(std::string program, std::string description)
    : program_(std::move(program)), description_(std::move(description)) {}

Flag& FlagParser::declare(const std::string& name, const std::string& help, FlagType type, Presence presence,
                          std::optional<std::string> default_text) {
  if (name.empty() || name[0] == '-' || name.find('=') != std::string::npos || name == "help" ||
      name == "version")
    throw std::logic_error("FlagParser: bad flag name '" + name +
                           "' (no leading dashes, no '=', not 'help' or 'version')");
  if (find(name)) throw std::logic_error("FlagParser: flag --" + name + " declared twice");
  Flag& f = flags_.emplace_back();
  f.name_ = name;
  f.help_ = help;
  f.type_ = type;
  f.presence_ = presence;
  f.metavar_ = default_metavar(type);
  f.default_text_ = std::move(default_text);
  return f;
}

Flag& FlagParser::add_bool(const std::string& name, const std::string& help) {
  return declare(name, help, FlagType::Bool, Presence::Optional, std::string("false"));
}
Flag& FlagParser::add_int(const std::string& name, const std::string& help, std::int64_t default_value) {
  return declare(name, help, FlagType::Int, Presence::Optional, std::to_string(default_value));
}
Flag& FlagParser::add_int(const std::string& name, const std::string& help, Presence presence) {
  return declare(name, help, FlagType::Int, presence, std::nullopt);
}
Flag& FlagParser::add_double(const std::string& name, const std::string& help, double default_value) {
  return declare(name, help, FlagType::Double, Presence::Optional, train::number_text(default_value));
}
Flag& FlagParser::add_double(const std::string& name, const std::string& help, Presence presence) {
  return declare(name, help, FlagType::Double, presence, std::nullopt);
}
Flag& FlagParser::add_string(const std::string& name, const std::string& help, const std::string& default_value) {
  return declare(name, help, FlagType::String, Presence::Optional, default_value);
}
Flag& FlagParser::add_string(const std::string& name, const std::string& help, Presence presence) {
  return declare(name, help, FlagType::String, presence, std::nullopt);
}
Flag& FlagParser::add_path(const std::string& name, const std::string& help,
                           const std::filesystem::path& default_value) {
  return declare(name, help, FlagType::Path, Presence::Optional, default_value.string());
}
Flag& FlagParser::add_path(const std::string& name, const std::string& help, Presence presence) {
  return declare(name, help, FlagType::Path, presence, std::nullopt);
}

Flag* FlagParser::find(const std::string& name) {
  for (Flag& f : flags_)
    if (f.name_ == name) return &f;
  return nullptr;
}

// ---- parsing --------------------------------------------------------------------

void FlagParser::unknown_flag(const std::string& name) const {
  std::string best;
  std::size_t best_distance = 3;  // suggest only close misspellings
  for (const Flag& f : flags_) {
    const std::size_t d = edit_distance(name, f.name_);
    if (d < best_distance) best_distance = d, best = f.name_;
  }
  std::string msg = "unknown flag --" + name;
  if (!best.empty()) msg += " (did you mean --" + best + "?)";
  throw FlagError(msg);
}

// Checks `text` against the flag's type and range, then stores it.
void FlagParser::assign(Flag& f, const std::string& text) {
  const std::string flag = "--" + f.name_;
  if (text.empty() && (f.type_ == FlagType::Int || f.type_ == FlagType::Double || f.type_ == FlagType::Path))
    throw FlagError(flag + " needs a value (" + f.metavar_ + ")");
  std::optional<double> number;
  switch (f.type_) {
    case FlagType::Bool:
      if (!parse_bool(text)) throw FlagError(flag + ": expected true or false, got '" + text + "'");
      break;
    case FlagType::Int: {
      const auto v = train::parse_integer(text);
      if (!v) throw FlagError(flag + ": expected an integer (" + f.metavar_ + "), got '" + text + "'");
      number = static_cast<double>(*v);
      break;
    }
    case FlagType::Double: {
      const auto v = train::parse_number(text);
      if (!v || !std::isfinite(*v))
        throw FlagError(flag + ": expected a finite number (" + f.metavar_ + "), got '" + text + "'");
      number = *v;
      break;
    }
    case FlagType::String:
    case FlagType::Path: break;
  }
  // Integer bounds as integers: "at most 1000000000", not "1e+09".
  auto bound_text = [&f](double bound) {
    return f.type_ == FlagType::Int ? std::to_string(static_cast<std::int64_t>(bound)) : train::number_text(bound);
  };
  if (number && f.min_ && *number < *f.min_)
    throw FlagError(flag + " must be at least " + bound_text(*f.min_) + ", got " + text);
  if (number && f.max_ && *number > *f.max_)
    throw FlagError(flag + " must be at most " + bound_text(*f.max_) + ", got " + text);
  f.value_ = text;
}

bool FlagParser::parse(const std::vector<std::string>& args) {
  for (Flag& f : flags_) f.value_.reset();
  for (const std::string& a : args)
    if (a == "-h" || a == "--help") return false;

  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.size() < 3 || arg.compare(0, 2, "--") != 0)
      throw FlagError("unexpected argument '" + arg + "': flags look like --name value or --name=value");
    const std::size_t eq = arg.find('=');
    const std::string name = arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
    const std::optional<std::string> inline_value =
        eq == std::string::npos ? std::nullopt : std::optional<std::string>(arg.substr(eq + 1));

    Flag* f = find(name);
    if (!f && name.compare(0, 3, "no-") == 0) {  // --no-name switches a bool flag off
      Flag* negated = find(name.substr(3));
      if (negated && negated->type_ == FlagType::Bool) {
        if (inline_value) throw FlagError("--" + name + " takes no value");
        negated->value_ = "false";
        continue;
      }
    }
    if (!f) unknown_flag(name);

    if (f->type_ == FlagType::Bool) {
      assign(*f, inline_value.value_or("true"));
    } else if (inline_value) {
      assign(*f, *inline_value);
    } else {
      // A following "--x" is the next flag, not a value (negative numbers still work).
      if (i + 1 >= args.size() || args[i + 1].compare(0, 2, "--") == 0)
        throw FlagError("--" + name + " needs a value (" + f->metavar_ + ")");
      assign(*f, args[++i]);
    }
  }

  for (const Flag& f : flags_)
    if (f.presence_ == Presence::Required && !f.value_)
      throw FlagError("missing required flag --" + f.name_ + " " + f.metavar_ + " (" + f.help_ + ")");
  return true;
}

void FlagParser::parse_or_exit(int argc, const char* const* argv) {
  std::vector<std::string> args(argv + (argc > 0 ? 1 : 0), argv + argc);
  for (const std::string& a : args)
    if (a == "--version") {  // the versions, CPU, BLAS kernels and threads: what a bug report or a benchmark needs
      std::printf("%s, %s", program_.c_str(), tg::config_text().c_str());
      std::exit(0);
    }
  try {
    if (!parse(args)) {
      std::fputs(help().c_str(), stdout);
      std::exit(0);
    }
  } catch (const FlagError& e) {
    std::fprintf(stderr, "%s: %s\nRun '%s --help' for the list of flags.\n", program_.c_str(), e.what(),
                 program_.c_str());
    std::exit(2);
  }
}

std::string FlagParser::help() const {
  struct Row {
    std::string left, right;
  };
  std::vector<Row> rows;
  for (const Flag& f : flags_) {
    Row r;
    r.left = "--" + f.name_ + (f.metavar_.empty() ? "" : " " + f.metavar_);
    r.right = f.help_;
    if (f.type_ == FlagType::Bool)
      r.left = "--[no-]" + f.name_;
    else if (f.default_text_)
      r.right += " (default: " + (f.default_text_->empty() ? std::string("\"\"") : *f.default_text_) + ")";
    else if (f.presence_ == Presence::Required)
      r.right += " (required)";
    rows.push_back(r);
  }
  rows.push_back({"-h, --help", "show this help and exit"});
  rows.push_back({"--version", "show tapegrad's version, the CPU, the BLAS kernels and the threads, and exit"});

  std::size_t width = 0;
  for (const Row& r : rows) width = std::max(width, r.left.size());
  std::ostringstream os;
  os << "Usage: " << program_ << " [flags]\n\n";
  if (!description_.empty()) os << description_ << "\n\n";
  os << "Flags:\n";
  for (const Row& r : rows) os << "  " << r.left << std::string(width - r.left.size() + 3, ' ') << r.right << "\n";
  return os.str();
}

// ---- typed values -----------------------------------------------------------------

const Flag& FlagParser::lookup(const std::string& name, FlagType type) const {
  for (const Flag& f : flags_)
    if (f.name_ == name) {
      if (f.type_ != type)
        throw std::logic_error(std::string("flag --") + name + " is a " + type_name(f.type_) + " flag, read as " +
                               type_name(type));
      if (!f.value_ && !f.default_text_)
        throw std::logic_error("flag --" + name + " was not given and has no default; check has(\"" + name +
                               "\") first");
      return f;
    }
  throw std::logic_error("FlagParser: no flag --" + name + " was declared");
}

bool FlagParser::has(const std::string& name) const {
  for (const Flag& f : flags_)
    if (f.name_ == name) return f.value_ || f.default_text_;
  throw std::logic_error("FlagParser: no flag --" + name + " was declared");
}

bool FlagParser::was_given(const std::string& name) const {
  for (const Flag& f : flags_)
    if (f.name_ == name) return f.value_.has_value();
  throw std::logic_error("FlagParser: no flag --" + name + " was declared");
}

// Values were validated by assign(); defaults were produced from typed values.
bool FlagParser::get_bool(const std::string& name) const {
  const Flag& f = lookup(name, FlagType::Bool);
  return *parse_bool(f.value_.value_or(*f.default_text_));
}
std::int64_t FlagParser::get_int(const std::string& name) const {
  const Flag& f = lookup(name, FlagType::Int);
  return *train::parse_integer(f.value_.value_or(*f.default_text_));
}
double FlagParser::get_double(const std::string& name) const {
  const Flag& f = lookup(name, FlagType::Double);
  return *train::parse_number(f.value_.value_or(*f.default_text_));
}
std::string FlagParser::get_string(const std::string& name) const {
  const Flag& f = lookup(name, FlagType::String);
  return f.value_.value_or(*f.default_text_);
}
std::filesystem::path FlagParser::get_path(const std::string& name) const {
  const Flag& f = lookup(name, FlagType::Path);
  return f.value_.value_or(*f.default_text_);
}
std::optional<std::filesystem::path> FlagParser::get_optional_path(const std::string& name) const {
  if (!has(name)) return std::nullopt;
  return get_path(name);
}

// ---- the flags every trainer declares ---------------------------------------------

void add_training_flags(FlagParser& flags, const TrainingDefaults& d) {
  // At most 10^9: more is a typo (two_circles' epochs are single full-batch steps,
  // and 10^9 of them already take hours), and epochs x batches stays far from
  // overflowing int64. --batch-size needs no upper bound: a batch larger than the
  // data set is one batch of all of it (data::batches_per_epoch).
  flags.add_int("epochs", "passes over the training set", d.epochs).at_least(1).at_most(kMaxEpochs);
  flags.add_int("batch-size", "examples per optimizer step", d.batch_size).at_least(1);
  flags.add_double("lr", "learning rate", d.lr).at_least(0);
  flags.add_double("weight-decay", "L2 penalty coefficient", d.weight_decay).at_least(0);
  flags.add_double("momentum", "SGD momentum", d.momentum).at_least(0).at_most(1);
  flags.add_int("seed", "random seed (initialisation, shuffling)", d.seed).at_least(0);
  flags.add_int("threads", "threads for tapegrad and OpenBLAS; 0 = all cores", 0).at_least(0).at_most(4096);
  flags.add_int("workers", "data loader threads that prepare the next batches while the model trains; 0 = none", 0)
      .at_least(0)
      .at_most(256);
  flags.add_path("data-dir", "directory holding the dataset files", d.data_dir).metavar("DIR");
  flags.add_path("out", "directory for history.csv, epochs.csv, epochs.jsonl and plots", d.out).metavar("DIR");
  flags.add_path("save", "write the trained parameters to FILE", Presence::Optional).metavar("FILE");
  flags.add_path("save-safetensors", "write the trained parameters to FILE as safetensors, which PyTorch loads",
                 Presence::Optional)
      .metavar("FILE");
  flags.add_path("export-onnx", "write the trained model to FILE as ONNX, which ONNX Runtime and OpenCV run",
                 Presence::Optional)
      .metavar("FILE");
  flags.add_path("resume", "load parameters from FILE before training", Presence::Optional).metavar("FILE");
  flags.add_path("metrics-json", "write the final metrics as JSON to FILE", Presence::Optional).metavar("FILE");
  flags.add_bool("detect-anomaly",
                 "stop at the first op whose output or gradient holds NaN or Inf, and name it (slower)");
}

TrainingOptions training_options(const FlagParser& flags) {
  TrainingOptions o;
  o.epochs = flags.get_int("epochs");
  o.batch_size = flags.get_int("batch-size");
  o.lr = flags.get_double("lr");
  o.weight_decay = flags.get_double("weight-decay");
  o.momentum = flags.get_double("momentum");
  o.seed = flags.get_int("seed");
  o.threads = static_cast<int>(flags.get_int("threads"));
  o.workers = static_cast<int>(flags.get_int("workers"));
  o.data_dir = flags.get_path("data-dir");
  o.out = flags.get_path("out");
  o.save = flags.get_optional_path("save");
  o.save_safetensors = flags.get_optional_path("save-safetensors");
  o.export_onnx = flags.get_optional_path("export-onnx");
  o.resume = flags.get_optional_path("resume");
  o.metrics_json = flags.get_optional_path("metrics-json");
  o.detect_anomaly = flags.get_bool("detect-anomaly");
  return o;
}

void apply_runtime_options(const TrainingOptions& opt) {
  tg::manual_seed(static_cast<std::uint64_t>(opt.seed));
  if (opt.threads > 0) tg::set_num_threads(opt.threads);
}

}  // namespace tg::examples
