// render_svg: well-formed XML, one cell per point, best and knee marked, text escaped, the same
// bytes for the same input, and the edge cases (one point, missing settings, zero throughput).
// The XML checker below is deliberately strict (no DTD, only the five predefined entities) so
// that what passes here also parses in a browser and in xmllint.

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "svg_chart.hpp"

namespace {

using rill::WaitPolicy;
using rill::perf::Config;
using rill::perf::Latency;
using rill::perf::Point;
using rill::perf::render_svg;
using rill::perf::Sample;
using rill::perf::Summary;

struct Element {
    std::string name;
    std::map<std::string, std::string> attrs;  // values with references decoded
    std::string text;                          // direct character data, decoded
    std::size_t parent = 0;                    // index in Xml::elements; the root's is itself
};

struct Xml {
    std::string error;  // empty when the document is well-formed
    std::vector<Element> elements;

    [[nodiscard]] std::vector<const Element*> all(std::string_view name,
                                                  std::string_view cls = {}) const {
        std::vector<const Element*> out;
        for (const Element& e : elements) {
            if (e.name != name) continue;
            if (!cls.empty()) {
                const auto it = e.attrs.find("class");
                if (it == e.attrs.end() || it->second != cls) continue;
            }
            out.push_back(&e);
        }
        return out;
    }
    [[nodiscard]] std::string all_text() const {
        std::string out;
        for (const Element& e : elements)
            out += e.text + "\n";
        return out;
    }
};

void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xc0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xe0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
        out += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
        out += static_cast<char>(0xf0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
        out += static_cast<char>(0x80 | (cp & 0x3f));
    }
}

