#include "svg_chart.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string_view>
#include <utility>

namespace rill::perf {
namespace {

// Layout, in px. Cells are wide enough for "123.4" in 13 px type and a min-max line under it.
constexpr int kMargin = 24;
constexpr int kCellW = 84;
constexpr int kCellH = 46;
constexpr int kRowLabelW = 80;
constexpr int kColLabelH = 20;
constexpr int kPanelTitleH = 24;
constexpr int kPanelGapX = 32;
constexpr int kPanelGapY = 28;
constexpr int kMaxPanelsWidth = 1360;  // wider grids wrap their panels onto more rows
constexpr int kMinWidth = 920;         // wider when a title, a note or the panels need it
constexpr int kLineH = 18;
constexpr int kLegendBarW = 320;
constexpr int kLatRowH = 18;
constexpr int kLatHeadingH = 30;
constexpr int kLatPlotW = 460;
constexpr int kLatValuesW = 280;

constexpr std::string_view kBestColour = "#e41a1c";
constexpr std::string_view kKneeColour = "#ff7f00";
constexpr std::string_view kEmptyFill = "#eeeeee";
constexpr std::array<std::string_view, 3> kLatColours = {"#1b9e77", "#d95f02", "#7570b3"};
constexpr std::array<std::string_view, 3> kLatNames = {"p50", "p99", "p99.9"};

// Viridis at nine evenly spaced stops: perceptually uniform, readable in grey and by most
// colour-blind readers, dark for low throughput and yellow for high.
constexpr std::array<std::array<int, 3>, 9> kViridis = {{{0x44, 0x01, 0x54},
                                                         {0x47, 0x2d, 0x7b},
                                                         {0x3b, 0x52, 0x8b},
                                                         {0x2c, 0x72, 0x8e},
                                                         {0x21, 0x91, 0x8c},
                                                         {0x28, 0xae, 0x80},
                                                         {0x5e, 0xc9, 0x62},
                                                         {0xad, 0xdc, 0x30},
                                                         {0xfd, 0xe7, 0x25}}};

// Length of the valid UTF-8 sequence for an XML Char at text[i], or 0 when it is not one
// (overlong forms, surrogates, U+FFFE/U+FFFF, stray continuation bytes, truncation).
std::size_t utf8_char_length(std::string_view text, std::size_t i) {
    const auto byte = [&](std::size_t k) {
        return i + k < text.size() ? static_cast<unsigned char>(text[i + k]) : 0u;
    };
    const auto cont = [](unsigned b) { return b >= 0x80 && b <= 0xbf; };
    const unsigned b0 = byte(0);
    if (b0 >= 0xc2 && b0 <= 0xdf) return cont(byte(1)) ? 2 : 0;
    if (b0 >= 0xe0 && b0 <= 0xef) {
        const unsigned b1 = byte(1);
        if (!cont(b1) || !cont(byte(2))) return 0;
        if (b0 == 0xe0 && b1 < 0xa0) return 0;
        if (b0 == 0xed && b1 > 0x9f) return 0;
        if (b0 == 0xef && b1 == 0xbf && byte(2) >= 0xbe) return 0;
        return 3;
    }
    if (b0 >= 0xf0 && b0 <= 0xf4) {
        const unsigned b1 = byte(1);
        if (!cont(b1) || !cont(byte(2)) || !cont(byte(3))) return 0;
        if (b0 == 0xf0 && b1 < 0x90) return 0;
        if (b0 == 0xf4 && b1 > 0x8f) return 0;
        return 4;
    }
    return 0;
}

// Text for XML content and attribute values. Besides the five entities: control characters are
// dropped (XML 1.0 allows none of them, not even as &#1;), line breaks become spaces (labels are
// one line) and invalid UTF-8 becomes U+FFFD, so that any title gives a well-formed document.
std::string escape(std::string_view in) {
    std::string out;
    out.reserve(in.size());
    std::size_t i = 0;
    while (i < in.size()) {
        const auto c = static_cast<unsigned char>(in[i]);
        if (c < 0x80) {
            switch (c) {
                case '&':
                    out += "&amp;";
                    break;
                case '<':
                    out += "&lt;";
                    break;
                case '>':
                    out += "&gt;";
                    break;
                case '"':
                    out += "&quot;";
                    break;
                case '\'':
                    out += "&apos;";
                    break;
                case '\t':
                case '\n':
                case '\r':
                    out += ' ';
                    break;
                default:
                    if (c >= 0x20 && c != 0x7f) out += static_cast<char>(c);
            }
            ++i;
            continue;
        }
        const std::size_t len = utf8_char_length(in, i);
        if (len == 0) {
            out += "\xEF\xBF\xBD";
            ++i;
        } else {
            out.append(in.substr(i, len));
            i += len;
        }
    }
    return out;
}

// Locale-independent formatting (std::to_chars), so the bytes do not depend on the caller's
// setlocale().
std::string fixed(double v, int precision) {
    if (!std::isfinite(v)) return "0";
    if (v == 0) v = 0;  // no "-0"
    std::array<char, 512> buf{};
    const auto [end, ec] =
        std::to_chars(buf.data(), buf.data() + buf.size(), v, std::chars_format::fixed, precision);
    if (ec != std::errc{}) return "0";
    return std::string(buf.data(), end);
}

// A coordinate: one decimal at most.
std::string num(double v) {
    std::string s = fixed(std::round(v * 10) / 10, 1);
    if (s.size() > 2 && s.compare(s.size() - 2, 2, ".0") == 0) s.resize(s.size() - 2);
    if (s == "-0") s = "0";
    return s;
}

// Three significant digits or so: 1.23, 12.3, 123, 1234.
std::string sig3(double v) {
    if (!std::isfinite(v)) return "n/a";
    if (v <= 0) return "0";
    if (v >= 100) return fixed(v, 0);
    if (v >= 10) return fixed(v, 1);
    if (v >= 1) return fixed(v, 2);
    return fixed(v, 3);
}

std::string mips(double items_per_second) {
    if (!std::isfinite(items_per_second)) return "n/a";
    return sig3(items_per_second / 1e6);
}

std::string format_ns(double ns) {
    if (!std::isfinite(ns)) return "n/a";
    if (ns < 1e3) return sig3(ns) + " ns";
    if (ns < 1e6) return sig3(ns / 1e3) + " \xC2\xB5s";
    if (ns < 1e9) return sig3(ns / 1e6) + " ms";
    return sig3(ns / 1e9) + " s";
}

std::string decade_label(int d) {
    static constexpr std::array<std::string_view, 3> kUnits = {"ns", "\xC2\xB5s", "ms"};
    static constexpr std::array<std::string_view, 3> kScale = {"1", "10", "100"};
    if (d >= 0 && d < 9) {
        const auto u = static_cast<std::size_t>(d / 3);
        return std::string(kScale[static_cast<std::size_t>(d % 3)]) + " " + std::string(kUnits[u]);
    }
    if (d >= 9 && d < 12) return std::string(kScale[static_cast<std::size_t>(d - 9)]) + " s";
    return "1e" + std::to_string(d) + " ns";
}

std::string viridis(double t) {
    if (!std::isfinite(t)) t = 0;
    t = std::clamp(t, 0.0, 1.0);
    const double pos = t * static_cast<double>(kViridis.size() - 1);
    const std::size_t i = std::min<std::size_t>(kViridis.size() - 2, static_cast<std::size_t>(pos));
    const double f = pos - static_cast<double>(i);
    static constexpr std::string_view kHex = "0123456789abcdef";
    std::string out = "#";
    for (std::size_t ch = 0; ch < 3; ++ch) {
        const double a = kViridis[i][ch];
        const double b = kViridis[i + 1][ch];
        const auto v = static_cast<std::size_t>(std::clamp(std::lround(a + (b - a) * f), 0L, 255L));
        out += kHex[v / 16];
        out += kHex[v % 16];
    }
    return out;
}

// Viridis darkens towards 0: white text below the middle, black above.
std::string_view text_colour(double t) {
    return t < 0.55 ? "#ffffff" : "#000000";
}

double usable(double items_per_second) {
    return std::isfinite(items_per_second) && items_per_second > 0 ? items_per_second : 0;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// Median of each percentile over the samples that carry latency.
std::optional<Latency> point_latency(const Point& p) {
    std::vector<double> p50;
    std::vector<double> p99;
    std::vector<double> p999;
    for (const Sample& s : p.samples) {
        if (!s.latency) continue;
        p50.push_back(s.latency->p50_ns);
        p99.push_back(s.latency->p99_ns);
        p999.push_back(s.latency->p999_ns);
    }
    if (p50.empty()) return std::nullopt;
    return Latency{median(p50), median(p99), median(p999)};
}

std::string workers_text(unsigned workers) {
    return std::to_string(workers) + (workers == 1 ? " worker" : " workers");
}

std::string variant_text(const std::string& wait, bool chained, unsigned workers) {
    return wait + " \xC2\xB7 " + (chained ? "chained" : "unchained") + " \xC2\xB7 " +
           workers_text(workers);
}

std::string describe(const Point& p, const std::string& wait) {
    return "capacity " + std::to_string(p.config.capacity) + ", batch " +
           std::to_string(p.config.batch) + ", " + wait + ", " +
           (p.config.chained ? "chained" : "unchained") + ", " + workers_text(p.config.workers);
}

bool checksum_failed(const Point& p) {
    return !p.samples.empty() && !p.checksums_ok();
}

// Roughly the width of `text` in px at `font_px` (sans-serif averages ~0.6 em; UTF-8
// continuation bytes are not characters).
double text_width(std::string_view text, double font_px) {
    std::size_t chars = 0;
    for (const char c : text) {
        if ((static_cast<unsigned char>(c) & 0xc0) != 0x80) ++chars;
    }
    return static_cast<double>(chars) * font_px * 0.6;
}

// An SVG being written: elements are appended to `body`; the root, whose size is known only at
// the end, wraps it in finish().
class Writer {
  public:
    std::string body;

    void text(double x, double y, std::string_view content, std::string_view attrs = {}) {
        body += "<text x=\"" + num(x) + "\" y=\"" + num(y) + "\"";
        if (!attrs.empty()) {
            body += ' ';
            body += attrs;
        }
        body += '>';
        body += escape(content);
        body += "</text>\n";
    }
    void rect(double x, double y, double w, double h, std::string_view attrs) {
        body += "<rect x=\"" + num(x) + "\" y=\"" + num(y) + "\" width=\"" + num(w) +
                "\" height=\"" + num(h) + "\" ";
        body += attrs;
        body += "/>\n";
    }
    void line(double x1, double y1, double x2, double y2, std::string_view attrs) {
        body += "<line x1=\"" + num(x1) + "\" y1=\"" + num(y1) + "\" x2=\"" + num(x2) + "\" y2=\"" +
                num(y2) + "\" ";
        body += attrs;
        body += "/>\n";
    }
};

// Latency marker shapes differ as well as colours: circle p50, square p99, diamond p99.9.
void marker(Writer& w, std::size_t which, double x, double y) {
    const std::string fill = "fill=\"" + std::string(kLatColours[which]) + "\"";
    if (which == 0) {
        w.body += "<circle cx=\"" + num(x) + "\" cy=\"" + num(y) + "\" r=\"4\" " + fill + "/>\n";
    } else if (which == 1) {
        w.rect(x - 3.5, y - 3.5, 7, 7, fill);
    } else {
        w.body += "<polygon points=\"" + num(x) + "," + num(y - 5) + " " + num(x + 5) + "," +
                  num(y) + " " + num(x) + "," + num(y + 5) + " " + num(x - 5) + "," + num(y) +
                  "\" " + fill + "/>\n";
    }
}

// The points arranged for drawing: panel order, axes, and which points fall in each slot.
struct Layout {
    std::vector<std::string> wait_of;                 // to_string of each point's policy
    std::vector<std::string> waits;                   // first appearance
    std::vector<std::pair<bool, unsigned>> variants;  // (chained, workers), first appearance
    std::vector<std::size_t> capacities;              // ascending
    std::vector<std::size_t> batches;                 // ascending
    // {wait, variant, capacity, batch} ranks -> point indices (more than one only for duplicates)
    std::map<std::array<std::size_t, 4>, std::vector<std::size_t>> slots;
    std::vector<std::array<std::size_t, 4>> slot_of;  // per point
    double scale_max = 0;                             // items/s at the top of the colour scale

    explicit Layout(const std::vector<Point>& points) {
        for (const Point& p : points) {
            wait_of.push_back(to_string(p.config.wait));
            add_unique(waits, wait_of.back());
            add_unique(variants, std::pair{p.config.chained, p.config.workers});
            add_unique(capacities, p.config.capacity);
            add_unique(batches, p.config.batch);
            scale_max = std::max(scale_max, usable(p.median_items_per_second));
        }
        std::sort(capacities.begin(), capacities.end());
        std::sort(batches.begin(), batches.end());
        // All zero (or nothing usable): a scale of 0..1 M items/s keeps the legend meaningful.
        if (scale_max <= 0) scale_max = 1e6;
        for (std::size_t i = 0; i < points.size(); ++i) {
            const Config& c = points[i].config;
            const std::array<std::size_t, 4> key = {
                rank(waits, wait_of[i]), rank(variants, std::pair{c.chained, c.workers}),
                rank(capacities, c.capacity), rank(batches, c.batch)};
            slots[key].push_back(i);
            slot_of.push_back(key);
        }
    }

    [[nodiscard]] bool panel_has_points(std::size_t wait, std::size_t variant) const {
        const auto it = slots.lower_bound({wait, variant, 0, 0});
        return it != slots.end() && it->first[0] == wait && it->first[1] == variant;
    }

  private:
    template <class T>
    static void add_unique(std::vector<T>& v, const T& x) {
        if (std::find(v.begin(), v.end(), x) == v.end()) v.push_back(x);
    }
    template <class T>
    static std::size_t rank(const std::vector<T>& v, const T& x) {
        return static_cast<std::size_t>(std::find(v.begin(), v.end(), x) - v.begin());
    }
};

std::string wrap_document(const Writer& w, double width, double height, const std::string& title) {
    const std::string wi = num(std::ceil(width));
    const std::string he = num(std::ceil(height));
    std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    out += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + wi + "\" height=\"" + he +
           "\" viewBox=\"0 0 " + wi + " " + he +
           "\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"12\">\n";
    out += "<title>" + escape(title) + "</title>\n";
    out +=
        "<desc>rill-perf-report: median throughput (M items/s) over capacity x batch per wait "
        "policy, chaining and workers; latency percentiles per point where measured.</desc>\n";
    out += "<rect class=\"background\" x=\"0\" y=\"0\" width=\"" + wi + "\" height=\"" + he +
           "\" fill=\"#ffffff\"/>\n";
    out += w.body;
    out += "</svg>\n";
    return out;
}

void draw_defs(Writer& w) {
    w.body += "<defs>\n<linearGradient id=\"rill-scale\" x1=\"0\" y1=\"0\" x2=\"1\" y2=\"0\">\n";
    for (std::size_t i = 0; i < kViridis.size(); ++i) {
        const double t = static_cast<double>(i) / static_cast<double>(kViridis.size() - 1);
        w.body += "<stop offset=\"" + fixed(t, 3) + "\" stop-color=\"" + viridis(t) + "\"/>\n";
    }
    w.body += "</linearGradient>\n";
    // Hatching for noisy points: dark and light strokes so it shows on both ends of the scale.
    w.body +=
        "<pattern id=\"rill-hatch\" width=\"8\" height=\"8\" patternUnits=\"userSpaceOnUse\" "
        "patternTransform=\"rotate(45)\">\n"
        "<line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"8\" stroke=\"#000000\" stroke-opacity=\"0.35\" "
        "stroke-width=\"2\"/>\n"
        "<line x1=\"2\" y1=\"0\" x2=\"2\" y2=\"8\" stroke=\"#ffffff\" stroke-opacity=\"0.35\" "
        "stroke-width=\"2\"/>\n"
        "</pattern>\n</defs>\n";
}

struct Extent {
    double right = 0;   // the rightmost x drawn (estimated for text)
    double bottom = 0;  // the y below what was drawn
};

// Title, notes (best, knee, markers) and the colour legend.
Extent draw_header(Writer& w, const std::vector<Point>& points, const Layout& layout,
                   const Summary& summary, const std::string& title) {
    Extent extent;
    // Text whose estimated end widens the document: a long title or note is not cut off.
    const auto note = [&](double x, double y, const std::string& text, std::string_view attrs,
                          double font_px) {
        w.text(x, y, text, attrs);
        extent.right = std::max(extent.right, x + text_width(text, font_px));
    };
    double y = kMargin + 20;
    note(kMargin, y, title, "font-size=\"20\" font-weight=\"bold\"", 20);
    y += 26;
    note(kMargin, y,
         "Median throughput per point in M items/s (millions of items per second), min\xE2\x80\x93"
         "max of its runs below it. Rows: ring capacity; columns: batch size.",
         {}, 12);
    const double note_x = kMargin + 24;
    const bool best_ok = summary.best < points.size();
    const bool knee_ok = summary.knee < points.size();
    if (best_ok) {
        y += kLineH + 4;
        const Point& b = points[summary.best];
        w.rect(kMargin + 1, y - 12, 14, 14,
               "class=\"note-swatch\" fill=\"none\" stroke=\"" + std::string(kBestColour) +
                   "\" stroke-width=\"3\"");
        note(note_x, y,
             "Best: " + mips(b.median_items_per_second) + " M items/s at " +
                 describe(b, layout.wait_of[summary.best]) + ".",
             "class=\"note-best\" font-weight=\"bold\"", 12);
    }
    if (knee_ok) {
        y += kLineH + 4;
        const Point& k = points[summary.knee];
        // Says how close it is, which the reader weighs against the memory it saves.
        std::string text = "Knee (smallest capacity, then batch, near the best): " +
                           mips(k.median_items_per_second) + " M items/s";
        const double best_ips = best_ok ? usable(points[summary.best].median_items_per_second) : 0;
        if (summary.knee == summary.best) {
            text += ", the best point itself,";
        } else if (best_ips > 0) {
            text += ", " + fixed(100 * usable(k.median_items_per_second) / best_ips, 0) +
                    "% of the best,";
        }
        text += " at " + describe(k, layout.wait_of[summary.knee]) + ".";
        w.rect(kMargin + 1, y - 12, 14, 14,
               "class=\"note-swatch\" fill=\"none\" stroke=\"" + std::string(kKneeColour) +
                   "\" stroke-width=\"3\" stroke-dasharray=\"5 3\"");
        note(note_x, y, text, "class=\"note-knee\" font-weight=\"bold\"", 12);
    }
    y += kLineH + 4;
    w.rect(kMargin + 1, y - 12, 14, 14, "fill=\"#9e9e9e\"");
    w.rect(kMargin + 1, y - 12, 14, 14, "fill=\"url(#rill-hatch)\"");
    const std::string noisy =
        "* hatched: noisy point, its runs spread widely ((max \xE2\x88\x92 min) / median above "
        "the sweep's limit).";
    note(note_x, y, noisy, {}, 12);
    const double empty_x = note_x + text_width(noisy, 12) + 24;
    w.rect(empty_x, y - 12, 14, 14,
           "fill=\"" + std::string(kEmptyFill) + "\" stroke=\"#bbbbbb\" stroke-dasharray=\"3 2\"");
    note(empty_x + 22, y, "not measured", {}, 12);
    const bool any_failed = std::any_of(points.begin(), points.end(), checksum_failed);
    if (any_failed) {
        y += kLineH + 4;
        w.text(kMargin + 2, y, "\xE2\x9C\x97", "fill=\"#d00000\" font-weight=\"bold\"");
        w.text(note_x, y, "checksum failed in at least one run: that point's result was wrong.",
               "class=\"note-checksum\" fill=\"#d00000\"");
    }

    // Colour legend shared by every panel.
    y += 30;
    w.body += "<g class=\"legend\">\n";
    w.text(kMargin, y + 11, "Median throughput, M items/s:");
    const double bar_x = kMargin + 200;
    w.rect(bar_x, y, kLegendBarW, 14, "fill=\"url(#rill-scale)\" stroke=\"#555555\"");
    for (int i = 0; i <= 4; ++i) {
        const double x = bar_x + kLegendBarW * i / 4.0;
        w.line(x, y + 14, x, y + 19, "stroke=\"#555555\"");
        w.text(x, y + 31, mips(layout.scale_max * i / 4.0),
               "font-size=\"11\" text-anchor=\"middle\"");
    }
    w.body += "</g>\n";
    extent.bottom = y + 44;
    return extent;
}

void draw_cell(Writer& w, const std::vector<Point>& points, const Layout& layout,
               const Summary& summary, std::size_t i, double x, double y, double cw) {
    const Point& p = points[i];
    const double ips = usable(p.median_items_per_second);
    const double t = ips / layout.scale_max;
    const bool best = i == summary.best;
    const bool knee = i == summary.knee;
    std::string attrs = "class=\"cell\" data-capacity=\"" + std::to_string(p.config.capacity) +
                        "\" data-batch=\"" + std::to_string(p.config.batch) + "\" data-wait=\"" +
                        escape(layout.wait_of[i]) + "\" data-chained=\"" +
                        (p.config.chained ? "true" : "false") + "\" data-workers=\"" +
                        std::to_string(p.config.workers) + "\" data-mips=\"" + fixed(ips / 1e6, 3) +
                        "\" data-noisy=\"" + (p.noisy ? "true" : "false") + "\" data-best=\"" +
                        (best ? "true" : "false") + "\" data-knee=\"" + (knee ? "true" : "false") +
                        "\" fill=\"" + viridis(t) + "\" stroke=\"#ffffff\" stroke-width=\"1\"";
    // The tooltip is the rect's child, so each point stays a single element.
    std::string tip = describe(p, layout.wait_of[i]) + ": median " +
                      mips(p.median_items_per_second) + " M items/s (min " +
                      mips(p.min_items_per_second) + ", max " + mips(p.max_items_per_second) +
                      "), " + sig3(p.ns_per_item()) + " ns/item, " +
                      std::to_string(p.samples.size()) + " runs";
    if (p.noisy) tip += ", noisy";
    if (checksum_failed(p)) tip += ", CHECKSUM FAILED";
    if (best) tip += ", best";
    if (knee) tip += ", knee";
    w.body += "<rect x=\"" + num(x) + "\" y=\"" + num(y) + "\" width=\"" + num(cw) +
              "\" height=\"" + num(kCellH) + "\" " + attrs + "><title>" + escape(tip) +
              "</title></rect>\n";
    if (p.noisy) w.rect(x, y, cw, kCellH, "class=\"noisy-hatch\" fill=\"url(#rill-hatch)\"");
    const std::string colour = "fill=\"" + std::string(text_colour(t)) + "\"";
    const double cx = x + cw / 2;
    w.text(
        cx, y + 27, mips(p.median_items_per_second) + (p.noisy ? "*" : ""),
        "class=\"value\" font-size=\"13\" font-weight=\"bold\" text-anchor=\"middle\" " + colour);
    w.text(cx, y + 40, mips(p.min_items_per_second) + "\xE2\x80\x93" + mips(p.max_items_per_second),
           "font-size=\"9\" text-anchor=\"middle\" " + colour);
    if (best || knee) {
        const std::string tag = best && knee ? "best, knee" : best ? "best" : "knee";
        w.text(x + 5, y + 12, tag, "class=\"tag\" font-size=\"9\" font-weight=\"bold\" " + colour);
    }
    if (checksum_failed(p)) {
        w.text(x + cw - 5, y + 12, "\xE2\x9C\x97",
               "class=\"checksum-failed\" font-size=\"11\" font-weight=\"bold\" "
               "text-anchor=\"end\" fill=\"#d00000\"");
    }
    // Outlines inside the cell so that neighbours do not cover them; the knee's nested inside
    // the best's when they are the same point.
    if (best) {
        w.rect(x + 1.5, y + 1.5, std::max(0.0, cw - 3), kCellH - 3,
               "class=\"best-outline\" fill=\"none\" stroke=\"" + std::string(kBestColour) +
                   "\" stroke-width=\"3\"");
    }
    if (knee) {
        const double in = best ? 5 : 1.5;
        w.rect(x + in, y + in, std::max(0.0, cw - 2 * in), kCellH - 2 * in,
               "class=\"knee-outline\" fill=\"none\" stroke=\"" + std::string(kKneeColour) +
                   "\" stroke-width=\"3\" stroke-dasharray=\"6 3\"");
    }
}

Extent draw_panels(Writer& w, const std::vector<Point>& points, const Layout& layout,
                   const Summary& summary, double top) {
    const double panel_w = kRowLabelW + static_cast<double>(layout.batches.size()) * kCellW;
    const double grid_h = static_cast<double>(layout.capacities.size()) * kCellH;
    const double panel_h = kPanelTitleH + kColLabelH + grid_h;
    const std::size_t fit = std::max<std::size_t>(
        1, static_cast<std::size_t>((kMaxPanelsWidth + kPanelGapX) / (panel_w + kPanelGapX)));
    const std::size_t ncols = std::min(layout.variants.size(), fit);

    Extent result;
    std::size_t slot = 0;
    for (std::size_t wi = 0; wi < layout.waits.size(); ++wi) {
        for (std::size_t vi = 0; vi < layout.variants.size(); ++vi, ++slot) {
            const double px = kMargin + static_cast<double>(slot % ncols) * (panel_w + kPanelGapX);
            const double py = top + static_cast<double>(slot / ncols) * (panel_h + kPanelGapY);
            result.right = std::max(result.right, px + panel_w);
            result.bottom = std::max(result.bottom, py + panel_h);
            const auto [chained, workers] = layout.variants[vi];
            const bool measured = layout.panel_has_points(wi, vi);
            w.body += std::string("<g class=\"") + (measured ? "panel" : "panel-missing") +
                      "\" data-wait=\"" + escape(layout.waits[wi]) + "\" data-chained=\"" +
                      (chained ? "true" : "false") + "\" data-workers=\"" +
                      std::to_string(workers) + "\">\n";
            std::string heading = variant_text(layout.waits[wi], chained, workers);
            if (!measured) heading += " \xE2\x80\x94 not measured";
            w.text(px + kRowLabelW, py + 16, heading, "font-size=\"13\" font-weight=\"bold\"");
            const double gx = px + kRowLabelW;
            const double gy = py + kPanelTitleH + kColLabelH;
            for (std::size_t bi = 0; bi < layout.batches.size(); ++bi) {
                w.text(gx + (static_cast<double>(bi) + 0.5) * kCellW, gy - 6,
                       "batch " + std::to_string(layout.batches[bi]),
                       "font-size=\"11\" text-anchor=\"middle\"");
            }
            for (std::size_t ci = 0; ci < layout.capacities.size(); ++ci) {
                w.text(gx - 8, gy + static_cast<double>(ci) * kCellH + kCellH / 2.0 + 4,
                       "cap " + std::to_string(layout.capacities[ci]),
                       "font-size=\"11\" text-anchor=\"end\"");
            }
            if (!measured) {
                const double grid_w = static_cast<double>(layout.batches.size()) * kCellW;
                w.rect(gx, gy, grid_w, grid_h,
                       "class=\"empty-panel\" fill=\"#f7f7f7\" stroke=\"#bbbbbb\" "
                       "stroke-dasharray=\"4 3\"");
                w.text(gx + grid_w / 2, gy + grid_h / 2 + 4, "not measured",
                       "font-size=\"12\" text-anchor=\"middle\" fill=\"#777777\"");
                w.body += "</g>\n";
                continue;
            }
            for (std::size_t ci = 0; ci < layout.capacities.size(); ++ci) {
                for (std::size_t bi = 0; bi < layout.batches.size(); ++bi) {
                    const double x = gx + static_cast<double>(bi) * kCellW;
                    const double y = gy + static_cast<double>(ci) * kCellH;
                    const auto it = layout.slots.find({wi, vi, ci, bi});
                    if (it == layout.slots.end()) {
                        w.rect(x, y, kCellW, kCellH,
                               "class=\"empty\" fill=\"" + std::string(kEmptyFill) +
                                   "\" stroke=\"#ffffff\" stroke-width=\"1\"");
                        w.text(x + kCellW / 2.0, y + kCellH / 2.0 + 3, "not measured",
                               "font-size=\"9\" text-anchor=\"middle\" fill=\"#777777\"");
                        continue;
                    }
                    // Duplicated settings (a caller's grid listing a value twice) split the slot
                    // so that each point still has its own cell.
                    const std::vector<std::size_t>& here = it->second;
                    const double cw = kCellW / static_cast<double>(here.size());
                    for (std::size_t k = 0; k < here.size(); ++k) {
                        draw_cell(w, points, layout, summary, here[k],
                                  x + static_cast<double>(k) * cw, y, cw);
                    }
                }
            }
            w.body += "</g>\n";
        }
    }
    return result;
}

// Rows of p50/p99/p99.9 dots on a shared log axis, one per point that measured latency, grouped
// under the panels' headings (which repeat the axis labels, so a long list stays readable) in
// the panels' order. Draws nothing when no point has latency.
Extent draw_latency(Writer& w, const std::vector<Point>& points, const Layout& layout, double top) {
    struct Row {
        std::size_t point;
        Latency latency;
        std::string heading;  // non-empty on the first row of a panel
        std::string label;
    };
    std::vector<Row> rows;
    std::vector<std::size_t> order(points.size());
    for (std::size_t i = 0; i < order.size(); ++i)
        order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return layout.slot_of[a] < layout.slot_of[b];
    });
    double lo = 0;
    double hi = 0;
    double label_w = 160;
    std::string last_heading;
    for (const std::size_t i : order) {
        const std::optional<Latency> lat = point_latency(points[i]);
        if (!lat) continue;
        const Config& c = points[i].config;
        std::string heading = variant_text(layout.wait_of[i], c.chained, c.workers);
        std::string label =
            "cap " + std::to_string(c.capacity) + " \xC2\xB7 batch " + std::to_string(c.batch);
        label_w = std::max({label_w, text_width(label, 11) + 24, text_width(heading, 13) + 16});
        for (const double v : {lat->p50_ns, lat->p99_ns, lat->p999_ns}) {
            if (!std::isfinite(v) || v <= 0) continue;
            lo = lo > 0 ? std::min(lo, v) : v;
            hi = std::max(hi, v);
        }
        if (heading == last_heading) {
            heading.clear();
        } else {
            last_heading = heading;
        }
        rows.push_back({i, *lat, std::move(heading), std::move(label)});
    }
    if (rows.empty()) return {0, top};

