#include "mpd_reader.h"

#include "checked_file.h"
#include "error.h"

#include <glib.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>

namespace fs = std::filesystem;

namespace gearnn::tools {
namespace {

using Attributes = std::map<std::string, std::string>;

struct Template {
  Attributes attributes;
  std::vector<Attributes> timeline;  // the S elements of its SegmentTimeline
};

struct RepresentationNode {
  Attributes attributes;
  std::optional<Template> segment_template;
  std::string base_url;
};

struct AdaptationSetNode {
  Attributes attributes;
  std::optional<Template> segment_template;
  std::string base_url;
  std::vector<RepresentationNode> representations;
};

struct MpdNode {
  Attributes attributes;
  std::string base_url;
  int periods = 0;
  Attributes period;  // the first Period's; only one is read
  std::string period_base_url;
  std::optional<Template> period_template;
  std::vector<AdaptationSetNode> sets;
};

// GMarkup callbacks build MpdNode. Elements count only at their DASH place
// (the whole path of open elements), so nothing is added to a list while a
// SegmentTemplate inside it is open.
struct Parser {
  MpdNode mpd;
  std::vector<std::string> path;
  std::string text;
  std::optional<Template>* open_template = nullptr;

  bool at(std::initializer_list<const char*> tail) const {
    const std::vector<std::string> prefix{"MPD", "Period"};
    if (path.size() != prefix.size() + tail.size()) return false;
    if (!std::equal(prefix.begin(), prefix.end(), path.begin())) return false;
    return std::equal(tail.begin(), tail.end(), path.begin() + long(prefix.size()),
                      [](const char* a, const std::string& b) { return b == a; });
  }
};

Attributes attributes_of(const gchar** names, const gchar** values) {
  Attributes a;
  for (size_t i = 0; names[i]; ++i) a[names[i]] = values[i];
  return a;
}

void on_start(GMarkupParseContext*, const gchar* element, const gchar** names, const gchar** values, gpointer data,
              GError**) {
  auto& p = *static_cast<Parser*>(data);
  p.path.push_back(element);
  p.text.clear();
  Attributes a = attributes_of(names, values);
  const bool first_period = p.mpd.periods == 1;
  if (p.path.size() == 1 && p.path[0] == "MPD") {
    p.mpd.attributes = std::move(a);
  } else if (p.at({})) {
    if (++p.mpd.periods == 1) p.mpd.period = std::move(a);
  } else if (first_period && p.at({"AdaptationSet"})) {
    p.mpd.sets.push_back({std::move(a), std::nullopt, "", {}});
  } else if (first_period && p.at({"AdaptationSet", "Representation"})) {
    p.mpd.sets.back().representations.push_back({std::move(a), std::nullopt, ""});
  } else if (first_period && p.path.back() == "SegmentTemplate") {
    std::optional<Template>* slot = nullptr;
    if (p.at({"SegmentTemplate"})) slot = &p.mpd.period_template;
    if (p.at({"AdaptationSet", "SegmentTemplate"})) slot = &p.mpd.sets.back().segment_template;
    if (p.at({"AdaptationSet", "Representation", "SegmentTemplate"}))
      slot = &p.mpd.sets.back().representations.back().segment_template;
    if (slot) *slot = Template{std::move(a), {}};
    p.open_template = slot;
  } else if (p.open_template && p.path.size() >= 3 && p.path[p.path.size() - 3] == "SegmentTemplate" &&
             p.path[p.path.size() - 2] == "SegmentTimeline" && p.path.back() == "S") {
    (*p.open_template)->timeline.push_back(std::move(a));
  }
}

std::string trimmed(const std::string& s) {
  const size_t first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return "";
  return s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1);
}

void on_end(GMarkupParseContext*, const gchar* element, gpointer data, GError**) {
  auto& p = *static_cast<Parser*>(data);
  const std::string name = element;
  if (name == "BaseURL") {
    const std::string url = trimmed(p.text);
    if (p.path.size() == 2 && p.path[0] == "MPD") p.mpd.base_url = url;
    if (p.mpd.periods == 1) {
      if (p.at({"BaseURL"})) p.mpd.period_base_url = url;
      if (p.at({"AdaptationSet", "BaseURL"})) p.mpd.sets.back().base_url = url;
      if (p.at({"AdaptationSet", "Representation", "BaseURL"})) p.mpd.sets.back().representations.back().base_url = url;
    }
  }
  if (name == "SegmentTemplate") p.open_template = nullptr;
  p.path.pop_back();
}

void on_text(GMarkupParseContext*, const gchar* text, gsize size, gpointer data, GError**) {
  static_cast<Parser*>(data)->text.append(text, size);
}

// ISO 8601 durations as MPDs write them: PnYnMnDTnHnMnS (years and months
// are refused: they have no fixed length).
double iso_duration_seconds(const std::string& text, const std::string& where) {
  if (text.empty() || text[0] != 'P') throw Error(where + ": '" + text + "' is not an ISO 8601 duration");
  double seconds = 0;
  bool in_time = false;
  size_t i = 1;
  while (i < text.size()) {
    if (text[i] == 'T') {
      in_time = true;
      ++i;
      continue;
    }
    char* end = nullptr;
    const double v = std::strtod(text.c_str() + i, &end);
    if (end == text.c_str() + i || !*end || !std::isfinite(v) || v < 0)
      throw Error(where + ": '" + text + "' is not an ISO 8601 duration");
    const char unit = *end;
    if ((unit == 'Y' || (unit == 'M' && !in_time)) && v != 0)
      throw Error(where + ": '" + text + "' counts years or months");
    if (unit == 'D') seconds += v * 86400;
    else if (unit == 'H' && in_time) seconds += v * 3600;
    else if (unit == 'M' && in_time) seconds += v * 60;
    else if (unit == 'S' && in_time) seconds += v;
    else if (unit != 'Y' && unit != 'M') throw Error(where + ": '" + text + "' is not an ISO 8601 duration");
    i = size_t(end - text.c_str()) + 1;
  }
  return seconds;
}

// $RepresentationID$; $Bandwidth$, $Number$ and $Time$ with an optional %0Nd; $$ is '$'.
std::string expand(const std::string& pattern, const std::map<std::string, std::string>& names,
                   const std::map<std::string, long long>& numbers, const std::string& where) {
  std::string out;
  for (size_t i = 0; i < pattern.size();) {
    if (pattern[i] != '$') {
      out += pattern[i++];
      continue;
    }
    const size_t close = pattern.find('$', i + 1);
    if (close == std::string::npos) throw Error(where + ": unclosed '$' in '" + pattern + "'");
    std::string token = pattern.substr(i + 1, close - i - 1), format = "%d";
    i = close + 1;
    if (token.empty()) {
      out += '$';
      continue;
    }
    if (const size_t pct = token.find('%'); pct != std::string::npos) {
      format = token.substr(pct);
      token.resize(pct);
      const std::string digits = format.substr(1, format.size() - 2);
      if (format.size() < 2 || format.back() != 'd' || digits.size() > 2 ||
          digits.find_first_not_of("0123456789") != std::string::npos)
        throw Error(where + ": bad width '" + format + "' in '" + pattern + "'");
    }
    if (auto n = names.find(token); n != names.end()) {
      out += n->second;
    } else if (auto v = numbers.find(token); v != numbers.end()) {
      char buf[64];
      std::snprintf(buf, sizeof buf, (format.substr(0, format.size() - 1) + "lld").c_str(), v->second);
      out += buf;
    } else {
      throw Error(where + ": unknown identifier $" + token + "$ in '" + pattern + "'");
    }
  }
  return out;
}

std::string get(const Attributes& a, const std::string& key, const std::string& fallback = "") {
  auto it = a.find(key);
  return it == a.end() ? fallback : it->second;
}

// Whole numbers of an MPD, 0 to 2^53: sums of a day's worth of them cannot overflow.
long long get_number(const Attributes& a, const std::string& key, long long fallback, const std::string& where) {
  const std::string text = get(a, key);
  if (text.empty()) return fallback;
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  if (*end || errno || v < 0 || v > (1LL << 53))
    throw Error(where + ": " + key + "=\"" + text + "\" is not a whole number from 0 to 2^53");
  return v;
}

// More segments than a day of 1-frame segments at 60 frames/s: a broken MPD.
constexpr long long kMaxSegments = 24LL * 3600 * 60;

bool is_remote(const std::string& url) { return url.find("://") != std::string::npos; }

// The media segments' names of one representation from its template.
std::vector<std::string> template_files(const Template& t, const std::map<std::string, std::string>& names,
                                        long long bandwidth, double presentation_seconds, const fs::path& dir,
                                        const std::string& where) {
  const std::string media = get(t.attributes, "media");
  if (media.empty()) throw Error(where + ": SegmentTemplate has no media");
  const long long start = get_number(t.attributes, "startNumber", 1, where);
  const long long timescale = get_number(t.attributes, "timescale", 1, where);
  if (timescale <= 0) throw Error(where + ": timescale must be above 0");
  const auto name = [&](long long number, long long time) {
    return expand(media, names, {{"Number", number}, {"Time", time}, {"Bandwidth", bandwidth}}, where);
  };
  std::vector<std::string> files;
  if (!t.timeline.empty()) {
    long long number = start, time = 0;
    for (const Attributes& s : t.timeline) {
      time = get_number(s, "t", time, where);
      const long long d = get_number(s, "d", 0, where);
      if (d <= 0) throw Error(where + ": a SegmentTimeline entry has no duration");
      if (get(s, "r") == "-1") throw Error(where + ": open-ended SegmentTimeline repeats (r=-1) are not supported");
      const long long repeat = get_number(s, "r", 0, where);
      if (repeat >= kMaxSegments - (long long)files.size()) throw Error(where + ": the SegmentTimeline lists too many segments");
      for (long long k = 0; k <= repeat; ++k, ++number, time += d) files.push_back(name(number, time));
    }
  } else {
    const long long duration = get_number(t.attributes, "duration", 0, where);
    if (duration <= 0) throw Error(where + ": SegmentTemplate has neither a duration nor a SegmentTimeline");
    if (presentation_seconds <= 0) throw Error(where + ": the MPD states no duration to count segments by");
    // Muxers cut at key frames, so the nominal duration can promise more
    // segments than there are: read up to the first number that is not
    // there, and refuse a gap (a later number that is).
    const double segments = std::ceil(presentation_seconds * double(timescale) / double(duration) - 1e-6);
    if (segments > double(kMaxSegments)) throw Error(where + ": the duration implies too many segments");
    // ffmpeg also rounds the presentation's duration down, so one more
    // segment than it implies can be there: every number present is read.
    const auto count = (long long)segments;
    const auto numbered = [&](long long k) { return name(start + k, k * duration); };
    std::error_code ec;
    long long k = 0;
    for (; k < kMaxSegments && fs::exists(dir / numbered(k), ec); ++k) files.push_back(numbered(k));
    for (long long later = k + 1; later <= std::max(count, k + 1); ++later)
      if (k == 0 || fs::exists(dir / numbered(later), ec))
        throw Error(where + ": segment " + (dir / numbered(k)).string() + " is missing");
  }
  return files;
}

}  // namespace

