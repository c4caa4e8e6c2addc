#include "adaptive_model.h"
#include "args.h"
#include "commands.h"

#include <iostream>

namespace gearnn::cli {
namespace {

const CommandSpec kSpec{
    "gearnn segment BUNDLE IMAGE [--level NAME] -o OUT.png [--color OUT_COLOR.png]",
    "Segments one PNG image: writes the class index of every pixel as an 8-bit PNG,\n"
    "and optionally the classes in the bundle's palette colours.",
    {{"--level", "NAME", "level to run (default: the base's own level)"},
     {"--output", "OUT.png", "class-index PNG to write", "-o"},
     {"--color", "OUT.png", "coloured PNG to write"},
     {"--device", "D", "cpu or cuda (default cpu)"}},
    2,
    2};

}  // namespace

int run_segment(const std::vector<std::string>& argv) {
  const Args args(kSpec, argv);
  if (args.help()) {
    std::cout << help_text(kSpec);
    return 0;
  }
  const std::string out = args.require("--output");
  AdaptiveModel model(
      Bundle::load(args.positional()[0], args.get("--device", "cpu"), DescriptorCheck::current, Folding::inference));
  if (args.has("--level")) model.select(args.get("--level"));
  const RgbImage image = read_png_rgb(args.positional()[1]);
  const ClassMap map = model.segment(image.view());
  write_png_gray(out, map);
  if (args.has("--color")) write_png_rgb(args.get("--color"), colorize(map, model.bundle().manifest().palette()));
  std::cout << "level " << model.level_name() << ", " << map.width << "x" << map.height << " -> " << out << "\n";
  return 0;
}

}  // namespace gearnn::cli
