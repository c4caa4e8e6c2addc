#pragma once
// BN folded into its conv where no level's adaptor reaches: at inference a
// conv followed by BN equals one conv with weight w x g / sqrt(v + eps) (per
// output channel) and bias b - m x g / sqrt(v + eps). Pairs whose conv or BN
// some level's adaptor replaces stay apart, so that a switch still swaps
// tables and copies nothing. Folding replaces the tensors it uses: the conv's
// weight entry takes the folded weight, the BN's bias entry the folded bias,
// and the BN's other entries are emptied (which is how forward() knows).
#include "drn.h"

#include <cstdint>
#include <vector>

namespace gearnn {

struct FoldingReport {
  size_t pairs = 0, folded = 0;  // conv+BN pairs in the architecture, and folded ones
  int64_t values_before = 0;     // values the folded pairs held before ...
  int64_t values_after = 0;      // ... and after
};

// `adapted[layer]`: some level's adaptor replaces that layer. Every table
// (the base and each level's, which share the base's tensors) gets the folded
// tensors in place of the pair's.
FoldingReport fold_batch_norms(const Architecture& arch, const std::vector<bool>& adapted, WeightTable& base,
                               std::vector<WeightTable>& levels);

}  // namespace gearnn
