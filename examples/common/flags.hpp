// Command-line flags for the example trainers: a tiny declarative parser.
//
//   FlagParser flags("lenet5", "Trains LeNet-5 on MNIST.");
//   TrainingDefaults defaults;
//   defaults.batch_size = 64;
//   add_training_flags(flags, defaults);
//   flags.add_bool("plots", "write PNG charts into --out");
//   flags.parse_or_exit(argc, argv);          // prints --help / errors itself
//   TrainingOptions opt = training_options(flags);
//
// Syntax: `--name value` and `--name=value`; bool flags are `--name`,
// `--no-name` or `--name=true|false`. `-h`/`--help` prints a usage table built
// from the declarations. Unknown flags, missing or malformed values, values out
// of range and missing required flags raise FlagError naming the flag.
#pragma once

#include <cstdint>
#include <deque>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace tg::examples {

/// A command-line mistake; what() names the flag and says what was expected.
class FlagError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// Whether a flag without a default must be given.
enum class Presence { Required, Optional };

enum class FlagType { Bool, Int, Double, String, Path };

/// One declared flag. Returned by FlagParser::add_* to refine the declaration.
class Flag {
 public:
  /// Refuses values below `min` (int and double flags only).
  Flag& at_least(double min);
  /// Refuses values above `max` (int and double flags only).
  Flag& at_most(double max);
  /// The placeholder shown in --help (defaults: N, X, TEXT, PATH).
  Flag& metavar(std::string name);

 private:
  friend class FlagParser;
  std::string name_, help_, metavar_;
  FlagType type_ = FlagType::String;
  Presence presence_ = Presence::Optional;
  std::optional<std::string> default_text_;  // as it would be typed
  std::optional<std::string> value_;         // the raw text given, if any
  std::optional<double> min_, max_;
};

/// Declares flags, parses argv, and hands back typed values.
class FlagParser {
 public:
  /// `program` appears in the usage line, `description` under it.
  FlagParser(std::string program, std::string description);

  // ---- declarations (names without the leading dashes, e.g. "batch-size") ----
  /// `--name`, `--no-name`, `--name=true|false`; false unless given.
  Flag& add_bool(const std::string& name, const std::string& help);
  Flag& add_int(const std::string& name, const std::string& help, std::int64_t default_value);
  Flag& add_int(const std::string& name, const std::string& help, Presence presence);
  Flag& add_double(const std::string& name, const std::string& help, double default_value);
  Flag& add_double(const std::string& name, const std::string& help, Presence presence);
  Flag& add_string(const std::string& name, const std::string& help, const std::string& default_value);
  Flag& add_string(const std::string& name, const std::string& help, Presence presence);
  Flag& add_path(const std::string& name, const std::string& help, const std::filesystem::path& default_value);
  Flag& add_path(const std::string& name, const std::string& help, Presence presence);

  // ---- parsing ----------------------------------------------------------------
  /// Parses the arguments after the program name. Returns false when --help was
  /// given (nothing else is checked then); throws FlagError on any mistake.
  bool parse(const std::vector<std::string>& args);
  /// For main(): prints usage and exits 0 on --help; prints the error and a
  /// hint to stderr and exits 2 on a mistake.
  void parse_or_exit(int argc, const char* const* argv);

  /// The usage table: every flag with its metavar, help, and default or "required".
  std::string help() const;

  // ---- typed values (after parse) ---------------------------------------------
  /// True when the flag was given or has a default.
  bool has(const std::string& name) const;
  /// True when the flag was given on the command line.
  bool was_given(const std::string& name) const;
  bool get_bool(const std::string& name) const;
  std::int64_t get_int(const std::string& name) const;
  double get_double(const std::string& name) const;
  std::string get_string(const std::string& name) const;
  std::filesystem::path get_path(const std::string& name) const;
  /// The path if has(name), otherwise nullopt (for optional FILE flags).
  std::optional<std::filesystem::path> get_optional_path(const std::string& name) const;

 private:
  Flag& declare(const std::string& name, const std::string& help, FlagType type, Presence presence,
                std::optional<std::string> default_text);
  Flag* find(const std::string& name);
  const Flag& lookup(const std::string& name, FlagType type) const;
  void assign(Flag& flag, const std::string& text);
  [[noreturn]] void unknown_flag(const std::string& name) const;

  std::string program_, description_;
  std::deque<Flag> flags_;  // deque: references returned by add_* stay valid
};

/// Per-trainer defaults for the flags every trainer declares.
struct TrainingDefaults {
  std::int64_t epochs = 5;
  std::int64_t batch_size = 32;
  double lr = 0.1;
  double weight_decay = 0.0;
  double momentum = 0.0;
  std::int64_t seed = 0;
  std::filesystem::path data_dir = "data";
  std::filesystem::path out = "out";
};

/// The largest --epochs accepted.
constexpr std::int64_t kMaxEpochs = 1'000'000'000;

/// Declares --epochs --batch-size --lr --weight-decay --momentum --seed
/// --threads --workers --data-dir --out --save --save-safetensors --export-onnx --resume
/// --metrics-json --detect-anomaly.
void add_training_flags(FlagParser& flags, const TrainingDefaults& defaults);

/// The values of the flags declared by add_training_flags.
struct TrainingOptions {
  std::int64_t epochs = 0;
  std::int64_t batch_size = 0;
  double lr = 0.0;
  double weight_decay = 0.0;
  double momentum = 0.0;
  std::int64_t seed = 0;
  int threads = 0;  ///< 0: keep tapegrad's default (all cores or TAPEGRAD_NUM_THREADS)
  int workers = 0;  ///< data loader threads making the next batches (0: in the training thread)
  std::filesystem::path data_dir;
  std::filesystem::path out;  ///< directory for history.csv, epochs.csv, epochs.jsonl and plots
  std::optional<std::filesystem::path> save, resume, metrics_json;
  std::optional<std::filesystem::path> save_safetensors;  ///< the model as safetensors (PyTorch layout)
  std::optional<std::filesystem::path> export_onnx;       ///< the model as ONNX (tg::onnx::export_model)
  bool detect_anomaly = false;  ///< train under tg::autograd::DetectAnomalyGuard
};

/// Reads the flags declared by add_training_flags (after parse).
TrainingOptions training_options(const FlagParser& flags);

/// Seeds tapegrad's generator with opt.seed and applies opt.threads (when > 0).
void apply_runtime_options(const TrainingOptions& opt);

}  // namespace tg::examples
