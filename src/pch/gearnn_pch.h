// Precompiled header: the heavy ATen and JSON headers, parsed once per target.
#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>
