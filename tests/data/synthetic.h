#pragma once
// Small synthetic datasets for the data and eval tests. Every pixel's colour
// encodes its class (class_colour / class_of_colour), so a test can check that
// an augmented label still sits on the image pixels it describes.
#include "image.h"

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace gearnn::testing {

// Class c (0..254) gets a distinct colour with a non-zero red; void (255) is black,
// the colour a crop pads with.
std::array<uint8_t, 3> class_colour(int c);
int class_of_colour(const uint8_t* rgb);

// A random class per `block` x `block` cell, drawn from 0..classes-1, about a
// tenth of the cells `void_value` (the dataset's own void code), and its image.
struct SyntheticPair {
  RgbImage image;
  ClassMap label;  // dataset codes: void is void_value
};
SyntheticPair synthetic_pair(int width, int height, int classes, int void_value, uint64_t seed, int block = 1);

struct SyntheticSet {
  std::string root;
  std::vector<std::string> names;
};

// CamVid layout: root/<split>.txt, root/<split>/NAME.png, root/<split>annot/NAME.png;
// names are <sequence>_<6 digits>, the sequences taken in turn; void is 11.
SyntheticSet make_camvid(const std::string& root, const std::string& split, int count, int width, int height,
                         const std::vector<std::string>& sequences = {"0001TP", "0006R0"}, int block = 1);

// Cityscapes layout with train ids (void 255); `count` images per city.
SyntheticSet make_cityscapes(const std::string& root, const std::string& split, const std::vector<std::string>& cities,
                             int count, int width, int height);

void write_text_file(const std::string& path, const std::string& text);

}  // namespace gearnn::testing
