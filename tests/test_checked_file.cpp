// Files that are not what they claim: devices, FIFOs and directories in the
// place of a bundle's files are refused at once with the path in the message.
#include "bundle.h"
#include "checked_file.h"
#include "error.h"
#include "test_support.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;
using namespace gearnn;

namespace {

// Loads `bundle`, expecting an error that names `file` and `problem`, within a second.
void expect_refused(const std::string& bundle, const std::string& file, const std::string& problem) {
  const auto t0 = std::chrono::steady_clock::now();
  try {
    Bundle::load(bundle);
    ADD_FAILURE() << "loaded a bundle with " << problem << " as " << file;
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(file), std::string::npos) << what;
    EXPECT_NE(what.find(problem), std::string::npos) << what;
  }
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(1));
}

std::string copy_of_small_bundle(const std::string& name) {
  const std::string dir = gearnn::testing::scratch_dir(name);
  fs::copy(gearnn::testing::small_bundle(2), dir, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  return dir;
}

}  // namespace

TEST(CheckedFile, SpecialFilesInABundleAreRefusedAtOnce) {
  {
    const std::string b = copy_of_small_bundle("special-fifo");
    fs::remove(b + "/base.safetensors");
    ASSERT_EQ(::mkfifo((b + "/base.safetensors").c_str(), 0600), 0);
    expect_refused(b, b + "/base.safetensors", "a FIFO");
  }
  {
    const std::string b = copy_of_small_bundle("special-dir");
    fs::remove(b + "/base.safetensors");
    fs::create_directory(b + "/base.safetensors");
    expect_refused(b, b + "/base.safetensors", "a directory");
  }
  {
    const std::string b = copy_of_small_bundle("special-device");
    fs::remove(b + "/base.safetensors");
    fs::create_symlink("/dev/zero", b + "/base.safetensors");
    expect_refused(b, b + "/base.safetensors", "a character device");
  }
  {
    const std::string b = copy_of_small_bundle("special-manifest");
    fs::remove(b + "/manifest.json");
    ASSERT_EQ(::mkfifo((b + "/manifest.json").c_str(), 0600), 0);
    expect_refused(b, b + "/manifest.json", "a FIFO");
  }
}

TEST(CheckedFile, SizeBoundsAndPrefixes) {
  const std::string dir = gearnn::testing::scratch_dir("checked-sizes");
  const std::string path = dir + "/ten";
  std::ofstream(path) << "0123456789";
  EXPECT_EQ(read_regular_file(path, 10).size(), 10u);
  try {
    read_regular_file(path, 9);
    FAIL() << "a file over its bound was read";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("10 bytes"), std::string::npos) << e.what();
  }
  EXPECT_EQ(std::string(read_regular_file_start(path, 100, 4).data(), 4), "0123");
  EXPECT_EQ(read_regular_file_start(path, 100, 40).size(), 10u);
  EXPECT_THROW(read_regular_file(dir + "/missing", 10), Error);
}

TEST(CheckedFile, UntrustedBytesAreEscaped) {
  EXPECT_EQ(escape_untrusted("ok \"x\""), "ok \"x\"");
  EXPECT_EQ(escape_untrusted(std::string("a\xff\n\0b", 5)), "a\\xff\\x0a\\x00b");
}

TEST(CheckedFile, MalformedHeaderMessagesArePrintable) {
  const std::string b = copy_of_small_bundle("special-header");
  const std::string base = b + "/base.safetensors";
  std::string header = "{\"x\": \xff\xfe}";
  std::ofstream out(base, std::ios::binary | std::ios::trunc);
  const uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out.put(char((n >> (8 * i)) & 0xff));
  out << header;
  out.close();
  try {
    read_tensor_file(base);
    FAIL() << "a header of invalid JSON was read";
  } catch (const Error& e) {
    for (unsigned char c : std::string(e.what())) EXPECT_TRUE(c >= 0x20 && c < 0x7f) << int(c) << " in " << e.what();
  }
}
