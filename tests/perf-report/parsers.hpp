#pragma once
// Strict little parsers for what rill-perf-report writes, so that the tests need no python3 or
// xmllint: JSON (RFC 8259, into a tree), XML well-formedness (tags nest, attributes are quoted
// and unique, text escapes & and <) with a count of elements by tag and class, and CSV (RFC 4180
// quoting, every row as wide as the header). Each throws std::runtime_error naming the offset.

#include <cctype>
#include <cstddef>
#include <cstdlib>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace rill::test {

// ---- JSON ---------------------------------------------------------------------------------------

struct Json {
    using Array = std::vector<Json>;
    using Object = std::map<std::string, Json>;
    std::variant<std::nullptr_t, bool, double, std::string, std::shared_ptr<Array>,
                 std::shared_ptr<Object>>
        v;

    [[nodiscard]] bool is_null() const { return std::holds_alternative<std::nullptr_t>(v); }
    [[nodiscard]] bool boolean() const { return std::get<bool>(v); }
    [[nodiscard]] double number() const { return std::get<double>(v); }
    [[nodiscard]] const std::string& str() const { return std::get<std::string>(v); }
    [[nodiscard]] const Array& array() const { return *std::get<std::shared_ptr<Array>>(v); }
    [[nodiscard]] const Object& object() const { return *std::get<std::shared_ptr<Object>>(v); }
    /// Throws std::out_of_range for a missing key.
    [[nodiscard]] const Json& operator[](const std::string& key) const { return object().at(key); }
};

class JsonParser {
  public:
    explicit JsonParser(std::string_view text) : s_(text) {}

    Json parse() {
        Json v = value();
        space();
        if (i_ != s_.size()) fail("text after the value");
        return v;
    }

  private:
    [[noreturn]] void fail(const std::string& why) const {
        throw std::runtime_error("JSON at offset " + std::to_string(i_) + ": " + why);
    }
    void space() {
        while (i_ < s_.size() &&
               (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\r' || s_[i_] == '\t'))
            ++i_;
    }
    bool eat(char c) {
        space();
        if (i_ < s_.size() && s_[i_] == c) {
            ++i_;
            return true;
        }
        return false;
    }
    void expect(char c) {
        if (!eat(c)) fail(std::string("expected '") + c + "'");
    }
    bool word(std::string_view w) {
        if (s_.substr(i_, w.size()) != w) return false;
        i_ += w.size();
        return true;
    }

    Json value() {
        space();
        if (i_ >= s_.size()) fail("unexpected end");
        const char c = s_[i_];
        if (c == '{') return object();
        if (c == '[') return array();
        if (c == '"') return Json{string()};
        if (word("true")) return Json{true};
        if (word("false")) return Json{false};
        if (word("null")) return Json{nullptr};
        return Json{number()};
    }

    Json object() {
        expect('{');
        auto obj = std::make_shared<Json::Object>();
        if (eat('}')) return Json{obj};
        do {
            space();
            if (i_ >= s_.size() || s_[i_] != '"') fail("expected a key");
            std::string key = string();
            if (obj->count(key)) fail("duplicate key '" + key + "'");
            expect(':');
            (*obj)[key] = value();
        } while (eat(','));
        expect('}');
        return Json{obj};
    }

    Json array() {
        expect('[');
        auto arr = std::make_shared<Json::Array>();
        if (eat(']')) return Json{arr};
        do {
            arr->push_back(value());
        } while (eat(','));
        expect(']');
        return Json{arr};
    }

    std::string string() {
        ++i_;  // the opening quote
        std::string out;
        while (true) {
            if (i_ >= s_.size()) fail("unterminated string");
            const char c = s_[i_++];
            if (c == '"') return out;
            if (static_cast<unsigned char>(c) < 0x20) fail("control character in a string");
            if (c != '\\') {
                out += c;
                continue;
            }
            if (i_ >= s_.size()) fail("unterminated escape");
            const char e = s_[i_++];
            switch (e) {
                case '"':
                case '\\':
                case '/':
                    out += e;
                    break;
                case 'b':
                    out += '\b';
                    break;
                case 'f':
                    out += '\f';
                    break;
                case 'n':
                    out += '\n';
                    break;
                case 'r':
                    out += '\r';
                    break;
                case 't':
                    out += '\t';
                    break;
                case 'u': {
                    if (i_ + 4 > s_.size()) fail("short \\u escape");
                    for (std::size_t k = 0; k < 4; ++k) {
                        if (!std::isxdigit(static_cast<unsigned char>(s_[i_ + k])))
                            fail("bad \\u escape");
                    }
                    const long cp = std::strtol(std::string(s_.substr(i_, 4)).c_str(), nullptr, 16);
                    out += cp < 0x80 ? static_cast<char>(cp) : '?';  // the reports are ASCII there
                    i_ += 4;
                    break;
                }
                default:
                    fail(std::string("bad escape \\") + e);
            }
        }
    }

    double number() {
        const std::size_t start = i_;
        if (i_ < s_.size() && s_[i_] == '-') ++i_;
        const auto digits = [&] {
            const std::size_t from = i_;
            while (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_])))
                ++i_;
            return i_ - from;
        };
        const std::size_t int_start = i_;
        const std::size_t n = digits();
        if (n == 0) fail("expected a value");
        if (n > 1 && s_[int_start] == '0') fail("leading zero");
        if (i_ < s_.size() && s_[i_] == '.') {
            ++i_;
            if (digits() == 0) fail("digits expected after '.'");
        }
        if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
            ++i_;
            if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) ++i_;
            if (digits() == 0) fail("digits expected in the exponent");
        }
        return std::strtod(std::string(s_.substr(start, i_ - start)).c_str(), nullptr);
    }

    std::string_view s_;
    std::size_t i_ = 0;
};

