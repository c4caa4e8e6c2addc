#include "knapsack.h"

#include "drn.h"
#include "error.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace gearnn {

std::vector<size_t> solve_knapsack(const std::vector<KnapsackItem>& items, int64_t capacity) {
  if (capacity < 0) throw Error("knapsack capacity is negative");
  // Dividing every size and the capacity by the sizes' common divisor keeps
  // the table small (BN layers and convs share factors) without changing the answer.
  int64_t g = 0;
  for (const auto& item : items) {
    if (item.size <= 0) throw Error("knapsack item sizes must be positive");
    if (item.size <= capacity) g = std::gcd(g, item.size);
  }
  if (g == 0) return {};
  const int64_t cap = capacity / g;

  std::vector<double> best(cap + 1, 0.0);
  std::vector<std::vector<bool>> taken(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    const int64_t size = items[i].size;
    if (size > capacity || items[i].value <= 0) continue;
    const int64_t s = size / g;
    taken[i].assign(cap + 1, false);
    for (int64_t c = cap; c >= s; --c) {
      const double with = best[c - s] + items[i].value;
      if (with > best[c]) {
        best[c] = with;
        taken[i][c] = true;
      }
    }
  }

  std::vector<size_t> chosen;
  int64_t c = cap;
  for (size_t i = items.size(); i-- > 0;) {
    if (!taken[i].empty() && taken[i][c]) {
      chosen.push_back(i);
      c -= items[i].size / g;
    }
  }
  std::reverse(chosen.begin(), chosen.end());
  return chosen;
}

int64_t parse_budget(const std::string& text, int64_t total) {
  try {
    size_t used = 0;
    if (!text.empty() && text.back() == '%') {
      const double percent = std::stod(text.substr(0, text.size() - 1), &used);
      if (used != text.size() - 1 || !(percent >= 0) || percent > 100) throw Error("");
      return static_cast<int64_t>(std::floor(total * percent / 100.0));
    }
    const long long count = std::stoll(text, &used);
    if (used != text.size() || count < 0) throw Error("");
    return count;
  } catch (const std::exception&) {
    throw Error("budget '" + text + "' is neither a percentage such as 0.2% nor a count of values");
  }
}

std::vector<std::string> choose_adaptor_layers(const Architecture& arch, const std::vector<double>& value,
                                               int64_t budget) {
  if (value.size() != arch.layers().size())
    throw Error("one value per layer of " + arch.name() + " is needed (" + std::to_string(arch.layers().size()) +
                "), not " + std::to_string(value.size()));
  std::vector<KnapsackItem> items;
  for (size_t i = 0; i < value.size(); ++i) items.push_back({arch.layers()[i].size, value[i]});
  std::vector<std::string> chosen;
  for (size_t i : solve_knapsack(items, budget)) chosen.push_back(arch.layers()[i].name);
  return chosen;
}

}  // namespace gearnn
