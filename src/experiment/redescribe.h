#pragma once
// Re-describes a bundle's levels with this build's measurement definitions:
// each level's data is made again from its setting (the level's name, as
// gearnn adapt writes it) and measured as the runtime would measure it. The
// weights are left as they are, so this is right where the pixels of a level
// are made the same way as when it was adapted (brightness, JPEG); H.264
// levels adapted on another encoder recipe need gearnn adapt instead.
#include "data/dataset.h"

#include <ostream>
#include <string>

namespace gearnn {

// Rewrites `bundle`'s manifest.json in place (atomically), one line per
// level to `log`: old descriptor -> new.
void redescribe_bundle(const std::string& bundle, const Dataset& data, const std::string& cache_dir, int threads,
                       std::ostream& log);

}  // namespace gearnn