inline Json parse_json(std::string_view text) {
    return JsonParser(text).parse();
}

// ---- XML ----------------------------------------------------------------------------------------

struct XmlStats {
    std::string root;
    std::map<std::string, std::size_t> elements;  ///< by tag name
    std::map<std::string, std::size_t> classes;   ///< "tag.class" for every class="..." value
};

/// Checks well-formedness: one root element, tags nest and match, names are names, attribute
/// values are quoted and unique per element, & starts a known entity or a character reference,
/// no '<' in text or attributes. Comments, processing instructions and CDATA are skipped.
inline XmlStats check_xml(std::string_view s) {
    XmlStats st;
    std::vector<std::string> open;
    std::size_t i = 0;
    const auto fail = [&](const std::string& why) {
        throw std::runtime_error("XML at offset " + std::to_string(i) + ": " + why);
    };
    const auto is_name_start = [](char c) {
        return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':';
    };
    const auto is_name = [&](char c) {
        return is_name_start(c) || std::isdigit(static_cast<unsigned char>(c)) || c == '-' ||
               c == '.';
    };
    const auto name = [&] {
        if (i >= s.size() || !is_name_start(s[i])) fail("expected a name");
        const std::size_t from = i;
        while (i < s.size() && is_name(s[i]))
            ++i;
        return std::string(s.substr(from, i - from));
    };
    const auto space = [&] {
        while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i])))
            ++i;
    };
    const auto check_escapes = [&](std::string_view text) {
        for (std::size_t k = 0; k < text.size(); ++k) {
            if (text[k] == '<') fail("'<' in text or an attribute value");
            if (text[k] != '&') continue;
            const std::size_t semi = text.find(';', k);
            if (semi == std::string_view::npos) fail("'&' without ';'");
            const std::string_view ent = text.substr(k + 1, semi - k - 1);
            const bool named =
                ent == "amp" || ent == "lt" || ent == "gt" || ent == "quot" || ent == "apos";
            bool numeric = ent.size() > 1 && ent[0] == '#';
            for (std::size_t m = 1; numeric && m < ent.size(); ++m) {
                numeric =
                    std::isxdigit(static_cast<unsigned char>(ent[m])) || (m == 1 && ent[m] == 'x');
            }
            if (!named && !numeric) fail("unknown entity &" + std::string(ent) + ";");
        }
    };
    bool root_done = false;
    while (i < s.size()) {
        if (s[i] != '<') {
            const std::size_t lt = s.find('<', i);
            const std::string_view text = s.substr(i, lt - i);
            if (open.empty()) {
                for (const char c : text) {
                    if (!std::isspace(static_cast<unsigned char>(c))) fail("text outside the root");
                }
            }
            check_escapes(text);
            i = lt == std::string_view::npos ? s.size() : lt;
            continue;
        }
        if (s.substr(i, 4) == "<!--") {
            const std::size_t end = s.find("-->", i + 4);
            if (end == std::string_view::npos) fail("unterminated comment");
            i = end + 3;
            continue;
        }
        if (s.substr(i, 9) == "<![CDATA[") {
            const std::size_t end = s.find("]]>", i);
            if (end == std::string_view::npos || open.empty()) fail("bad CDATA");
            i = end + 3;
            continue;
        }
        if (s.substr(i, 2) == "<?" || s.substr(i, 2) == "<!") {
            const std::size_t end = s.find('>', i);
            if (end == std::string_view::npos) fail("unterminated declaration");
            i = end + 1;
            continue;
        }
        if (s.substr(i, 2) == "</") {
            i += 2;
            const std::string n = name();
            space();
            if (i >= s.size() || s[i] != '>') fail("expected '>' closing </" + n);
            ++i;
            if (open.empty() || open.back() != n) {
                fail("</" + n + "> does not close <" + (open.empty() ? "" : open.back()) + ">");
            }
            open.pop_back();
            if (open.empty()) root_done = true;
            continue;
        }
        ++i;
        if (root_done) fail("a second root element");
        const std::string tag = name();
        if (open.empty()) st.root = tag;
        ++st.elements[tag];
        std::set<std::string> attrs;
        while (true) {
            const std::size_t before = i;
            space();
            if (i >= s.size()) fail("unterminated tag <" + tag);
            if (s[i] == '>' || s.substr(i, 2) == "/>") break;
            if (i == before) fail("attributes must be separated by space");
            const std::string a = name();
            if (!attrs.insert(a).second) fail("duplicate attribute " + a + " on <" + tag + ">");
            space();
            if (i >= s.size() || s[i] != '=') fail("attribute " + a + " has no value");
            ++i;
            space();
            if (i >= s.size() || (s[i] != '"' && s[i] != '\'')) fail("unquoted attribute " + a);
            const char q = s[i++];
            const std::size_t end = s.find(q, i);
            if (end == std::string_view::npos) fail("unterminated attribute " + a);
            const std::string_view value = s.substr(i, end - i);
            check_escapes(value);
            if (a == "class") {
                std::size_t k = 0;
                while (k < value.size()) {
                    const std::size_t sp = value.find(' ', k);
                    const std::string_view c = value.substr(k, sp - k);
                    if (!c.empty()) ++st.classes[tag + "." + std::string(c)];
                    if (sp == std::string_view::npos) break;
                    k = sp + 1;
                }
            }
            i = end + 1;
        }
        if (s[i] == '/') {
            i += 2;
            if (open.empty()) root_done = true;
        } else {
            ++i;
            open.push_back(tag);
        }
    }
    if (!open.empty()) fail("<" + open.back() + "> is never closed");
    if (st.root.empty()) fail("no root element");
    return st;
}

