#include "distort/jpeg.h"

#include "error.h"

#include <csetjmp>
#include <cstdio>
#include <cstdlib>
// jpeglib.h needs size_t and FILE declared first.
#include <jpeglib.h>

namespace gearnn {
namespace {

// libjpeg reports fatal errors through error_exit, which must not return. It
// longjmps back to the setjmp in compress()/decompress(); those functions
// keep every C++ object outside their own frame, so the jump skips no
// destructor and leaves no local in doubt.
struct ErrorManager {
  jpeg_error_mgr pub;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX] = "";
};

[[noreturn]] void on_error(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<ErrorManager*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, err->message);
  std::longjmp(err->jump, 1);
}

void on_message(j_common_ptr cinfo, int level) {
  auto* err = reinterpret_cast<ErrorManager*>(cinfo->err);
  if (level < 0 && err->message[0] == '\0') (*cinfo->err->format_message)(cinfo, err->message);  // first warning
  if (level < 0) ++cinfo->err->num_warnings;
}

ErrorManager* install(jpeg_error_mgr* pub) {
  auto* err = reinterpret_cast<ErrorManager*>(pub);
  jpeg_std_error(pub);
  pub->error_exit = on_error;
  pub->emit_message = on_message;
  return err;
}

struct CompressJob {
  const RgbImage* image;
  int quality;
  jpeg_compress_struct cinfo;
  ErrorManager err;
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
};

bool compress(CompressJob& job) {
  jpeg_compress_struct& c = job.cinfo;
  if (setjmp(job.err.jump)) return false;
  jpeg_create_compress(&c);
  jpeg_mem_dest(&c, &job.buffer, &job.size);
  c.image_width = JDIMENSION(job.image->width);
  c.image_height = JDIMENSION(job.image->height);
  c.input_components = 3;
  c.in_color_space = JCS_RGB;
  jpeg_set_defaults(&c);  // YCbCr with 2x2 luma sampling: 4:2:0
  jpeg_set_quality(&c, job.quality, TRUE);
  jpeg_start_compress(&c, TRUE);
  const size_t row = size_t(job.image->width) * 3;
  while (c.next_scanline < c.image_height) {
    JSAMPROW line = const_cast<JSAMPROW>(job.image->pixels.data() + c.next_scanline * row);
    jpeg_write_scanlines(&c, &line, 1);
  }
  jpeg_finish_compress(&c);
  return true;
}

struct DecompressJob {
  const uint8_t* data;
  size_t size;
  RgbImage* out;
  jpeg_decompress_struct cinfo;
  ErrorManager err;
  bool too_large = false;
};

constexpr size_t kMaxPixels = size_t(1) << 28;

bool decompress(DecompressJob& job) {
  jpeg_decompress_struct& d = job.cinfo;
  if (setjmp(job.err.jump)) return false;
  jpeg_create_decompress(&d);
  jpeg_mem_src(&d, job.data, static_cast<unsigned long>(job.size));
  jpeg_read_header(&d, TRUE);
  d.out_color_space = JCS_RGB;
  jpeg_start_decompress(&d);
  if (size_t(d.output_width) * d.output_height > kMaxPixels || d.output_components != 3) {
    job.too_large = true;
    return false;
  }
  job.out->width = int(d.output_width);
  job.out->height = int(d.output_height);
  job.out->pixels.resize(size_t(d.output_width) * d.output_height * 3);
  const size_t row = size_t(d.output_width) * 3;
  while (d.output_scanline < d.output_height) {
    JSAMPROW line = job.out->pixels.data() + d.output_scanline * row;
    jpeg_read_scanlines(&d, &line, 1);
  }
  jpeg_finish_decompress(&d);
  return true;
}

}  // namespace

std::vector<uint8_t> encode_jpeg(const RgbImage& image, int quality) {
  if (quality < 1 || quality > 100)
    throw Error("encode_jpeg: quality " + std::to_string(quality) + " is not in 1..100");
  if (image.width <= 0 || image.height <= 0 || image.width > 65500 || image.height > 65500 ||
      image.pixels.size() != size_t(image.width) * image.height * 3)
    throw Error("encode_jpeg: cannot encode an image of " + std::to_string(image.width) + "x" +
                std::to_string(image.height) + " with " + std::to_string(image.pixels.size()) + " bytes");
  CompressJob job{&image, quality, {}, {}};
  job.cinfo.err = &install(&job.err.pub)->pub;
  const bool ok = compress(job);
  std::vector<uint8_t> bytes;
  if (ok) bytes.assign(job.buffer, job.buffer + job.size);
  const std::string message = job.err.message;
  jpeg_destroy_compress(&job.cinfo);
  std::free(job.buffer);
  if (!ok) throw Error("encode_jpeg: libjpeg failed: " + message);
  return bytes;
}

RgbImage decode_jpeg(const uint8_t* data, size_t size, const std::string& name_for_errors) {
  if (!data || size == 0) throw Error(name_for_errors + ": empty JPEG data");
  RgbImage out;
  DecompressJob job{data, size, &out, {}, {}};
  job.cinfo.err = &install(&job.err.pub)->pub;
  const bool ok = decompress(job);
  const long warnings = job.err.pub.num_warnings;
  const std::string message = job.err.message;
  jpeg_destroy_decompress(&job.cinfo);
  if (job.too_large) throw Error(name_for_errors + ": JPEG is too large or not 3-channel");
  if (!ok) throw Error(name_for_errors + ": not a readable JPEG: " + message);
  if (warnings > 0) throw Error(name_for_errors + ": corrupt JPEG data: " + message);
  return out;
}

}  // namespace gearnn
