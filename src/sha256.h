#pragma once
#include <string>

namespace gearnn {

// Lower-case hex SHA-256 of a file's bytes; throws gearnn::Error naming the file.
std::string sha256_of_file(const std::string& path);

}  // namespace gearnn
