// gearnn distort: one distortion setting applied to one image.
#include "args.h"
#include "commands.h"
#include "distort/apply.h"
#include "error.h"

#include <nlohmann/json.hpp>

#include <iostream>

namespace gearnn::cli {
namespace {

const CommandSpec kSpec{
    "gearnn distort SETTING IN.png -o OUT.png [--json]",
    "Applies one distortion setting to a PNG image and writes the pixels a model\n"
    "would see, then prints what the runtime would measure on them: the size, the\n"
    "JPEG quality or H.264 QP, and the mean luma (brightness is that luma over a\n"
    "bundle's reference). SETTING is clean, jpeg:Q (IJG quality 1..100),\n"
    "brightness:F (pixel x F), h264:WxH@CRF, h264:WxH@KBITSk or h264:@CRF, or\n"
    "resize:WxH. An H.264 image is encoded alone, as an I frame, whose QP is not\n"
    "that of a stream's P and B frames: levels are made from sequences (adapt).",
    {{"--output", "OUT.png", "PNG to write", "-o"}, {"--json", "", "print JSON"}},
    2,
    2};

}  // namespace

int run_distort(const std::vector<std::string>& argv) {
  const Args args(kSpec, argv);
  if (args.help()) {
    std::cout << help_text(kSpec);
    return 0;
  }
  const std::string out = args.require("--output");
  DistortionSetting setting;
  try {
    setting = parse_distortion_setting(args.positional()[0]);
  } catch (const Error& e) {
    throw UsageError(e.what());
  }
  const std::string in = args.positional()[1];
  const DistortedPixels result = apply_distortion(read_png_rgb(in), setting);
  write_png_rgb(out, result.image);

  const Distortion& m = result.measured;
  if (args.has("--json")) {
    nlohmann::json measured = nlohmann::json::object();
    if (m.resolution) measured["resolution"] = {m.resolution->width, m.resolution->height};
    if (m.h264_qp) measured["h264_qp"] = *m.h264_qp;
    if (m.jpeg_quality) measured["jpeg_quality"] = *m.jpeg_quality;
    measured["mean_luma"] = result.mean_luma;
    const nlohmann::json j = {{"setting", setting.text()}, {"input", in}, {"output", out}, {"measured", measured}};
    std::cout << j.dump(2) << "\n";
  } else {
    std::cout << setting.text() << ": " << in << " -> " << out << ", measured " << m.describe() << " mean_luma="
              << result.mean_luma << "\n";
  }
  return 0;
}

}  // namespace gearnn::cli
