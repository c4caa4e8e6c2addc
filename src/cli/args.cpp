#include "args.h"

#include <cctype>
#include <cmath>
#include <sstream>

namespace gearnn::cli {

Args::Args(const CommandSpec& spec, const std::vector<std::string>& argv) {
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a == "--help" || a == "-h") {
      help_ = true;
      return;
    }
    if (a.size() > 1 && a[0] == '-' && !(a.size() > 1 && std::isdigit(static_cast<unsigned char>(a[1])))) {
      std::string name = a, value;
      bool inline_value = false;
      if (const auto eq = a.find('='); a.rfind("--", 0) == 0 && eq != std::string::npos) {
        name = a.substr(0, eq);
        value = a.substr(eq + 1);
        inline_value = true;
      }
      const Option* opt = nullptr;
      for (const auto& o : spec.options)
        if (o.name == name || (!o.alias.empty() && o.alias == name)) opt = &o;
      if (!opt) throw UsageError("unknown option '" + name + "'");
      if (opt->value_name.empty()) {
        if (inline_value) throw UsageError("option " + opt->name + " takes no value");
        values_[opt->name] = "1";
        continue;
      }
      if (!inline_value) {
        if (i + 1 >= argv.size()) throw UsageError("option " + opt->name + " needs a value (" + opt->value_name + ")");
        value = argv[++i];
      }
      values_[opt->name] = value;
      continue;
    }
    positional_.push_back(a);
  }
  if (positional_.size() < spec.min_positional) throw UsageError("missing arguments");
  if (positional_.size() > spec.max_positional) throw UsageError("unexpected argument '" + positional_.back() + "'");
}

std::string Args::get(const std::string& name, const std::string& fallback) const {
  auto it = values_.find(name);
  return it == values_.end() ? fallback : it->second;
}

std::string Args::require(const std::string& name) const {
  if (!has(name)) throw UsageError("option " + name + " is required");
  return get(name);
}

int Args::get_int(const std::string& name, int fallback) const {
  if (!has(name)) return fallback;
  const std::string v = get(name);
  size_t used = 0;
  try {
    const int n = std::stoi(v, &used);
    if (used == v.size()) return n;
  } catch (const std::exception&) {
  }
  throw UsageError("option " + name + " needs an integer, not '" + v + "'");
}

double Args::get_double(const std::string& name, double fallback) const {
  if (!has(name)) return fallback;
  const std::string v = get(name);
  size_t used = 0;
  try {
    const double d = std::stod(v, &used);
    if (used == v.size()) return d;
  } catch (const std::exception&) {
  }
  throw UsageError("option " + name + " needs a number, not '" + v + "'");
}

std::string help_text(const CommandSpec& spec) {
  std::ostringstream out;
  out << "usage: " << spec.usage << "\n\n" << spec.summary << "\n";
  if (!spec.options.empty()) out << "\noptions:\n";
  for (const auto& o : spec.options) {
    std::string left = "  " + (o.alias.empty() ? "" : o.alias + ", ") + o.name;
    if (!o.value_name.empty()) left += " " + o.value_name;
    if (left.size() < 28) left.append(28 - left.size(), ' ');
    else left += "  ";
    out << left << o.help << "\n";
  }
  out << "  -h, --help                show this help\n";
  return out.str();
}

std::pair<int, int> parse_size(const std::string& option, const std::string& text) {
  int w = 0, h = 0;
  char x = 0;
  std::istringstream in(text);
  if (!(in >> w >> x >> h) || x != 'x' || !in.eof() || w < 1 || h < 1)
    throw UsageError(option + " needs WIDTHxHEIGHT, not '" + text + "'");
  return {w, h};
}

std::vector<double> parse_number_list(const std::string& option, const std::string& text, double min, double max,
                                      const std::string& what) {
  std::vector<double> out;
  std::istringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    char* end = nullptr;
    const double v = std::strtod(item.c_str(), &end);
    if (item.empty() || *end || !(v >= min && v <= max)) {
      std::ostringstream range;
      if (std::isinf(max))
        range << "of at least " << min;
      else
        range << "from " << min << " to " << max;
      throw UsageError(option + ": '" + item + "' is not a " + what + " " + range.str());
    }
    out.push_back(v);
  }
  if (out.empty()) throw UsageError(option + " needs at least one value");
  return out;
}

std::string command_line(const std::string& program, const std::vector<std::string>& argv) {
  std::string out = program;
  for (const std::string& a : argv) {
    const bool plain = !a.empty() && a.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                         "0123456789-_./:,=@%+") == std::string::npos;
    out += ' ';
    if (plain) {
      out += a;
      continue;
    }
    out += '\'';
    for (char c : a) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    out += '\'';
  }
  return out;
}

}  // namespace gearnn::cli
