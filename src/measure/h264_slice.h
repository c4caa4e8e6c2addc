#pragma once
// Reads each H.264 access unit's slice QP from the bitstream alone (no
// decoder, no GStreamer, no FFmpeg): SliceQPY = 26 + pic_init_qp_minus26 +
// slice_qp_delta, read from the slice headers with the parameter sets seen
// so far. The GStreamer probe and the offline generators both use it, so a
// level's descriptor and the runtime's measurement come from the same code.
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace gearnn {

enum class H264FrameType { I, P, B };
const char* h264_frame_type_name(H264FrameType t);  // "I", "P", "B"

// One access unit (a frame) as its slice headers describe it.
struct H264FrameQp {
  double qp = 0;           // slice QPs weighted by the macroblocks of each slice
  H264FrameType type = H264FrameType::P;  // I when every slice is I or SI, B when any is B, else P
  int slices = 0;
  bool idr = false;
  std::string slice_types;  // "I", "P", "B,B", ... in slice order
};

class H264SliceReader {
public:
  // Length-prefixed NAL units ("avc", as in MP4) instead of start codes.
  void set_avc(int nal_length_size);
  // Reads an avcC record (ISO/IEC 14496-15): NAL length size, SPS and PPS.
  // false for a malformed record.
  bool read_avcc(const uint8_t* data, size_t size);

  // Parses one access unit; parameter sets in it are kept for later units.
  // nullopt when it holds no slice whose header could be read (for example
  // before the first SPS/PPS, or for data that is not H.264).
  std::optional<H264FrameQp> read_access_unit(const uint8_t* data, size_t size);

private:
  struct Sps {
    bool valid = false;
    int chroma_array_type = 1;
    bool separate_colour_plane = false;
    int log2_max_frame_num = 4;
    int poc_type = 0;
    int log2_max_poc_lsb = 4;
    bool delta_poc_always_zero = false;
    bool frame_mbs_only = true;
    uint32_t frame_mbs = 0;  // macroblocks in a frame
  };
  struct Pps {
    bool valid = false;
    int sps_id = 0;
    bool cabac = false;
    bool bottom_field_poc_present = false;
    int ref_l0_default = 1, ref_l1_default = 1;  // num_ref_idx_lX_default_active
    bool weighted_pred = false;
    int weighted_bipred_idc = 0;
    int pic_init_qp = 26;
    bool redundant_pic_cnt_present = false;
  };
  struct Slice {
    uint32_t first_mb = 0;
    int qp = 0;
    int type = 0;  // slice_type % 5: 0 P, 1 B, 2 I, 3 SP, 4 SI
    uint32_t picture_mbs = 0;
  };

  void read_nal(const uint8_t* nal, size_t size);
  bool parse_sps(size_t rbsp_size);
  bool parse_pps(size_t rbsp_size);
  std::optional<Slice> parse_slice(size_t rbsp_size, int nal_type, int nal_ref_idc);
  size_t unescape(const uint8_t* payload, size_t size);

  bool avc_ = false;
  int nal_length_size_ = 4;
  std::array<Sps, 32> sps_{};
  std::array<Pps, 256> pps_{};
  // The current NAL's payload without emulation-prevention bytes; slice
  // headers and parameter sets fit well within it (longer NALs are cut).
  std::array<uint8_t, 2048> rbsp_{};
  // Slices of the access unit being read.
  static constexpr size_t kMaxSlices = 256;
  std::array<Slice, kMaxSlices> slices_{};
  size_t slice_count_ = 0;
  bool idr_ = false;
};

}  // namespace gearnn