    // Whole decades; values at or below zero sit on the left edge.
    int d_lo = lo > 0 ? static_cast<int>(std::floor(std::log10(lo))) : 0;
    int d_hi = hi > 0 ? static_cast<int>(std::ceil(std::log10(hi))) : 1;
    d_lo = std::clamp(d_lo, -3, 15);
    d_hi = std::clamp(d_hi, d_lo + 1, 16);
    const double left = kMargin + label_w;
    const auto xpos = [&](double v) {
        const double lv = std::isfinite(v) && v > 0 ? std::log10(v) : d_lo;
        const double t = std::clamp((lv - d_lo) / (d_hi - d_lo), 0.0, 1.0);
        return left + t * kLatPlotW;
    };

    double y = top + 30;
    w.body += "<g class=\"latency-section\">\n";
    w.text(kMargin, y, "End-to-end latency per point (log scale, median of the runs)",
           "font-size=\"15\" font-weight=\"bold\"");
    y += 22;
    double lx = kMargin;
    for (std::size_t k = 0; k < 3; ++k) {
        marker(w, k, lx + 5, y - 4);
        w.text(lx + 14, y, kLatNames[k]);
        lx += 70;
    }
    y += 8;
    const double row_w = label_w + kLatPlotW + kLatValuesW;
    std::size_t stripe = 0;
    for (const Row& row : rows) {
        if (!row.heading.empty()) {
            y += kLatHeadingH;
            w.text(kMargin, y - 6, row.heading, "font-size=\"13\" font-weight=\"bold\"");
            for (int d = d_lo; d <= d_hi; ++d) {
                w.text(xpos(std::pow(10.0, d)), y - 6, decade_label(d),
                       "font-size=\"10\" text-anchor=\"middle\" fill=\"#555555\"");
            }
            stripe = 0;
        }
        const Config& c = points[row.point].config;
        const double cy = y + kLatRowH / 2.0;
        w.body += "<g class=\"latency\" data-capacity=\"" + std::to_string(c.capacity) +
                  "\" data-batch=\"" + std::to_string(c.batch) + "\" data-wait=\"" +
                  escape(layout.wait_of[row.point]) + "\" data-chained=\"" +
                  (c.chained ? "true" : "false") + "\" data-workers=\"" +
                  std::to_string(c.workers) + "\">\n";
        if (stripe++ % 2 == 0) w.rect(kMargin, y, row_w, kLatRowH, "fill=\"#f2f2f2\"");
        for (int d = d_lo; d <= d_hi; ++d) {
            const double x = xpos(std::pow(10.0, d));
            w.line(x, y, x, y + kLatRowH, "stroke=\"#cccccc\"");
        }
        w.text(left - 10, y + 13, row.label, "font-size=\"11\" text-anchor=\"end\"");
        const std::array<double, 3> v = {row.latency.p50_ns, row.latency.p99_ns,
                                         row.latency.p999_ns};
        const auto [mn, mx] = std::minmax({xpos(v[0]), xpos(v[1]), xpos(v[2])});
        w.line(mn, cy, mx, cy, "stroke=\"#888888\" stroke-width=\"1.5\"");
        for (std::size_t k = 0; k < 3; ++k)
            marker(w, k, xpos(v[k]), cy);
        w.text(left + kLatPlotW + 12, y + 13,
               "p50 " + format_ns(v[0]) + " \xC2\xB7 p99 " + format_ns(v[1]) + " \xC2\xB7 p99.9 " +
                   format_ns(v[2]),
               "font-size=\"10\"");
        w.body += "</g>\n";
        y += kLatRowH;
    }
    w.body += "</g>\n";
    return {kMargin + row_w, y};
}

}  // namespace

std::string render_svg(const std::vector<Point>& points, const Summary& summary,
                       const std::string& title) {
    Writer w;
    if (points.empty()) {
        w.text(kMargin, kMargin + 20, title, "font-size=\"20\" font-weight=\"bold\"");
        w.text(kMargin, kMargin + 50, "No points were measured.", "class=\"note-empty\"");
        return wrap_document(w, std::max<double>(kMinWidth, 2 * kMargin + text_width(title, 20)),
                             kMargin + 80, title);
    }
    const Layout layout(points);
    draw_defs(w);
    const Extent header = draw_header(w, points, layout, summary, title);
    const Extent panels = draw_panels(w, points, layout, summary, header.bottom);
    const Extent latency = draw_latency(w, points, layout, panels.bottom);
    const double width = std::max({static_cast<double>(kMinWidth), header.right + kMargin,
                                   panels.right + kMargin, latency.right + kMargin});
    return wrap_document(w, width, std::max(panels.bottom, latency.bottom) + kMargin, title);
}

}  // namespace rill::perf