// ---- CSV ----------------------------------------------------------------------------------------

/// Rows of fields; throws unless every row has as many fields as the first (the header).
inline std::vector<std::vector<std::string>> parse_csv(std::string_view s) {
    std::vector<std::vector<std::string>> rows;
    std::vector<std::string> row;
    std::string field;
    bool quoted = false, any = false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        if (quoted) {
            if (c == '"' && i + 1 < s.size() && s[i + 1] == '"') {
                field += '"';
                ++i;
            } else if (c == '"') {
                quoted = false;
            } else {
                field += c;
            }
            continue;
        }
        if (c == '"' && field.empty()) {
            quoted = any = true;
        } else if (c == ',') {
            row.push_back(std::move(field));
            field.clear();
            any = true;
        } else if (c == '\n') {
            row.push_back(std::move(field));
            field.clear();
            rows.push_back(std::move(row));
            row.clear();
            any = false;
        } else if (c == '"') {
            throw std::runtime_error("CSV at offset " + std::to_string(i) + ": stray quote");
        } else {
            field += c;
            any = true;
        }
    }
    if (quoted) throw std::runtime_error("CSV: unterminated quoted field");
    if (any || !field.empty()) {
        row.push_back(std::move(field));
        rows.push_back(std::move(row));
    }
    for (std::size_t r = 1; r < rows.size(); ++r) {
        if (rows[r].size() != rows[0].size()) {
            throw std::runtime_error("CSV row " + std::to_string(r) + " has " +
                                     std::to_string(rows[r].size()) + " fields, the header " +
                                     std::to_string(rows[0].size()));
        }
    }
    return rows;
}

}  // namespace rill::test
