#include "mpd_reader.h"

#include "error.h"

#include <glib.h>

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
  std::vector<Attributes> timeline;  // the S elements
  bool has_timeline = false;
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
  Attributes period;
  std::vector<AdaptationSetNode> sets;
};

// GMarkup callbacks build MpdNode; `path` is the open elements' names.
struct Parser {
  MpdNode mpd;
  std::vector<std::string> path;
  std::string text;
  Template* open_template = nullptr;  // no node is added while a template is open
};

Attributes attributes_of(const gchar** names, const gchar** values) {
  Attributes a;
  for (size_t i = 0; names[i]; ++i) a[names[i]] = values[i];
  return a;
}

void on_start(GMarkupParseContext*, const gchar* element, const gchar** names, const gchar** values, gpointer data,
              GError**) {
  auto& p = *static_cast<Parser*>(data);
  const std::string name = element;
  const std::string parent = p.path.empty() ? "" : p.path.back();
  p.path.push_back(name);
  p.text.clear();
  Attributes a = attributes_of(names, values);
  if (name == "MPD") {
    p.mpd.attributes = std::move(a);
  } else if (name == "Period" && parent == "MPD") {
    if (p.mpd.periods++ == 0) p.mpd.period = std::move(a);
  } else if (name == "AdaptationSet" && parent == "Period" && p.mpd.periods == 1) {
    p.mpd.sets.push_back({std::move(a), std::nullopt, "", {}});
  } else if (name == "Representation" && parent == "AdaptationSet" && !p.mpd.sets.empty()) {
    p.mpd.sets.back().representations.push_back({std::move(a), std::nullopt, ""});
  } else if (name == "SegmentTemplate" && !p.mpd.sets.empty()) {
    AdaptationSetNode& set = p.mpd.sets.back();
    std::optional<Template>* slot = nullptr;
    if (parent == "AdaptationSet") slot = &set.segment_template;
    if (parent == "Representation" && !set.representations.empty()) slot = &set.representations.back().segment_template;
    if (slot) {
      *slot = Template{std::move(a), {}, false};
      p.open_template = &**slot;
    }
  } else if (name == "SegmentTimeline" && p.open_template) {
    p.open_template->has_timeline = true;
  } else if (name == "S" && parent == "SegmentTimeline" && p.open_template) {
    p.open_template->timeline.push_back(std::move(a));
  }
}

std::string trimmed(const std::string& s) {
  const size_t first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return "";
  return s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1);
}