std::vector<MpdRepresentation> read_mpd_video(const std::string& mpd_path) {
  const std::vector<char> content = read_regular_file(mpd_path, kMaxTextFileBytes);
  Parser parser;
  GMarkupParser callbacks{on_start, on_end, on_text, nullptr, nullptr};
  GMarkupParseContext* context = g_markup_parse_context_new(&callbacks, GMarkupParseFlags(0), &parser, nullptr);
  GError* err = nullptr;
  const bool parsed = g_markup_parse_context_parse(context, content.data(), gssize(content.size()), &err) &&
                      g_markup_parse_context_end_parse(context, &err);
  g_markup_parse_context_free(context);
  if (!parsed) {
    const std::string message = err ? err->message : "parse error";
    if (err) g_error_free(err);
    throw Error(mpd_path + ": not an MPD (" + escape_untrusted(message) + ")");
  }
  const MpdNode& mpd = parser.mpd;
  if (mpd.attributes.empty() && mpd.periods == 0) throw Error(mpd_path + ": not an MPD (no MPD element)");
  if (get(mpd.attributes, "type", "static") != "static")
    throw Error(mpd_path + ": a dynamic (live) MPD; only static presentations can be read to the end");
  if (mpd.periods != 1)
    throw Error(mpd_path + ": " + std::to_string(mpd.periods) + " periods; one is supported");
  const std::string duration_text = get(mpd.period, "duration", get(mpd.attributes, "mediaPresentationDuration"));
  const double seconds = duration_text.empty() ? 0 : iso_duration_seconds(duration_text, mpd_path);

  const fs::path root = fs::path(mpd_path).parent_path();
  std::vector<MpdRepresentation> out;
  std::string skipped;
  for (const AdaptationSetNode& set : mpd.sets) {
    for (const RepresentationNode& node : set.representations) {
      const auto attribute = [&](const std::string& key) {
        return get(node.attributes, key, get(set.attributes, key));
      };
      const bool video = get(set.attributes, "contentType") == "video" || attribute("mimeType").rfind("video/", 0) == 0;
      if (!video) continue;
      MpdRepresentation rep;
      rep.id = get(node.attributes, "id");
      const std::string where = mpd_path + ": representation '" + rep.id + "'";
      rep.codecs = attribute("codecs");
      if (!rep.codecs.empty() && rep.codecs.rfind("avc1", 0) != 0 && rep.codecs.rfind("avc3", 0) != 0) {
        skipped += (skipped.empty() ? "" : ", ") + rep.id + " (" + rep.codecs + ")";
        continue;
      }
      rep.width = int(get_number(node.attributes, "width", get_number(set.attributes, "width", 0, where), where));
      rep.height = int(get_number(node.attributes, "height", get_number(set.attributes, "height", 0, where), where));
      rep.bandwidth = long(get_number(node.attributes, "bandwidth", 0, where));
      for (const std::string& url : {mpd.base_url, mpd.period_base_url, set.base_url, node.base_url})
        if (is_remote(url)) throw Error(where + ": remote BaseURL " + url + "; download the presentation first");
      const fs::path dir = root / mpd.base_url / mpd.period_base_url / set.base_url / node.base_url;
      // The template: each level's attributes over the one above (Period,
      // AdaptationSet, Representation); the nearest timeline.
      std::optional<Template> t;
      for (const auto* level : {&mpd.period_template, &set.segment_template, &node.segment_template}) {
        if (!*level) continue;
        if (!t) t = Template{};
        for (const auto& [k, v] : (*level)->attributes) t->attributes[k] = v;
        if (!(*level)->timeline.empty()) t->timeline = (*level)->timeline;
      }
      std::vector<std::string> names;
      if (t) {
        const std::map<std::string, std::string> ids{{"RepresentationID", rep.id}};
        if (const std::string init = get(t->attributes, "initialization"); !init.empty())
          names.push_back(expand(init, ids, {{"Bandwidth", rep.bandwidth}}, where));
        for (auto& f : template_files(*t, ids, rep.bandwidth, seconds, dir, where)) names.push_back(std::move(f));
        for (auto& n : names) n = (dir / n).string();
      } else if (!node.base_url.empty()) {
        names.push_back(dir.string());  // one file: SegmentBase or none
      } else {
        throw Error(where + ": neither a SegmentTemplate nor a BaseURL (SegmentList is not supported)");
      }
      for (const std::string& f : names) {
        std::error_code ec;
        if (!fs::is_regular_file(f, ec)) throw Error(where + ": segment " + f + " is missing");
        if (fs::file_size(f, ec) == 0) throw Error(where + ": segment " + f + " is empty");
      }
      rep.files = std::move(names);
      out.push_back(std::move(rep));
    }
  }
  if (out.empty())
    throw Error(mpd_path + ": no H.264 video representation" + (skipped.empty() ? "" : " (skipped: " + skipped + ")"));
  if (!skipped.empty()) std::fprintf(stderr, "%s: not H.264, skipped: %s\n", mpd_path.c_str(), skipped.c_str());
  return out;
}

void join_representation(const MpdRepresentation& rep, const std::string& out_path) {
  {
    std::ofstream out(out_path + ".tmp", std::ios::binary | std::ios::trunc);
    if (!out) throw Error(out_path + ": cannot write");
    for (const std::string& f : rep.files)
      read_regular_file_chunks(f, kMaxTensorFileBytes, [&](const char* data, size_t size) {
        out.write(data, std::streamsize(size));
      });
    out.close();
    if (!out) throw Error(out_path + ": write error");
  }
  fs::rename(out_path + ".tmp", out_path);
}

}  // namespace gearnn::tools
