// rill-perf-report: its arguments (parsed in process, then the binary's exit code and one-line
// errors), and --quick runs whose table, CSV, JSON and SVG must parse and agree, whose best is
// a measured point and whose checksums all matched.

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "args.hpp"
#include "parsers.hpp"

namespace fs = std::filesystem;
using rill::perf_report::parse_args;
using rill::perf_report::UsageError;
using rill::test::Json;

namespace {

struct Outcome {
    int exit_code = -1;
    std::string out, err;
};

std::string slurp(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    std::ostringstream s;
    s << f.rdbuf();
    return s.str();
}

fs::path work_dir(const std::string& name) {
    const fs::path dir = fs::path(RILL_PERF_REPORT_WORK_DIR) / name;
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
}

/// Runs the tool with `args`; stdout and stderr go to files (no pipe to fill up), so stderr is
/// not a terminal and the progress line must stay quiet.
Outcome run_tool(const std::vector<std::string>& args, const fs::path& dir) {
    const fs::path out = dir / "stdout.txt", err = dir / "stderr.txt";
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        const int o = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        const int e = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (o < 0 || e < 0) _exit(126);
        dup2(o, STDOUT_FILENO);
        dup2(e, STDERR_FILENO);
        std::vector<char*> argv{const_cast<char*>(RILL_PERF_REPORT_EXE)};
        for (const std::string& a : args)
            argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        execv(RILL_PERF_REPORT_EXE, argv.data());
        _exit(127);
    }
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    Outcome r;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.out = slurp(out);
    r.err = slurp(err);
    return r;
}

std::string usage_error(const std::vector<std::string>& args) {
    try {
        (void)parse_args(args, 2);
    } catch (const UsageError& e) {
        return e.what();
    }
    return "";
}

std::size_t count(const std::string& s, const std::string& what) {
    std::size_t n = 0;
    for (std::size_t i = s.find(what); i != std::string::npos; i = s.find(what, i + 1))
        ++n;
    return n;
}

}  // namespace

TEST_CASE("parse_args: lists, both flag forms, defaults") {
    const auto o = parse_args({"--workload",
                               "chain,latency",
                               "--capacity=64,1024",
                               "--batch",
                               "1,64",
                               "--wait",
                               "busy-spin,spin-park:256",
                               "--chain",
                               "off",
                               "--workers",
                               "1,2",
                               "--items",
                               "5000",
                               "--repeat",
                               "3",
                               "--out",
                               "x/y",
                               "--json",
                               "--peers",
                               "--quick",
                               "--rate",
                               "5000"},
                              2);
    CHECK(o.workloads == std::vector<std::string>{"chain", "latency"});
    CHECK(*o.capacities == std::vector<std::size_t>{64, 1024});
    CHECK(*o.batches == std::vector<std::size_t>{1, 64});
    CHECK(o.waits->at(1) == rill::WaitPolicy::spin_park(256));
    CHECK(*o.chained == std::vector<bool>{false});
    CHECK(*o.workers == std::vector<unsigned>{1, 2});
    CHECK(*o.items == 5000);
    CHECK(*o.repeat == 3);
    CHECK(*o.rate == 5000);
    CHECK(o.out == "x/y");
    CHECK((o.json && o.peers && o.quick));
    const auto d = parse_args({}, 2);
    CHECK(d.workloads == std::vector<std::string>{"chain", "cpu", "pooled", "latency"});
    CHECK_FALSE(d.capacities);
    CHECK(d.out == "perf-report");
    CHECK(parse_args({"--workload", "all"}, 2).workloads.size() == 4);
}

TEST_CASE("parse_args: each bad argument is named in the message") {
    CHECK(usage_error({"--workload", "chian"}) ==
          "--workload 'chian': unknown workload 'chian'; expected chain, cpu, pooled, latency, "
          "or all");
    CHECK(usage_error({"--capacity", "64,100"}) ==
          "--capacity '64,100': '100': not a power of two from 2 to 65536");
    CHECK(usage_error({"--capacity", "100"}) ==
          "--capacity '100': not a power of two from 2 to 65536");
    CHECK(usage_error({"--capacity", "131072"}) ==
          "--capacity '131072': not a power of two from 2 to 65536");
    CHECK(usage_error({"--batch", ""}) ==
          "--batch '': empty list; give one or more values separated by commas");
    CHECK(usage_error({"--batch", "1,,64"}) == "--batch '1,,64': empty element in the list");
    CHECK(usage_error({"--batch", "0"}) == "--batch '0': expected a whole number from 1 to 65536");
    CHECK(usage_error({"--wait", "spin"}) ==
          "--wait 'spin': wait policy 'spin': expected busy-spin, spin-yield[:SPIN], "
          "spin-park[:SPIN[:YIELD]] or park");
    CHECK(usage_error({"--chain", "yes"}) == "--chain 'yes': 'yes': expected on or off");
    CHECK(usage_error({"--workers", "1,3"}) ==
          "--workers '1,3': 3 workers: this process may use 2 CPUs (rill pins one worker per CPU)");
    CHECK(usage_error({"--items", "-5"}) ==
          "--items '-5': expected a whole number from 1 to 10000000000");
    CHECK(usage_error({"--repeat", "0"}) == "--repeat '0': expected a whole number from 1 to 1000");
    CHECK(usage_error({"--rate", "1e5"}) ==
          "--rate '1e5': expected a whole number from 1 to 100000000");
    CHECK(usage_error({"--capacity"}) == "--capacity: missing value; see --help");
    CHECK(usage_error({"--frobnicate"}) == "unknown argument '--frobnicate'; see --help");
    CHECK(usage_error({"--json=1"}) == "--json=1: --json takes no value");
    CHECK(usage_error({"--out", ""}) == "--out '': empty directory name");
}

