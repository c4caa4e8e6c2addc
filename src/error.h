#pragma once
// The one exception type of the engine. Messages name the file (and tensor or
// level) they are about, so a front end can print them as they are.
#include <stdexcept>
#include <string>

namespace gearnn {

class Error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

}  // namespace gearnn
