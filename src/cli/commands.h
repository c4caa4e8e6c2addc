#pragma once
#include <string>
#include <vector>

namespace gearnn::cli {

// Each returns the process exit code; they throw UsageError for bad usage and
// gearnn::Error for failures (main turns those into exit codes 2 and 1).
int run_inspect(const std::vector<std::string>& args);
int run_bundle(const std::vector<std::string>& args);
int run_segment(const std::vector<std::string>& args);
int run_bench(const std::vector<std::string>& args);
int bench_forward(const std::vector<std::string>& args);  // gearnn bench forward
int bench_batch(const std::vector<std::string>& args);    // gearnn bench batch
int run_train(const std::vector<std::string>& args);
int run_adapt(const std::vector<std::string>& args);
int run_exits(const std::vector<std::string>& args);
int run_eval_exits(const std::vector<std::string>& args);
int run_eval(const std::vector<std::string>& args);
int run_distort(const std::vector<std::string>& args);
int run_dataset(const std::vector<std::string>& args);

}  // namespace gearnn::cli