void on_end(GMarkupParseContext*, const gchar* element, gpointer data, GError**) {
  auto& p = *static_cast<Parser*>(data);
  if (std::string(element) == "BaseURL" && p.path.size() >= 2) {
    const std::string& parent = p.path[p.path.size() - 2];
    const std::string url = trimmed(p.text);
    if (parent == "MPD") p.mpd.base_url = url;
    if (parent == "AdaptationSet" && !p.mpd.sets.empty()) p.mpd.sets.back().base_url = url;
    if (parent == "Representation" && !p.mpd.sets.empty() && !p.mpd.sets.back().representations.empty())
      p.mpd.sets.back().representations.back().base_url = url;
  }
  if (std::string(element) == "SegmentTemplate") p.open_template = nullptr;
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
    if (end == text.c_str() + i || !*end) throw Error(where + ": '" + text + "' is not an ISO 8601 duration");
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

// $RepresentationID$, $Bandwidth$, $Number$, $Time$, with an optional %0Nd; $$ is '$'.
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

long long get_number(const Attributes& a, const std::string& key, long long fallback, const std::string& where) {
  const std::string text = get(a, key);
  if (text.empty()) return fallback;
  char* end = nullptr;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  if (*end) throw Error(where + ": " + key + "=\"" + text + "\" is not a whole number");
  return v;
}

// More segments than a day of 1-frame segments at 60 frames/s: a broken MPD.
constexpr long long kMaxSegments = 24LL * 3600 * 60;

bool is_remote(const std::string& url) { return url.find("://") != std::string::npos; }

// The media segments' names of one representation from its template.
std::vector<std::string> template_files(const Template& t, const std::map<std::string, std::string>& names,
                                        double presentation_seconds, const fs::path& dir, const std::string& where) {
  const std::string media = get(t.attributes, "media");
  if (media.empty()) throw Error(where + ": SegmentTemplate has no media");
  const long long start = get_number(t.attributes, "startNumber", 1, where);
  const long long timescale = get_number(t.attributes, "timescale", 1, where);
  std::vector<std::string> files;
  if (t.has_timeline) {
    long long number = start, time = 0;
    for (const Attributes& s : t.timeline) {
      time = get_number(s, "t", time, where);
      const long long d = get_number(s, "d", 0, where), repeat = get_number(s, "r", 0, where);
      if (d <= 0) throw Error(where + ": a SegmentTimeline entry has no duration");
      if (repeat < 0) throw Error(where + ": open-ended SegmentTimeline repeats (r=-1) are not supported");
      if (repeat >= kMaxSegments - (long long)files.size()) throw Error(where + ": the SegmentTimeline lists too many segments");
      for (long long k = 0; k <= repeat; ++k, ++number, time += d)
        files.push_back(expand(media, names, {{"Number", number}, {"Time", time}}, where));
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
    const auto count = (long long)segments;
    const auto name = [&](long long k) { return expand(media, names, {{"Number", start + k}, {"Time", k * duration}}, where); };
    std::error_code ec;
    long long k = 0;
    for (; k < std::max(count, 1LL) && fs::exists(dir / name(k), ec); ++k) files.push_back(name(k));
    for (long long later = k + 1; later <= std::max(count, k + 1); ++later)
      if (fs::exists(dir / name(later), ec)) throw Error(where + ": segment " + (dir / name(k)).string() + " is missing");
  }
  return files;
}

}  // namespace

std::vector<MpdRepresentation> read_mpd_video(const std::string& mpd_path) {
  std::string content;
  {
    std::error_code ec;
    if (!fs::is_regular_file(mpd_path, ec)) throw Error(mpd_path + ": not a regular file");
    gchar* data = nullptr;
    gsize size = 0;
    GError* err = nullptr;
    if (!g_file_get_contents(mpd_path.c_str(), &data, &size, &err)) {
      const std::string message = err->message;
      g_error_free(err);
      throw Error(mpd_path + ": " + message);
    }
    content.assign(data, size);
    g_free(data);
  }
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
    throw Error(mpd_path + ": not an MPD (" + message + ")");
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
      rep.width = int(get_number(node.attributes, "width", get_number(set.attributes, "width", 0, where), where));
      rep.height = int(get_number(node.attributes, "height", get_number(set.attributes, "height", 0, where), where));
      rep.bandwidth = long(get_number(node.attributes, "bandwidth", 0, where));
      rep.codecs = attribute("codecs");
      if (!rep.codecs.empty() && rep.codecs.rfind("avc1", 0) != 0 && rep.codecs.rfind("avc3", 0) != 0)
        throw Error(where + ": codecs '" + rep.codecs + "' is not H.264 (avc1, avc3)");
      for (const std::string& url : {mpd.base_url, set.base_url, node.base_url})
        if (is_remote(url)) throw Error(where + ": remote BaseURL " + url + "; download the presentation first");
      const fs::path dir = root / mpd.base_url / set.base_url;
      // The template: the representation's attributes over the adaptation set's.
      std::optional<Template> t = set.segment_template;
      if (node.segment_template) {
        if (!t) t = Template{};
        for (const auto& [k, v] : node.segment_template->attributes) t->attributes[k] = v;
        if (node.segment_template->has_timeline) {
          t->timeline = node.segment_template->timeline;
          t->has_timeline = true;
        }
      }
      std::vector<std::string> names;
      if (t) {
        const std::map<std::string, std::string> ids{{"RepresentationID", rep.id},
                                                      {"Bandwidth", std::to_string(rep.bandwidth)}};
        if (const std::string init = get(t->attributes, "initialization"); !init.empty())
          names.push_back(expand(init, ids, {}, where));
        for (auto& f : template_files(*t, ids, seconds, dir / node.base_url, where)) names.push_back(std::move(f));
        for (auto& n : names) n = (dir / node.base_url / n).string();
      } else if (!node.base_url.empty()) {
        names.push_back((dir / node.base_url).string());  // one file: SegmentBase or none
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
  if (out.empty()) throw Error(mpd_path + ": no video representation");
  return out;
}

void join_representation(const MpdRepresentation& rep, const std::string& out_path) {
  {
    std::ofstream out(out_path + ".tmp", std::ios::binary | std::ios::trunc);
    if (!out) throw Error(out_path + ": cannot write");
    for (const std::string& f : rep.files) {
      std::ifstream in(f, std::ios::binary);
      if (!in) throw Error(f + ": cannot read");
      out << in.rdbuf();
      if (!in.good() && !in.eof()) throw Error(f + ": read error");
    }
    out.close();
    if (!out) throw Error(out_path + ": write error");
  }
  fs::rename(out_path + ".tmp", out_path);
}

}  // namespace gearnn::tools