bool xml_char(std::uint32_t cp) {
    return cp == 0x9 || cp == 0xa || cp == 0xd || (cp >= 0x20 && cp <= 0xd7ff) ||
           (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
}

// A strict parser for the XML subset an SVG needs: prolog, comments, processing instructions,
// CDATA, elements, attributes and the five predefined entities plus character references.
class Parser {
  public:
    explicit Parser(std::string_view doc) : s_(doc) {}

    Xml parse() {
        Xml xml;
        try {
            check_encoding();
            if (starts("<?xml")) skip_pi();
            misc();
            if (!starts("<") || starts("</")) fail("no root element");
            element(xml, 0);
            misc();
            if (pos_ != s_.size()) fail("content after the root element");
        } catch (const std::string& e) {
            xml.error = e;
        }
        return xml;
    }

  private:
    std::string_view s_;
    std::size_t pos_ = 0;

    [[noreturn]] void fail(const std::string& what) const {
        throw what + " at byte " + std::to_string(pos_);
    }
    bool starts(std::string_view t) const { return s_.substr(pos_, t.size()) == t; }
    bool at_end() const { return pos_ >= s_.size(); }
    char peek() const { return at_end() ? '\0' : s_[pos_]; }
    static bool space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
    static bool name_start(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    }
    static bool name_char(char c) {
        return name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.';
    }
    void skip_space() {
        while (!at_end() && space(peek()))
            ++pos_;
    }

    // Every byte valid UTF-8 and every character an XML Char.
    void check_encoding() {
        std::size_t i = 0;
        const auto bad = [&](const char* what) {
            pos_ = i;
            fail(what);
        };
        while (i < s_.size()) {
            const auto b0 = static_cast<unsigned char>(s_[i]);
            std::uint32_t cp = b0;
            std::size_t len = 1;
            if (b0 >= 0xc2 && b0 <= 0xdf) {
                len = 2;
                cp = b0 & 0x1fu;
            } else if (b0 >= 0xe0 && b0 <= 0xef) {
                len = 3;
                cp = b0 & 0x0fu;
            } else if (b0 >= 0xf0 && b0 <= 0xf4) {
                len = 4;
                cp = b0 & 0x07u;
            } else if (b0 >= 0x80) {
                bad("invalid UTF-8 lead byte");
            }
            if (i + len > s_.size()) bad("truncated UTF-8");
            for (std::size_t k = 1; k < len; ++k) {
                const auto b = static_cast<unsigned char>(s_[i + k]);
                if ((b & 0xc0) != 0x80) bad("invalid UTF-8 continuation");
                cp = (cp << 6) | (b & 0x3fu);
            }
            const std::uint32_t min = len == 2 ? 0x80 : len == 3 ? 0x800 : len == 4 ? 0x10000 : 0;
            if (cp < min) bad("overlong UTF-8");
            if (!xml_char(cp)) bad("character not allowed in XML");
            i += len;
        }
    }

    void skip_pi() {
        const std::size_t end = s_.find("?>", pos_);
        if (end == std::string_view::npos) fail("unterminated processing instruction");
        pos_ = end + 2;
    }
    void skip_comment() {
        const std::size_t end = s_.find("-->", pos_ + 4);
        if (end == std::string_view::npos) fail("unterminated comment");
        if (s_.substr(pos_ + 4, end - pos_ - 4).find("--") != std::string_view::npos) {
            fail("'--' inside a comment");
        }
        pos_ = end + 3;
    }
    void misc() {
        for (;;) {
            skip_space();
            if (starts("<!--")) {
                skip_comment();
            } else if (starts("<?")) {
                skip_pi();
            } else if (starts("<!")) {
                fail("DOCTYPE or declaration not allowed");
            } else {
                return;
            }
        }
    }

    std::string name() {
        if (!name_start(peek())) fail("expected a name");
        const std::size_t start = pos_;
        while (!at_end() && name_char(peek()))
            ++pos_;
        return std::string(s_.substr(start, pos_ - start));
    }

    // At '&': appends the decoded reference.
    void reference(std::string& out) {
        const std::size_t semi = s_.find(';', pos_);
        if (semi == std::string_view::npos || semi - pos_ > 12) fail("'&' without a reference");
        const std::string_view ref = s_.substr(pos_ + 1, semi - pos_ - 1);
        static const std::map<std::string_view, char> kNamed = {
            {"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}};
        if (const auto it = kNamed.find(ref); it != kNamed.end()) {
            out += it->second;
        } else if (ref.size() >= 2 && ref[0] == '#') {
            const bool hex = ref[1] == 'x';
            const std::string_view digits = ref.substr(hex ? 2 : 1);
            if (digits.empty()) fail("empty character reference");
            std::uint32_t cp = 0;
            for (const char c : digits) {
                std::uint32_t d = 0;
                if (c >= '0' && c <= '9') {
                    d = static_cast<std::uint32_t>(c - '0');
                } else if (hex && c >= 'a' && c <= 'f') {
                    d = static_cast<std::uint32_t>(c - 'a' + 10);
                } else if (hex && c >= 'A' && c <= 'F') {
                    d = static_cast<std::uint32_t>(c - 'A' + 10);
                } else {
                    fail("bad character reference");
                }
                cp = cp * (hex ? 16u : 10u) + d;
                if (cp > 0x10ffff) fail("character reference out of range");
            }
            if (!xml_char(cp)) fail("character reference to a character XML does not allow");
            append_utf8(out, cp);
        } else {
            fail("unknown entity '&" + std::string(ref) + ";'");
        }
        pos_ = semi + 1;
    }

    void element(Xml& xml, std::size_t parent) {
        ++pos_;  // '<'
        const std::size_t index = xml.elements.size();
        xml.elements.push_back({});
        xml.elements[index].name = name();
        xml.elements[index].parent = index == 0 ? 0 : parent;
        for (;;) {
            const bool had_space = space(peek());
            skip_space();
            if (starts("/>")) {
                pos_ += 2;
                return;
            }
            if (peek() == '>') {
                ++pos_;
                break;
            }
            if (!had_space) fail("attributes must be separated by white space");
            const std::string attr = name();
            skip_space();
            if (peek() != '=') fail("attribute '" + attr + "' without '='");
            ++pos_;
            skip_space();
            const char quote = peek();
            if (quote != '"' && quote != '\'') fail("attribute '" + attr + "' not quoted");
            ++pos_;
            std::string value;
            while (peek() != quote) {
                if (at_end()) fail("unterminated attribute value");
                if (peek() == '<') fail("'<' in an attribute value");
                if (peek() == '&') {
                    reference(value);
                } else {
                    value += s_[pos_++];
                }
            }
            ++pos_;
            if (!xml.elements[index].attrs.emplace(attr, value).second) {
                fail("duplicate attribute '" + attr + "'");
            }
        }
        // Content up to the matching end tag.
        for (;;) {
            if (at_end()) fail("unclosed <" + xml.elements[index].name + ">");
            if (starts("</")) {
                pos_ += 2;
                const std::string closing = name();
                skip_space();
                if (peek() != '>') fail("malformed end tag");
                ++pos_;
                if (closing != xml.elements[index].name) {
                    fail("</" + closing + "> closes <" + xml.elements[index].name + ">");
                }
                return;
            }
            if (starts("<!--")) {
                skip_comment();
            } else if (starts("<![CDATA[")) {
                const std::size_t end = s_.find("]]>", pos_);
                if (end == std::string_view::npos) fail("unterminated CDATA");
                xml.elements[index].text += s_.substr(pos_ + 9, end - pos_ - 9);
                pos_ = end + 3;
            } else if (starts("<?")) {
                skip_pi();
            } else if (starts("<!")) {
                fail("declaration inside an element");
            } else if (peek() == '<') {
                element(xml, index);
            } else if (peek() == '&') {
                reference(xml.elements[index].text);
            } else {
                if (starts("]]>")) fail("']]>' in character data");
                xml.elements[index].text += s_[pos_++];
            }
        }
    }
};

Xml parse_xml(std::string_view doc) {
    return Parser(doc).parse();
}

std::string attr(const Element& e, const std::string& name) {
    const auto it = e.attrs.find(name);
    return it == e.attrs.end() ? std::string("<missing>") : it->second;
}

using Key = std::tuple<std::size_t, std::size_t, std::string, bool, unsigned>;

Key key_of(const Point& p) {
    return {p.config.capacity, p.config.batch, rill::to_string(p.config.wait), p.config.chained,
            p.config.workers};
}

Key key_of(const Element& cell) {
    return {std::stoul(attr(cell, "data-capacity")), std::stoul(attr(cell, "data-batch")),
            attr(cell, "data-wait"), attr(cell, "data-chained") == "true",
            static_cast<unsigned>(std::stoul(attr(cell, "data-workers")))};
}

Point make_point(std::size_t capacity, std::size_t batch, WaitPolicy wait, bool chained,
                 double items_per_second, unsigned workers = 2) {
    Point p;
    p.config = Config{capacity, batch, wait, chained, workers};
    Sample s;
    s.items = 1000;
    s.seconds = items_per_second > 0 ? 1000 / items_per_second : 0;
    s.checksum_ok = true;
    p.samples = {s, s, s};
    p.median_items_per_second = items_per_second;
    p.min_items_per_second = items_per_second * 0.98;
    p.max_items_per_second = items_per_second * 1.02;
    return p;
}

// capacity {64, 1024} x batch {1, 64} x {busy-spin, spin-park:256:8} x chained/unchained, less
// (1024, 1, busy-spin, unchained): 15 points in 4 panels, one slot not measured.
std::vector<Point> grid_with_hole() {
    std::vector<Point> points;
    for (const WaitPolicy w : {WaitPolicy::busy_spin(), WaitPolicy::spin_park(256)}) {
        for (const bool chained : {true, false}) {
            for (const std::size_t cap : {64u, 1024u}) {
                for (const std::size_t batch : {1u, 64u}) {
                    if (w == WaitPolicy::busy_spin() && !chained && cap == 1024 && batch == 1) {
                        continue;
                    }
                    const double ips = 1e6 * static_cast<double>(cap / 16 + batch) *
                                       (chained ? 2.0 : 1.0) *
                                       (w == WaitPolicy::busy_spin() ? 1.0 : 0.9);
                    points.push_back(make_point(cap, batch, w, chained, ips));
                }
            }
        }
    }
    return points;
}

std::size_t count(std::string_view haystack, std::string_view needle) {
    std::size_t n = 0;
    for (std::size_t at = haystack.find(needle); at != std::string_view::npos;
         at = haystack.find(needle, at + needle.size())) {
        ++n;
    }
    return n;
}

// The checks every chart must pass: well-formed, an SVG root with its size, one cell per point.
Xml check_chart(const std::string& svg, const std::vector<Point>& points) {
    Xml xml = parse_xml(svg);
    INFO(svg.substr(0, 2000));
    REQUIRE(xml.error.empty());
    const Element& root = xml.elements.at(0);
    CHECK(root.name == "svg");
    CHECK(attr(root, "xmlns") == "http://www.w3.org/2000/svg");
    const std::string width = attr(root, "width");
    const std::string height = attr(root, "height");
    CHECK(std::stod(width) > 0);
    CHECK(std::stod(height) > 0);
    CHECK(attr(root, "viewBox") == "0 0 " + width + " " + height);

    std::multiset<Key> expected;
    for (const Point& p : points)
        expected.insert(key_of(p));
    std::multiset<Key> drawn;
    for (const Element* cell : xml.all("rect", "cell"))
        drawn.insert(key_of(*cell));
    CHECK(drawn == expected);
    CHECK(count(svg, "class=\"cell\"") == points.size());
    // Browsers report negative sizes as errors.
    for (const Element* r : xml.all("rect")) {
        CHECK(std::stod(attr(*r, "width")) >= 0);
        CHECK(std::stod(attr(*r, "height")) >= 0);
    }
    return xml;
}

}  // namespace

TEST_CASE("the XML checker rejects what is not well-formed", "[svg]") {
    CHECK(parse_xml("<a x=\"1\"><b/>t &amp; &#x3C; &#60;</a>").error.empty());
    CHECK(parse_xml("<?xml version=\"1.0\"?>\n<!-- c --><a/>\n").error.empty());
    CHECK_FALSE(parse_xml("<a><b></a></b>").error.empty());
    CHECK_FALSE(parse_xml("<a><b></a>").error.empty());
    CHECK_FALSE(parse_xml("<a x=1/>").error.empty());
    CHECK_FALSE(parse_xml("<a x=\"1\"y=\"2\"/>").error.empty());
    CHECK_FALSE(parse_xml("<a x=\"1\" x=\"2\"/>").error.empty());
    CHECK_FALSE(parse_xml("<a x=\"<\"/>").error.empty());
    CHECK_FALSE(parse_xml("<a>&nbsp;</a>").error.empty());
    CHECK_FALSE(parse_xml("<a>& b</a>").error.empty());
    CHECK_FALSE(parse_xml("<a>&#0;</a>").error.empty());
    CHECK_FALSE(parse_xml("<a>x < y</a>").error.empty());
    CHECK_FALSE(parse_xml("<a/><b/>").error.empty());
    CHECK_FALSE(parse_xml("<a>\x01</a>").error.empty());
    CHECK_FALSE(parse_xml("<a>\xff</a>").error.empty());
    CHECK_FALSE(parse_xml("<a><!-- x -- y --></a>").error.empty());
    CHECK_FALSE(parse_xml("text").error.empty());
}

TEST_CASE("a 2x2x2x2 grid with a hole: one cell per point, best and knee marked", "[svg]") {
    std::vector<Point> points = grid_with_hole();
    REQUIRE(points.size() == 15);
    points[4].noisy = true;
    Summary summary;
    summary.best = static_cast<std::size_t>(std::max_element(points.begin(), points.end(),
                                                             [](const Point& a, const Point& b) {
                                                                 return a.median_items_per_second <
                                                                        b.median_items_per_second;
                                                             }) -
                                            points.begin());
    summary.knee = 1;
    REQUIRE(summary.best != summary.knee);
    const std::string svg = render_svg(points, summary, "chain: quick sweep");
    const Xml xml = check_chart(svg, points);

    // Four panels, one per (wait, chained, workers); the hole is an empty slot, not a cell.
    CHECK(xml.all("g", "panel").size() == 4);
    CHECK(xml.all("g", "panel-missing").empty());
    const auto empty = xml.all("rect", "empty");
    REQUIRE(empty.size() == 1);
    CHECK(empty[0]->attrs.count("data-capacity") == 0);
    CHECK(xml.all_text().find("not measured") != std::string::npos);
    const Element& hole_panel = xml.elements[empty[0]->parent];
    CHECK(attr(hole_panel, "data-wait") == "busy-spin");
    CHECK(attr(hole_panel, "data-chained") == "false");

    // Best and knee: exactly one cell each, the right ones, outlined and described.
    std::vector<const Element*> best;
    std::vector<const Element*> knee;
    for (const Element* cell : xml.all("rect", "cell")) {
        if (attr(*cell, "data-best") == "true") best.push_back(cell);
        if (attr(*cell, "data-knee") == "true") knee.push_back(cell);
    }
    REQUIRE(best.size() == 1);
    REQUIRE(knee.size() == 1);
    CHECK(key_of(*best[0]) == key_of(points[summary.best]));
    CHECK(key_of(*knee[0]) == key_of(points[summary.knee]));
    CHECK(xml.all("rect", "best-outline").size() == 1);
    CHECK(xml.all("rect", "knee-outline").size() == 1);
    const auto best_note = xml.all("text", "note-best");
    REQUIRE(best_note.size() == 1);
    CHECK(best_note[0]->text.find("Best: 256 M items/s at capacity 1024, batch 64, busy-spin, "
                                  "chained, 2 workers") != std::string::npos);
    const auto knee_note = xml.all("text", "note-knee");
    REQUIRE(knee_note.size() == 1);
    CHECK(knee_note[0]->text.find("Knee (smallest capacity, then batch, near the best): 136 M "
                                  "items/s, 53% of the best,") != std::string::npos);
    CHECK(knee_note[0]->text.find("capacity 64, batch 64, busy-spin, chained") !=
          std::string::npos);
    CHECK(attr(*best[0], "data-mips") == "256.000");

    // The noisy point: hatched and starred, and no other.
    std::vector<const Element*> noisy;
    for (const Element* cell : xml.all("rect", "cell")) {
        if (attr(*cell, "data-noisy") == "true") noisy.push_back(cell);
    }
    REQUIRE(noisy.size() == 1);
    CHECK(key_of(*noisy[0]) == key_of(points[4]));
    CHECK(xml.all("rect", "noisy-hatch").size() == 1);
    std::size_t starred = 0;
    for (const Element* v : xml.all("text", "value"))
        starred += v->text.back() == '*' ? 1 : 0;
    CHECK(starred == 1);

    // A legend for the shared colour scale; no latency section without latency.
    CHECK(xml.all("g", "legend").size() == 1);
    CHECK(xml.all("linearGradient").size() == 1);
    CHECK(xml.all("g", "latency-section").empty());
}

TEST_CASE("best and knee on the same point get both outlines", "[svg]") {
    const std::vector<Point> points = grid_with_hole();
    const Summary summary{3, 3};
    const Xml xml = check_chart(render_svg(points, summary, "t"), points);
    CHECK(xml.all("rect", "best-outline").size() == 1);
    CHECK(xml.all("rect", "knee-outline").size() == 1);
    CHECK(xml.all_text().find("the best point itself") != std::string::npos);
}

TEST_CASE("the title and other text are escaped", "[svg]") {
    const std::vector<Point> points = {make_point(64, 1, WaitPolicy::busy_spin(), true, 5e6)};
    const std::string title = "<script>&\"x\"</script> 'q' \xC2\xB5";
    const std::string svg = render_svg(points, Summary{}, title);
    const Xml xml = check_chart(svg, points);
    CHECK(svg.find("&lt;script&gt;&amp;&quot;x&quot;&lt;/script&gt; &apos;q&apos;") !=
          std::string::npos);
    CHECK(svg.find("<script") == std::string::npos);
    const auto titles = xml.all("title");
    REQUIRE_FALSE(titles.empty());
    CHECK(titles[0]->text == title);

    // Characters XML cannot carry at all: control characters go, invalid UTF-8 becomes U+FFFD.
    const std::string svg2 = render_svg(points, Summary{}, std::string("a\x01\x1b[0m\xff\xc3z\n"));
    const Xml xml2 = check_chart(svg2, points);
    CHECK(xml2.all("title")[0]->text == "a[0m\xEF\xBF\xBD\xEF\xBF\xBDz ");
}

TEST_CASE("the chart is self-contained and deterministic", "[svg]") {
    std::vector<Point> points = grid_with_hole();
    for (Point& p : points)
        p.samples[0].latency = Latency{1e3, 5e3, 2e4};
    const Summary summary{2, 0};
    const std::string svg = render_svg(points, summary, "t");
    CHECK(svg == render_svg(points, summary, "t"));
    check_chart(svg, points);
    for (const std::string_view banned :
         {"<script", "<image", "<style", "<foreignObject", "href", "@import", "@font-face",
          "http://www.w3.org/1999", "https:", "file:"}) {
        INFO(banned);
        CHECK(svg.find(banned) == std::string::npos);
    }
    // The only URL references are to the document's own gradient and hatching.
    CHECK(count(svg, "url(") == count(svg, "url(#rill-"));
    // Only the namespace URL is an absolute one.
    CHECK(count(svg, "http") == 1);
}

TEST_CASE("latency percentiles are drawn for the points that carry them", "[svg]") {
    std::vector<Point> points = grid_with_hole();
    std::size_t with_latency = 0;
    for (std::size_t i = 0; i < points.size(); i += 2) {
        Point& p = points[i];
        p.samples[0].latency = Latency{800, 4000, 90000};
        p.samples[1].latency = Latency{1000, 5000, 120000};
        p.samples[2].latency = Latency{1200, 6000, 100000};
        ++with_latency;
    }
    points[0].samples[1].latency = Latency{0, 0, 0};  // zero latency: on the axis' left edge
    const std::string svg = render_svg(points, Summary{}, "latency");
    const Xml xml = check_chart(svg, points);
    CHECK(xml.all("g", "latency-section").size() == 1);
    const auto rows = xml.all("g", "latency");
    CHECK(rows.size() == with_latency);
    // Medians over the runs: p50 1 µs, p99 5 µs, p99.9 100 µs for points[2].
    const std::string text = xml.all_text();
    CHECK(
        text.find("p50 1.00 \xC2\xB5s \xC2\xB7 p99 5.00 \xC2\xB5s \xC2\xB7 p99.9 100 \xC2\xB5s") !=
        std::string::npos);
    CHECK(text.find("100 \xC2\xB5s") != std::string::npos);  // a decade on the axis
}

TEST_CASE("edge cases: one point, zero throughput, missing panels, duplicates, bad input",
          "[svg]") {
    SECTION("one point") {
        const std::vector<Point> points = {
            make_point(1024, 64, WaitPolicy::spin_park(), true, 4e7)};
        const Xml xml = check_chart(render_svg(points, Summary{}, "one"), points);
        CHECK(xml.all("g", "panel").size() == 1);
        CHECK(xml.all("rect", "empty").empty());
        CHECK(xml.all("rect", "best-outline").size() == 1);
    }
    SECTION("zero throughput everywhere") {
        std::vector<Point> points = grid_with_hole();
        for (Point& p : points) {
            p.median_items_per_second = p.min_items_per_second = p.max_items_per_second = 0;
            for (Sample& s : p.samples)
                s.seconds = 0;
        }
        const std::string svg = render_svg(points, Summary{}, "zero");
        const Xml xml = check_chart(svg, points);
        for (const Element* cell : xml.all("rect", "cell")) {
            CHECK(attr(*cell, "data-mips") == "0.000");
            CHECK(attr(*cell, "fill") == "#440154");  // the bottom of the scale
        }
        for (const Element* v : xml.all("text", "value"))
            CHECK(v->text == "0");
        CHECK(svg.find("nan") == std::string::npos);
        CHECK(svg.find("inf") == std::string::npos);
    }
    SECTION("non-finite and negative throughput") {
        std::vector<Point> points = grid_with_hole();
        points[0].median_items_per_second = std::numeric_limits<double>::quiet_NaN();
        points[1].median_items_per_second = std::numeric_limits<double>::infinity();
        points[2].median_items_per_second = -5;
        const std::string svg = render_svg(points, Summary{}, "odd");
        check_chart(svg, points);
        CHECK(svg.find("nan") == std::string::npos);
        CHECK(svg.find("inf\"") == std::string::npos);
    }
    SECTION("a whole (wait, chained) combination missing") {
        const std::vector<Point> points = {
            make_point(64, 1, WaitPolicy::busy_spin(), true, 1e6),
            make_point(64, 16, WaitPolicy::busy_spin(), true, 2e6),
            make_point(256, 1, WaitPolicy::park(), false, 3e6),
        };
        const Xml xml = check_chart(render_svg(points, Summary{1, 0}, "sparse"), points);
        CHECK(xml.all("g", "panel").size() == 2);
        // busy-spin unchained and park chained were never measured.
        CHECK(xml.all("g", "panel-missing").size() == 2);
        CHECK(xml.all("rect", "empty-panel").size() == 2);
        CHECK(xml.all("rect", "empty").size() == 2 + 3);  // slots of the two measured panels
    }
    SECTION("worker counts are panels of their own") {
        const std::vector<Point> points = {
            make_point(64, 1, WaitPolicy::busy_spin(), true, 1e6, 1),
            make_point(64, 1, WaitPolicy::busy_spin(), true, 2e6, 2),
            make_point(64, 1, WaitPolicy::busy_spin(), true, 3e6, 4),
        };
        const Xml xml = check_chart(render_svg(points, Summary{2, 0}, "workers"), points);
        CHECK(xml.all("g", "panel").size() == 3);
        CHECK(xml.all_text().find("1 worker ") == std::string::npos);
        CHECK(xml.all_text().find("busy-spin \xC2\xB7 chained \xC2\xB7 1 worker") !=
              std::string::npos);
    }
    SECTION("duplicated settings still give one cell per point") {
        std::vector<Point> points;
        for (int i = 1; i <= 12; ++i) {
            points.push_back(make_point(64, 1, WaitPolicy::busy_spin(), true, 1e6 * i));
        }
        check_chart(render_svg(points, Summary{0, 0}, "dup"), points);
    }
    SECTION("summary indices past the end mark nothing") {
        const std::vector<Point> points = grid_with_hole();
        const Xml xml = check_chart(render_svg(points, Summary{99, 100}, "bad summary"), points);
        CHECK(xml.all("rect", "best-outline").empty());
        CHECK(xml.all("rect", "knee-outline").empty());
        CHECK(xml.all("text", "note-best").empty());
    }
    SECTION("no points") {
        const std::string svg = render_svg({}, Summary{}, "nothing <here>");
        const Xml xml = check_chart(svg, {});
        CHECK(xml.all("text", "note-empty").size() == 1);
    }
    SECTION("a failed checksum is flagged") {
        std::vector<Point> points = grid_with_hole();
        points[5].samples[1].checksum_ok = false;
        const Xml xml = check_chart(render_svg(points, Summary{}, "checksum"), points);
        CHECK(xml.all("text", "checksum-failed").size() == 1);
        CHECK(xml.all("text", "note-checksum").size() == 1);
    }
    SECTION("a wide grid wraps its panels") {
        std::vector<Point> points;
        for (unsigned workers = 1; workers <= 4; ++workers) {
            for (std::size_t batch = 1; batch <= 256; batch *= 2) {
                points.push_back(
                    make_point(64, batch, WaitPolicy::busy_spin(), true, 1e6, workers));
            }
        }
        const Xml xml = check_chart(render_svg(points, Summary{}, "wide"), points);
        CHECK(std::stod(attr(xml.elements[0], "width")) <= 1400);
    }
}