TEST_CASE("the binary: a bad argument is one line on stderr and exit code 2") {
    const fs::path dir = work_dir("bad-args");
    // A regular file where --out needs a directory: unwritable whoever runs the test.
    std::ofstream(dir / "a-file") << "x";
    const std::vector<std::pair<std::vector<std::string>, std::string>> cases{
        {{"--workload", "nope"}, "--workload 'nope': unknown workload"},
        {{"--capacity", "100"}, "--capacity '100': not a power of two"},
        {{"--batch", ""}, "--batch '': empty list"},
        {{"--out", (dir / "a-file" / "sub").string()}, "--out '"},
        {{"--bogus"}, "unknown argument '--bogus'"},
        {{"--wait", "spin-park:x"}, "--wait 'spin-park:x'"},
    };
    for (const auto& [args, expected] : cases) {
        INFO(args.front());
        const Outcome r = run_tool(args, dir);
        CHECK(r.exit_code == 2);
        CHECK(r.out.empty());
        CHECK(count(r.err, "\n") == 1);
        CHECK(r.err.back() == '\n');
        CHECK_THAT(r.err, Catch::StartsWith("rill-perf-report: " + expected));
    }
}

TEST_CASE("the binary: --help lists every flag and workload") {
    const Outcome r = run_tool({"--help"}, work_dir("help"));
    CHECK(r.exit_code == 0);
    for (const char* flag :
         {"--workload", "--capacity", "--batch", "--wait", "--chain", "--workers", "--items",
          "--repeat", "--rate", "--quick", "--peers", "--out", "--json", "--help"})
        CHECK_THAT(r.out, Catch::Contains(flag));
    for (const char* w : {"chain:", "cpu:", "pooled:", "latency:"})
        CHECK_THAT(r.out, Catch::Contains(w));
    CHECK_THAT(r.out, Catch::Contains("replicas"));
}

