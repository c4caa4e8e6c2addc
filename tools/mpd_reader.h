// The video representations of a local DASH MPD (static, on-demand), each
// as the files that make it up in play order, so that a tool can play one
// representation from start to end. Supports SegmentTemplate (at Period,
// AdaptationSet or Representation; $Number$ with a duration or a
// SegmentTimeline, $Time$, $RepresentationID$, $Bandwidth$, %0Nd widths),
// BaseURL at every level, and a single-file Representation (BaseURL,
// SegmentBase). Video representations that are not H.264 are skipped.
#pragma once

#include <string>
#include <vector>

namespace gearnn::tools {

struct MpdRepresentation {
  std::string id;
  int width = 0, height = 0;
  long bandwidth = 0;         // bits per second, as the MPD states it
  std::string codecs;
  std::vector<std::string> files;  // initialization first, then media segments, all present
};

// Throws gearnn::Error naming the MPD (and the representation or file) on a
// file that cannot be read, is not an MPD, is dynamic, has no H.264 video, or
// names a segment that is missing or empty.
std::vector<MpdRepresentation> read_mpd_video(const std::string& mpd_path);

// Concatenates a representation's files into one file that a demuxer plays
// (fragmented MP4 and MPEG-TS segments both concatenate).
void join_representation(const MpdRepresentation& rep, const std::string& out_path);

}  // namespace gearnn::tools
