#include "measure/h264_slice.h"

#include <algorithm>

namespace gearnn {
namespace {

enum NalType { kSlice = 1, kSliceIdr = 5, kSps = 7, kPps = 8 };
enum SliceKind { kP = 0, kB = 1, kI = 2, kSP = 3, kSI = 4 };

// Reads bits MSB first; a read past the end sets `failed` and returns 0, so
// parsers check once at the end instead of after every field.
class Bits {
public:
  Bits(const uint8_t* data, size_t size) : data_(data), bits_(size * 8) {}

  uint32_t u(int n) {
    uint32_t v = 0;
    for (int i = 0; i < n; ++i) {
      if (pos_ >= bits_) {
        failed = true;
        return 0;
      }
      v = (v << 1) | ((data_[pos_ >> 3] >> (7 - (pos_ & 7))) & 1u);
      ++pos_;
    }
    return v;
  }
  bool flag() { return u(1) != 0; }
  uint32_t ue() {
    int zeros = 0;
    while (!failed && u(1) == 0) {
      if (++zeros > 31) {
        failed = true;
        return 0;
      }
    }
    if (failed) return 0;
    return uint32_t((uint64_t(1) << zeros) - 1 + u(zeros));
  }
  // Wider than any field needs, so that arithmetic on it cannot overflow.
  int64_t se() {
    const uint32_t k = ue();
    return (k & 1) ? int64_t(k / 2) + 1 : -int64_t(k / 2);
  }
  // se() that must lie in [lo, hi]; 0 (and failed) when it does not.
  int se_in(int lo, int hi) {
    const int64_t v = se();
    if (v >= lo && v <= hi) return int(v);
    failed = true;
    return 0;
  }
  // ue() that must not exceed `max`; 0 (and failed) when it does, so that
  // no caller loops or indexes by an out-of-range count.
  uint32_t ue_max(uint32_t max) {
    const uint32_t v = ue();
    if (v <= max) return v;
    failed = true;
    return 0;
  }