TEST_CASE("a --quick run on chain: table, CSV, JSON and SVG parse and agree") {
    const fs::path dir = work_dir("quick-chain");
    const fs::path out = dir / "report";
    const Outcome r = run_tool({"--quick", "--workload", "chain", "--out", out.string()}, dir);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.err.find('\r') == std::string::npos);  // no progress line off a terminal

    // JSON: the whole report.
    const Json json = rill::test::parse_json(slurp(out / "report.json"));
    CHECK(json["checksums_ok"].boolean());
    REQUIRE(json["workloads"].array().size() == 1);
    const Json& w = json["workloads"].array()[0];
    CHECK(w["name"].str() == "chain");
    const auto& points = w["points"].array();
    const Json& grid = w["grid"];
    const std::size_t expected_points =
        grid["capacities"].array().size() * grid["batches"].array().size() *
        grid["waits"].array().size() * grid["chained"].array().size() *
        grid["workers"].array().size();
    REQUIRE(points.size() == expected_points);
    REQUIRE(points.size() > 1);
    double top = 0;
    for (const Json& p : points) {
        CHECK(p["checksums_ok"].boolean());
        CHECK(p["samples"].array().size() == static_cast<std::size_t>(grid["repeat"].number()));
        top = std::max(top, p["median_items_per_second"].number());
    }
    // The best is one of the measured points, and the fastest.
    const auto best = static_cast<std::size_t>(w["best"].number());
    const auto knee = static_cast<std::size_t>(w["knee"].number());
    REQUIRE(best < points.size());
    REQUIRE(knee < points.size());
    CHECK(points[best]["median_items_per_second"].number() == top);
    CHECK(points[knee]["median_items_per_second"].number() >= 0.95 * top);
    CHECK(points[knee]["wait"].str() == points[best]["wait"].str());
    CHECK(points[knee]["capacity"].number() <= points[best]["capacity"].number());

    // CSV: a header and one row per point; the best row is the JSON's best.
    const auto rows = rill::test::parse_csv(slurp(out / "report.csv"));
    REQUIRE(rows.size() == points.size() + 1);
    const auto col = [&](const std::string& name) {
        const auto it = std::find(rows[0].begin(), rows[0].end(), name);
        REQUIRE(it != rows[0].end());
        return static_cast<std::size_t>(it - rows[0].begin());
    };
    const std::size_t best_col = col("best"), ok_col = col("checksums_ok"),
                      cap_col = col("capacity");
    std::size_t best_rows = 0;
    for (std::size_t i = 1; i < rows.size(); ++i) {
        CHECK(rows[i][ok_col] == "1");
        if (rows[i][best_col] == "1") {
            ++best_rows;
            CHECK(i - 1 == best);
            CHECK(std::stod(rows[i][cap_col]) == points[best]["capacity"].number());
        }
    }
    CHECK(best_rows == 1);

    // SVG: well-formed XML, one cell per point.
    const auto svg = rill::test::check_xml(slurp(out / "chain.svg"));
    CHECK(svg.root == "svg");
    CHECK(svg.classes.at("rect.cell") == points.size());

    // The Markdown table on stdout (also report.md): a header and one row per point.
    CHECK(r.out == slurp(out / "report.md"));
    CHECK_THAT(r.out, Catch::Contains("| workers | chain | wait | capacity | batch | Mitems/s |"));
    std::size_t table_rows = 0;
    std::istringstream lines(r.out);
    for (std::string line; std::getline(lines, line);) {
        if (line.starts_with("| 1 |") || line.starts_with("| 2 |")) ++table_rows;
    }
    CHECK(table_rows == points.size());
    CHECK(count(r.out, "**best**") == 1);
    CHECK_THAT(r.out, Catch::Contains("- **Best:** "));
    CHECK_THAT(r.out, Catch::Contains("- **Knee** "));
    CHECK_THAT(r.out, Catch::Contains("Every run's checksum matched."));
    CHECK_THAT(r.err, Catch::Contains((out / "chain.svg").string()));
}

TEST_CASE("every workload's checksum matched, peers included") {
    const fs::path dir = work_dir("all-workloads");
    const Outcome r =
        run_tool({"--quick", "--workload", "all", "--capacity", "64", "--batch", "16", "--wait",
                  "spin-park:256", "--repeat", "1", "--peers", "--out", (dir / "report").string()},
                 dir);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const Json json = rill::test::parse_json(slurp(dir / "report" / "report.json"));
    CHECK(json["checksums_ok"].boolean());
    std::vector<std::string> names;
    for (const Json& w : json["workloads"].array()) {
        names.push_back(w["name"].str());
        INFO(w["name"].str());
        CHECK(w["points"].array().size() == 4);  // chain on/off x workers 1, 2
        for (const Json& p : w["points"].array()) {
            CHECK(p["checksums_ok"].boolean());
            if (w["name"].str() == "latency") {
                const Json& l = p["latency"];
                REQUIRE_FALSE(l.is_null());
                CHECK(l["p50_ns"].number() > 0);
                CHECK(l["p50_ns"].number() <= l["p99_ns"].number());
                CHECK(l["p99_ns"].number() <= l["p999_ns"].number());
            } else {
                CHECK(p["latency"].is_null());
            }
        }
        // TBB and the channel chain on the same work, except latency (no paced source there).
        CHECK(w["peers"].array().size() == (w["name"].str() == "latency" ? 0 : 2));
        for (const Json& p : w["peers"].array())
            CHECK(p["checksums_ok"].boolean());
        const auto svg = rill::test::check_xml(slurp(dir / "report" / (w["name"].str() + ".svg")));
        CHECK(svg.classes.at("rect.cell") == 4);
    }
    CHECK(names == std::vector<std::string>{"chain", "cpu", "pooled", "latency"});
    CHECK_THAT(r.out, Catch::Contains("replicas"));  // the cpu workload says what it is not
}

TEST_CASE("the JSON report on stdout with --json") {
    const fs::path dir = work_dir("json");
    const Outcome r =
        run_tool({"--workload", "chain", "--capacity", "64", "--batch", "64", "--wait", "busy-spin",
                  "--chain", "on", "--workers", "1", "--repeat", "1", "--items", "10000", "--json",
                  "--out", (dir / "report").string()},
                 dir);
    REQUIRE(r.exit_code == 0);
    const Json json = rill::test::parse_json(r.out);
    CHECK(json["workloads"].array().at(0)["points"].array().size() == 1);
    CHECK(json["workloads"].array().at(0)["points"].array()[0]["items"].number() == 10000);
    CHECK(r.out == slurp(dir / "report" / "report.json"));
}
