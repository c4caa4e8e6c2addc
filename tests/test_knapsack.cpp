#include "error.h"
#include "knapsack.h"

#include <gtest/gtest.h>

#include <random>

using gearnn::KnapsackItem;

namespace {

double brute_force_best(const std::vector<KnapsackItem>& items, int64_t capacity) {
  double best = 0;
  for (uint32_t mask = 0; mask < (1u << items.size()); ++mask) {
    int64_t size = 0;
    double value = 0;
    for (size_t i = 0; i < items.size(); ++i)
      if (mask & (1u << i)) {
        size += items[i].size;
        value += items[i].value;
      }
    if (size <= capacity) best = std::max(best, value);
  }
  return best;
}

}  // namespace

TEST(Knapsack, EqualsBruteForceOnRandomInstances) {
  std::mt19937 rng(5);
  for (int trial = 0; trial < 300; ++trial) {
    const size_t n = 1 + rng() % 12;
    std::vector<KnapsackItem> items;
    int64_t total = 0;
    for (size_t i = 0; i < n; ++i) {
      // sizes sharing factors (as layers do) and some that do not
      const int64_t size = trial % 2 ? 4 * (1 + rng() % 40) : 1 + rng() % 150;
      items.push_back({size, std::uniform_real_distribution<double>(0.0, 1.0)(rng)});
      total += size;
    }
    const int64_t capacity = int64_t(rng() % uint32_t(total + 1));
    const auto chosen = gearnn::solve_knapsack(items, capacity);
    int64_t size = 0;
    double value = 0;
    for (size_t i : chosen) {
      size += items[i].size;
      value += items[i].value;
    }
    EXPECT_LE(size, capacity) << "trial " << trial;
    EXPECT_NEAR(value, brute_force_best(items, capacity), 1e-9) << "trial " << trial;
  }
}

TEST(Knapsack, ExactFitAndNothingFits) {
  EXPECT_EQ(gearnn::solve_knapsack({{5, 1.0}, {3, 1.0}, {2, 1.0}}, 5), (std::vector<size_t>{1, 2}));
  EXPECT_TRUE(gearnn::solve_knapsack({{10, 1.0}}, 9).empty());
  EXPECT_TRUE(gearnn::solve_knapsack({}, 100).empty());
  EXPECT_THROW(gearnn::solve_knapsack({{0, 1.0}}, 5), gearnn::Error);
}

TEST(Knapsack, ParseBudget) {
  EXPECT_EQ(gearnn::parse_budget("0.2%", 15907139), 31814);
  EXPECT_EQ(gearnn::parse_budget("1000", 15907139), 1000);
  EXPECT_THROW(gearnn::parse_budget("0.2", 100), gearnn::Error);  // neither a count nor a percentage
  EXPECT_THROW(gearnn::parse_budget("abc%", 100), gearnn::Error);
  EXPECT_THROW(gearnn::parse_budget("-5", 100), gearnn::Error);
  EXPECT_THROW(gearnn::parse_budget("150%", 100), gearnn::Error);
}
