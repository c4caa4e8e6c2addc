// gearnn: the command-line front end of the engine.
#include "args.h"
#include "commands.h"
#include "error.h"

#include <cstring>
#include <iostream>

namespace {

const char* kUsage =
    "usage: gearnn COMMAND [ARGS]\n"
    "\n"
    "GearNN partial weight adaptation for DRN segmentation: one resident base,\n"
    "one small adaptor per distortion level.\n"
    "\n"
    "commands:\n"
    "  inspect    show a bundle's levels, adaptors and memory, or an architecture's sizes\n"
    "  bundle     make bundles: 'bundle random', 'bundle base', 'bundle merge'\n"
    "  segment    segment one PNG image with a bundle\n"
    "  bench      benchmarks: 'bench switch' (level switches), 'bench forward' (class-map path),\n"
    "             'bench batch' (many streams through one forward)\n"
    "  train      train a DRN (base, or a whole-model baseline)\n"
    "  adapt      build a GearNN bundle: sensitivity, knapsack, adaptor fine-tuning\n"
    "  exits      add FlexDNN early exits to a bundle: head search, thresholds, insertion plan\n"
    "  eval       compare GearNN with its baselines on distorted data\n"
    "  eval-exits early exits against compute: FlexDNN, BranchyNet-style, a smaller input\n"
    "  distort    apply one distortion setting (jpeg, h264, brightness, resize) to a PNG\n"
    "  dataset    dataset statistics and normalisation: 'dataset stats'\n"
    "\n"
    "'gearnn COMMAND --help' describes each command.\n";

}  // namespace

int main(int argc, char** argv) {
  using namespace gearnn::cli;
  if (argc < 2) {
    std::cerr << kUsage;
    return 2;
  }
  const std::string command = argv[1];
  if (command == "--help" || command == "-h" || command == "help") {
    std::cout << kUsage;
    return 0;
  }
  const std::vector<std::string> rest(argv + 2, argv + argc);
  try {
    if (command == "inspect") return run_inspect(rest);
    if (command == "bundle") return run_bundle(rest);
    if (command == "segment") return run_segment(rest);
    if (command == "bench") return run_bench(rest);
    if (command == "train") return run_train(rest);
    if (command == "adapt") return run_adapt(rest);
    if (command == "exits") return run_exits(rest);
    if (command == "eval") return run_eval(rest);
    if (command == "eval-exits") return run_eval_exits(rest);
    if (command == "distort") return run_distort(rest);
    if (command == "dataset") return run_dataset(rest);
    std::cerr << "gearnn: unknown command '" << command << "'\n\n" << kUsage;
    return 2;
  } catch (const UsageError& e) {
    std::cerr << "gearnn " << command << ": " << e.what() << "\n(see 'gearnn " << command
              << " --help')\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "gearnn " << command << ": error: " << e.what() << "\n";
    return 1;
  }
}
