#pragma once
// A small command-line parser: declared options, positionals, --help.
#include <map>
#include <utility>
#include <stdexcept>
#include <string>
#include <vector>

namespace gearnn::cli {

// Bad usage: the front end prints it with the usage text and exits with 2.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Option {
  std::string name;        // "--level" (with an optional short alias in `alias`)
  std::string value_name;  // empty for a flag
  std::string help;
  std::string alias = "";
};

struct CommandSpec {
  std::string usage;  // "gearnn segment BUNDLE IMAGE -o OUT.png [options]"
  std::string summary;
  std::vector<Option> options;
  size_t min_positional = 0, max_positional = 0;
};

class Args {
public:
  // Throws UsageError. `help()` is true when --help or -h was given.
  Args(const CommandSpec& spec, const std::vector<std::string>& argv);

  bool help() const { return help_; }
  bool has(const std::string& name) const { return values_.count(name) > 0; }
  std::string get(const std::string& name, const std::string& fallback = "") const;
  std::string require(const std::string& name) const;
  int get_int(const std::string& name, int fallback) const;
  double get_double(const std::string& name, double fallback) const;
  const std::vector<std::string>& positional() const { return positional_; }

private:
  std::map<std::string, std::string> values_;
  std::vector<std::string> positional_;
  bool help_ = false;
};

std::string help_text(const CommandSpec& spec);

// "640x480" (both at least 1, nothing after); throws UsageError naming `option`.
std::pair<int, int> parse_size(const std::string& option, const std::string& text);

// "0.5,1,2": at least one number, each within [min, max]; throws UsageError
// naming `option` for an empty list, a non-number or one out of range
// ("'x' is not a <what> from <min> to <max>"; "of at least <min>" for an infinite max).
std::vector<double> parse_number_list(const std::string& option, const std::string& text, double min, double max,
                                      const std::string& what = "number");

// `program` and its arguments as a shell would take them back (arguments with
// anything but letters, digits and -_./:,=@%+ single-quoted), for reports to
// say how they were made.
std::string command_line(const std::string& program, const std::vector<std::string>& argv);

}  // namespace gearnn::cli
