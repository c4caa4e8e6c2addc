#pragma once
// Options shared by the offline commands (train, adapt, eval): data, sequence
// filters, augmentation, threads.
#include "args.h"
#include "data/augment.h"
#include "data/dataset.h"
#include "distort/distortion_setting.h"

namespace gearnn::cli {

// Options to add to a command's spec.
std::vector<Option> data_options();
std::vector<Option> augment_options();

// --data ROOT --split S [--exclude-sequence A,B] [--only-sequence A,B]
Dataset open_dataset(const Args& args, const std::string& split_option, const std::string& default_split);
AugmentOptions parse_augment(const Args& args);
// A level spec or one setting given as an option's value; a malformed one is
// bad usage (exit 2), with the parser's message.
std::vector<DistortionSetting> level_spec_option(const Args& args, const std::string& option);
DistortionSetting setting_option(const Args& args, const std::string& option);
// The non-empty items of a comma-separated option value, in order.
std::vector<std::string> comma_items(const std::string& text);
// Sets LibTorch's intra-op threads from --threads (default: all cores) and returns it.
int apply_threads(const Args& args);

}  // namespace gearnn::cli
