#include "tensor_file.h"

#include "checked_file.h"
#include "error.h"

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>

namespace gearnn {
namespace {

struct DtypeName {
  const char* name;
  at::ScalarType type;
};

constexpr DtypeName kDtypes[] = {
    {"F64", at::kDouble}, {"F32", at::kFloat}, {"F16", at::kHalf},  {"BF16", at::kBFloat16},
    {"I64", at::kLong},   {"I32", at::kInt},   {"I16", at::kShort}, {"I8", at::kChar},
    {"U8", at::kByte},    {"BOOL", at::kBool},
};

const DtypeName* find_dtype(const std::string& name) {
  for (const auto& d : kDtypes)
    if (name == d.name) return &d;
  return nullptr;
}

const char* dtype_name(at::ScalarType type) {
  for (const auto& d : kDtypes)
    if (d.type == type) return d.name;
  return nullptr;
}

uint64_t read_le64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

struct Entry {
  std::string name;
  at::ScalarType type;
  std::vector<int64_t> shape;
  uint64_t begin, end;
};

Entry parse_entry(const std::string& path, const std::string& name, const nlohmann::json& value,
                  uint64_t data_size) {
  auto fail = [&](const std::string& what) -> Error {
    return Error(path + ": tensor '" + name + "': " + what);
  };
  if (!value.is_object()) throw fail("header entry is not an object");
  if (!value.contains("dtype") || !value["dtype"].is_string()) throw fail("no dtype");
  const std::string dtype = value["dtype"];
  const DtypeName* d = find_dtype(dtype);
  if (!d) throw fail("unknown dtype '" + dtype + "'");

  if (!value.contains("shape") || !value["shape"].is_array()) throw fail("no shape");
  Entry e{name, d->type, {}, 0, 0};
  uint64_t count = 1;
  for (const auto& dim : value["shape"]) {
    if (!dim.is_number_unsigned()) throw fail("shape holds a value that is not a size");
    uint64_t n = dim.get<uint64_t>();
    if (n > 0 && count > std::numeric_limits<uint64_t>::max() / n / 8) throw fail("shape is too large");
    count *= n;
    e.shape.push_back(static_cast<int64_t>(n));
  }

  const auto& offsets = value.contains("data_offsets") ? value["data_offsets"] : nlohmann::json();
  if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
      !offsets[1].is_number_unsigned())
    throw fail("data_offsets must be two sizes [begin, end]");
  e.begin = offsets[0];
  e.end = offsets[1];
  if (e.begin > e.end || e.end > data_size)
    throw fail("data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) +
               "] fall outside the data area of " + std::to_string(data_size) + " bytes");
  const uint64_t expected = count * c10::elementSize(e.type);
  if (e.end - e.begin != expected)
    throw fail("holds " + std::to_string(e.end - e.begin) + " bytes but its shape and dtype need " +
               std::to_string(expected));
  return e;
}

}  // namespace

TensorFile read_tensor_file(const std::string& path) {
  const std::vector<char> bytes = read_regular_file(path, kMaxTensorFileBytes);
  return parse_tensor_file(bytes, path);
}

TensorFile parse_tensor_file(const std::vector<char>& bytes, const std::string& path) {
  if (bytes.size() < 8)
    throw Error(path + ": truncated: " + std::to_string(bytes.size()) +
                " bytes, shorter than the 8-byte header length");
  const uint64_t header_size = read_le64(bytes.data());
  if (header_size > bytes.size() - 8)
    throw Error(path + ": header length " + std::to_string(header_size) +
                " runs past the end of the file (" + std::to_string(bytes.size()) +
                " bytes): truncated or not a tensor file");

  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes.begin() + 8, bytes.begin() + 8 + header_size);
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": header is not valid JSON: " + escape_untrusted(e.what()));
  }
  if (!header.is_object()) throw Error(path + ": header is not a JSON object");

  const uint64_t data_size = bytes.size() - 8 - header_size;
  const char* data = bytes.data() + 8 + header_size;

  TensorFile out;
  std::vector<Entry> entries;
  for (const auto& [name, value] : header.items()) {
    if (name == "__metadata__") {
      if (!value.is_object()) throw Error(path + ": __metadata__ is not an object");
      for (const auto& [key, text] : value.items()) {
        if (!text.is_string()) throw Error(path + ": metadata '" + key + "' is not a string");
        out.metadata[key] = text.get<std::string>();
      }
      continue;
    }
    entries.push_back(parse_entry(path, name, value, data_size));
  }

  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.begin < b.begin; });
  for (size_t i = 1; i < entries.size(); ++i) {
    if (entries[i].begin < entries[i - 1].end)
      throw Error(path + ": tensor '" + entries[i].name + "' overlaps tensor '" +
                  entries[i - 1].name + "' in the data area");
  }

  for (const Entry& e : entries) {
    at::Tensor t = at::empty(e.shape, at::TensorOptions().dtype(e.type));
    if (e.end > e.begin) std::memcpy(t.data_ptr(), data + e.begin, e.end - e.begin);
    out.tensors.emplace(e.name, std::move(t));
  }
  return out;
}

void write_tensor_file(const std::string& path, const NamedTensors& tensors,
                       const TensorFileMetadata& metadata) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;

  std::vector<at::Tensor> contiguous;
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    const char* dtype = dtype_name(tensor.scalar_type());
    if (!dtype) throw Error(path + ": tensor '" + name + "': dtype cannot be stored");
    at::Tensor t = tensor.detach().to(at::kCPU).contiguous();
    const uint64_t nbytes = t.numel() * t.element_size();
    header[name] = {{"dtype", dtype}, {"shape", t.sizes().vec()}, {"data_offsets", {offset, offset + nbytes}}};
    offset += nbytes;
    contiguous.push_back(std::move(t));
  }

  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // keeps the data area 8-byte aligned
  char length[8];
  for (int i = 0; i < 8; ++i) length[i] = static_cast<char>((uint64_t(text.size()) >> (8 * i)) & 0xff);

  const std::string partial = path + ".partial";
  {
    std::ofstream out(partial, std::ios::binary | std::ios::trunc);
    if (!out) throw Error(partial + ": cannot create: " + std::strerror(errno));
    out.write(length, 8);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    for (const at::Tensor& t : contiguous)
      out.write(static_cast<const char*>(t.data_ptr()), static_cast<std::streamsize>(t.numel() * t.element_size()));
    if (!out.flush()) throw Error(partial + ": write error");
  }
  if (std::rename(partial.c_str(), path.c_str()) != 0)
    throw Error(path + ": cannot replace: " + std::strerror(errno));
}

}  // namespace gearnn