  bool failed = false;

private:
  const uint8_t* data_;
  size_t bits_;
  size_t pos_ = 0;
};

void skip_scaling_list(Bits& b, int size) {
  int last = 8, next = 8;
  for (int j = 0; j < size && !b.failed; ++j) {
    if (next != 0) next = (last + b.se_in(-128, 127) + 256) % 256;
    last = next == 0 ? last : next;
  }
}

bool high_profile(uint32_t profile) {
  switch (profile) {
    case 100: case 110: case 122: case 244: case 44: case 83: case 86: case 118: case 128: case 138: case 139:
    case 134: case 135: return true;
    default: return false;
  }
}

void skip_ref_list_modification(Bits& b) {
  if (!b.flag()) return;
  for (int n = 0; n < 100 && !b.failed; ++n) {
    const uint32_t idc = b.ue();
    if (idc == 3) return;
    if (idc > 5) break;
    b.ue();  // abs_diff_pic_num_minus1, long_term_pic_num or abs_diff_view_idx_minus1
  }
  b.failed = true;
}

void skip_weights(Bits& b, int refs, int chroma_array_type) {
  for (int i = 0; i < refs && !b.failed; ++i) {
    if (b.flag()) {
      b.se();
      b.se();
    }
    if (chroma_array_type != 0 && b.flag())
      for (int j = 0; j < 4; ++j) b.se();
  }
}

}  // namespace

const char* h264_frame_type_name(H264FrameType t) {
  switch (t) {
    case H264FrameType::I: return "I";
    case H264FrameType::P: return "P";
    case H264FrameType::B: return "B";
  }
  return "?";
}

void H264SliceReader::set_avc(int nal_length_size) {
  avc_ = true;
  nal_length_size_ = std::clamp(nal_length_size, 1, 4);
}

bool H264SliceReader::read_avcc(const uint8_t* data, size_t size) {
  if (size < 7 || data[0] != 1) return false;
  set_avc((data[4] & 0x03) + 1);
  size_t at = 5;
  for (int set = 0; set < 2; ++set) {  // SPS, then PPS
    if (at >= size) return false;
    const unsigned count = set == 0 ? (data[at] & 0x1f) : data[at];
    ++at;
    for (unsigned i = 0; i < count; ++i) {
      if (at + 2 > size) return false;
      const size_t length = size_t(data[at]) << 8 | data[at + 1];
      at += 2;
      if (length == 0 || at + length > size) return false;
      read_nal(data + at, length);
      at += length;
    }
  }
  return true;
}

size_t H264SliceReader::unescape(const uint8_t* payload, size_t size) {
  size_t n = 0, zeros = 0;
  for (size_t i = 0; i < size && n < rbsp_.size(); ++i) {
    if (zeros >= 2 && payload[i] == 3) {
      zeros = 0;
      continue;
    }
    zeros = payload[i] == 0 ? zeros + 1 : 0;
    rbsp_[n++] = payload[i];
  }
  return n;
}

bool H264SliceReader::parse_sps(size_t rbsp_size) {
  Bits b(rbsp_.data(), rbsp_size);
  const uint32_t profile = b.u(8);
  b.u(16);  // constraint flags, level_idc
  const uint32_t id = b.ue_max(31);
  Sps s;
  int chroma_format = 1;
  if (high_profile(profile)) {
    chroma_format = int(b.ue_max(3));
    if (chroma_format == 3) s.separate_colour_plane = b.flag();
    b.ue();  // bit_depth_luma_minus8
    b.ue();  // bit_depth_chroma_minus8
    b.flag();  // qpprime_y_zero_transform_bypass_flag
    if (b.flag()) {
      for (int i = 0; i < (chroma_format != 3 ? 8 : 12) && !b.failed; ++i)
        if (b.flag()) skip_scaling_list(b, i < 6 ? 16 : 64);
    }
  }
  s.chroma_array_type = s.separate_colour_plane ? 0 : chroma_format;
  s.log2_max_frame_num = int(b.ue_max(12)) + 4;
  s.poc_type = int(b.ue_max(2));
  if (s.poc_type == 0) {
    s.log2_max_poc_lsb = int(b.ue_max(12)) + 4;
  } else if (s.poc_type == 1) {
    s.delta_poc_always_zero = b.flag();
    b.se();
    b.se();
    const uint32_t cycle = b.ue_max(255);
    for (uint32_t i = 0; i < cycle && !b.failed; ++i) b.se();
  }
  b.ue();    // max_num_ref_frames
  b.flag();  // gaps_in_frame_num_value_allowed_flag
  const uint32_t width_mbs = b.ue_max(1023) + 1, height_units = b.ue_max(1023) + 1;
  s.frame_mbs_only = b.flag();
  s.frame_mbs = width_mbs * height_units * (s.frame_mbs_only ? 1 : 2);
  if (b.failed) return false;
  s.valid = true;
  sps_[id] = s;
  return true;
}

bool H264SliceReader::parse_pps(size_t rbsp_size) {
  Bits b(rbsp_.data(), rbsp_size);
  const uint32_t id = b.ue_max(255);
  Pps p;
  p.sps_id = int(b.ue_max(31));
  p.cabac = b.flag();
  p.bottom_field_poc_present = b.flag();
  const uint32_t groups = b.ue_max(7) + 1;
  if (groups > 1) {
    const uint32_t map_type = b.ue_max(6);
    if (map_type == 0) {
      for (uint32_t g = 0; g < groups && !b.failed; ++g) b.ue();
    } else if (map_type == 2) {
      for (uint32_t g = 0; g + 1 < groups && !b.failed; ++g) {
        b.ue();
        b.ue();
      }
    } else if (map_type >= 3 && map_type <= 5) {
      b.flag();
      b.ue();
    } else if (map_type == 6) {
      const uint32_t units = b.ue_max(1 << 20) + 1;
      int bits = 0;
      while ((1u << bits) < groups) ++bits;
      for (uint32_t i = 0; i < units && !b.failed; ++i) b.u(bits);
    }
  }
  p.ref_l0_default = int(b.ue_max(31)) + 1;
  p.ref_l1_default = int(b.ue_max(31)) + 1;
  p.weighted_pred = b.flag();
  p.weighted_bipred_idc = int(b.u(2));
  p.pic_init_qp = 26 + b.se_in(-26, 25);
  b.se();    // pic_init_qs_minus26
  b.se();    // chroma_qp_index_offset
  b.flag();  // deblocking_filter_control_present_flag
  b.flag();  // constrained_intra_pred_flag
  p.redundant_pic_cnt_present = b.flag();
  if (b.failed || p.pic_init_qp < -26 || p.pic_init_qp > 51) return false;
  p.valid = true;
  pps_[id] = p;
  return true;
}

std::optional<H264SliceReader::Slice> H264SliceReader::parse_slice(size_t rbsp_size, int nal_type, int nal_ref_idc) {
  Bits b(rbsp_.data(), rbsp_size);
  Slice s;
  s.first_mb = b.ue();
  const uint32_t slice_type = b.ue_max(9);
  s.type = int(slice_type % 5);
  const uint32_t pps_id = b.ue_max(255);
  if (b.failed || !pps_[pps_id].valid || !sps_[pps_[pps_id].sps_id].valid) return std::nullopt;
  const Pps& pps = pps_[pps_id];
  const Sps& sps = sps_[pps.sps_id];

  if (sps.separate_colour_plane) b.u(2);
  b.u(sps.log2_max_frame_num);
  bool field = false;
  if (!sps.frame_mbs_only) {
    field = b.flag();
    if (field) b.flag();  // bottom_field_flag
  }
  if (nal_type == kSliceIdr) b.ue();  // idr_pic_id
  if (sps.poc_type == 0) {
    b.u(sps.log2_max_poc_lsb);
    if (pps.bottom_field_poc_present && !field) b.se();
  } else if (sps.poc_type == 1 && !sps.delta_poc_always_zero) {
    b.se();
    if (pps.bottom_field_poc_present && !field) b.se();
  }
  if (pps.redundant_pic_cnt_present) b.ue();
  if (s.type == kB) b.flag();  // direct_spatial_mv_pred_flag
  int refs_l0 = pps.ref_l0_default, refs_l1 = pps.ref_l1_default;
  if (s.type == kP || s.type == kSP || s.type == kB) {
    if (b.flag()) {  // num_ref_idx_active_override_flag
      refs_l0 = int(b.ue_max(31)) + 1;
      if (s.type == kB) refs_l1 = int(b.ue_max(31)) + 1;
    }
  }
  if (s.type != kI && s.type != kSI) {
    skip_ref_list_modification(b);
    if (s.type == kB) skip_ref_list_modification(b);
  }
  if ((pps.weighted_pred && (s.type == kP || s.type == kSP)) || (pps.weighted_bipred_idc == 1 && s.type == kB)) {
    b.ue();  // luma_log2_weight_denom
    if (sps.chroma_array_type != 0) b.ue();
    skip_weights(b, refs_l0, sps.chroma_array_type);
    if (s.type == kB) skip_weights(b, refs_l1, sps.chroma_array_type);
  }
  if (nal_ref_idc != 0) {  // dec_ref_pic_marking
    if (nal_type == kSliceIdr) {
      b.flag();
      b.flag();
    } else if (b.flag()) {
      uint32_t op = 1;
      for (int n = 0; n < 100 && op != 0 && !b.failed; ++n) {
        op = b.ue_max(6);
        if (op == 1 || op == 3) b.ue();
        if (op == 2) b.ue();
        if (op == 3 || op == 6) b.ue();
        if (op == 4) b.ue();
      }
      if (op != 0) b.failed = true;
    }
  }
  if (pps.cabac && s.type != kI && s.type != kSI) b.ue_max(2);  // cabac_init_idc
  s.qp = pps.pic_init_qp + b.se_in(-51, 51);
  if (b.failed || s.qp < 0 || s.qp > 51) return std::nullopt;
  s.picture_mbs = field ? sps.frame_mbs / 2 : sps.frame_mbs;
  return s;
}

void H264SliceReader::read_nal(const uint8_t* nal, size_t size) {
  if (size < 2 || (nal[0] & 0x80)) return;  // forbidden_zero_bit
  const int type = nal[0] & 0x1f, ref_idc = (nal[0] >> 5) & 3;
  if (type != kSlice && type != kSliceIdr && type != kSps && type != kPps) return;
  const size_t rbsp_size = unescape(nal + 1, size - 1);
  if (type == kSps) {
    parse_sps(rbsp_size);
  } else if (type == kPps) {
    parse_pps(rbsp_size);
  } else if (slice_count_ < kMaxSlices) {
    if (auto slice = parse_slice(rbsp_size, type, ref_idc)) {
      slices_[slice_count_++] = *slice;
      idr_ = idr_ || type == kSliceIdr;
    }
  }
}

std::optional<H264FrameQp> H264SliceReader::read_access_unit(const uint8_t* data, size_t size) {
  slice_count_ = 0;
  idr_ = false;
  if (avc_) {
    size_t at = 0;
    while (at + size_t(nal_length_size_) <= size) {
      size_t length = 0;
      for (int i = 0; i < nal_length_size_; ++i) length = length << 8 | data[at + i];
      at += size_t(nal_length_size_);
      if (length > size - at) break;  // truncated: keep what was read
      read_nal(data + at, length);
      at += length;
    }
  } else {
    // Start codes 00 00 01 (or 00 00 00 01); a NAL ends where the next start code begins.
    auto next_start = [&](size_t from) {
      for (size_t i = from; i + 3 <= size; ++i)
        if (data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1) return i;
      return size;
    };
    size_t start = next_start(0);
    while (start < size) {
      const size_t begin = start + 3;
      size_t end = next_start(begin);
      const size_t following = end;
      while (end > begin && data[end - 1] == 0) --end;  // trailing zeros belong to the next start code
      if (end > begin) read_nal(data + begin, end - begin);
      start = following;
    }
  }
  if (slice_count_ == 0) return std::nullopt;

  H264FrameQp out;
  double weighted = 0, total = 0;
  bool all_intra = true, any_b = false;
  for (size_t i = 0; i < slice_count_; ++i) {
    const Slice& s = slices_[i];
    // Slices of a picture come in order of first_mb; the last one runs to the picture's end.
    const uint32_t end =
        (i + 1 < slice_count_ && slices_[i + 1].first_mb > s.first_mb) ? slices_[i + 1].first_mb : s.picture_mbs;
    const double w = end > s.first_mb ? double(end - s.first_mb) : 1.0;
    weighted += w * s.qp;
    total += w;
    all_intra = all_intra && (s.type == kI || s.type == kSI);
    any_b = any_b || s.type == kB;
  }
  static const char* const kNames[5] = {"P", "B", "I", "SP", "SI"};
  for (size_t i = 0; i < slice_count_; ++i) {
    if (i) out.slice_types += ',';
    out.slice_types += kNames[slices_[i].type];
  }
  out.qp = weighted / total;
  out.type = all_intra ? H264FrameType::I : any_b ? H264FrameType::B : H264FrameType::P;
  out.slices = int(slice_count_);
  out.idr = idr_;
  return out;
}

}  // namespace gearnn
