// mlpstorage help and flag matching (help.hpp, cli.hpp): wrapping to the width, only the options a
// command accepts, an Examples section per command, argparse unique prefixes, ambiguous prefixes,
// "did you mean", and unexpected words in the order given.
#include "orchestrator/help.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <functional>
#include <sstream>

#include "test_util.hpp"

using namespace kv::orchestrator;
using orchtest::parse;

namespace {

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

std::size_t widest(const std::string& s) {
  std::size_t w = 0;
  for (const auto& l : lines_of(s)) w = std::max(w, l.size());
  return w;
}

// Every command of the tree with its path ("mlpstorage kvcache run").
void walk(CLI::App* app, const std::string& path,
          const std::function<void(CLI::App*, const std::string&)>& f) {
  f(app, path);
  for (CLI::App* s : app->get_subcommands([](const CLI::App*) { return true; }))
    walk(s, path + " " + s->get_name(), f);
}

// The help of one command, as `<path> --help` prints it.
std::string help_of(const std::string& path) {
  std::vector<std::string> args;
  std::istringstream in(path);
  for (std::string w; in >> w;) args.push_back(w);
  args.erase(args.begin());  // "mlpstorage"
  args.push_back("--help");
  auto p = parse(args);
  EXPECT_EQ(p.r.exit_code, 0) << path << ": " << p.r.err;
  return p.r.out;
}

}  // namespace

TEST(HelpWrap, WordsNeverPassTheWidthAndLongWordsAreSplit) {
  const std::string text = "a few short words then averyveryveryverylongwordthatcannotfit end";
  const std::string w = wrap_words(text, 20, 4, 10);
  for (const auto& l : lines_of(w)) EXPECT_LE(l.size(), 20u) << l;
  // First line continues at column 10 (the caller wrote that much), the rest are indented by 4.
  EXPECT_EQ(lines_of(w).at(1).substr(0, 4), "    ");
  std::string joined;
  for (char c : w)
    if (c != ' ' && c != '\n') joined += c;
  EXPECT_EQ(joined, "afewshortwordsthenaveryveryveryverylongwordthatcannotfitend");
}

TEST(HelpWrap, CommandsContinueWithBackslashes) {
  const std::string w =
      wrap_command("mlpstorage kvcache run --model llama3.1-8b --num-users 50", 30, 2);
  const auto lines = lines_of(w);
  ASSERT_GT(lines.size(), 1u);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    EXPECT_LE(lines[i].size(), 30u) << lines[i];
    if (i + 1 < lines.size()) {
      EXPECT_EQ(lines[i].substr(lines[i].size() - 2), " \\");
    }
  }
  EXPECT_EQ(lines[1].substr(0, 6), "      ");  // indent 2 + 4
}

TEST(HelpWidth, ColumnsThenTerminalThen80) {
  EXPECT_EQ(help_width("60", {}), 60);
  EXPECT_EQ(help_width("10", {}), 40);    // at least 40
  EXPECT_EQ(help_width("500", {}), 120);  // at most 120
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);  // a pipe is not a terminal
  EXPECT_EQ(help_width(nullptr, {fds[1]}), 80);
  EXPECT_EQ(help_width("abc", {fds[1]}), 80);
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST(Help, EveryCommandFitsTheWidthAndHasExamples) {
  for (const char* cols : {"80", "60", "40"}) {
    orchtest::ScopedEnv env("COLUMNS", cols);
    orchtest::Parsed p;
    walk(&p.cli->app(), "mlpstorage", [&](CLI::App*, const std::string& path) {
      const std::string h = help_of(path);
      EXPECT_LT(widest(h), static_cast<std::size_t>(std::stoi(cols))) << path << "\n" << h;
      EXPECT_EQ(h.rfind("Usage: " + path, 0), 0u) << h;
      EXPECT_NE(h.find("\nExamples:\n  mlpstorage "), std::string::npos) << path << "\n" << h;
      EXPECT_NE(h.find("Exit codes:"), std::string::npos) << path;
    });
  }
}

TEST(Help, ListsOnlyTheOptionsTheCommandAccepts) {
  orchtest::ScopedEnv env("COLUMNS", "80");
  for (const char* path : {"mlpstorage history list", "mlpstorage history show",
                           "mlpstorage history rerun", "mlpstorage history import",
                           "mlpstorage kvcache datasize", "mlpstorage reports reportgen"}) {
    const std::string h = help_of(path);
    for (const char* absent : {"--loops", "--closed", "--open", "--what-if", "-et", "-np",
                               "--exec-type", "--allow-invalid-params"})
      EXPECT_EQ(h.find(absent), std::string::npos) << path << " lists " << absent << "\n" << h;
  }
  // Whatever a command lists, it accepts; whatever it does not, it refuses.
  orchtest::Parsed p;
  walk(&p.cli->app(), "mlpstorage", [&](CLI::App* app, const std::string& path) {
    if (!app->get_subcommands([](const CLI::App*) { return true; }).empty()) return;
    const std::string h = help_of(path);
    for (const char* flag : {"--loops", "--what-if", "--closed", "--history-db"}) {
      const bool listed = h.find(std::string(flag) + " ") != std::string::npos ||
                          h.find(std::string(flag) + "\n") != std::string::npos;
      EXPECT_EQ(listed, app->get_option_no_throw(flag) != nullptr) << path << " " << flag;
    }
  });
  // The run lists the reference's two-letter forms next to the long names.
  const std::string run = help_of("mlpstorage kvcache run");
  for (const char* both : {"-rd, --results-dir", "-nu, --num-users", "-et, --exec-type",
                           "-np, --num-processes", "-aip, --allow-invalid-params"})
    EXPECT_NE(run.find(both), std::string::npos) << both;
}

TEST(Help, UniversalFlagsFollowTheCommand) {
  EXPECT_EQ(parse({"history", "list", "--loops", "2"}).r.exit_code, 2);
  EXPECT_EQ(parse({"kvcache", "datasize", "--what-if"}).r.exit_code, 2);
  EXPECT_EQ(parse({"kvcache", "datasize", "--closed"}).r.exit_code, 2);
  EXPECT_TRUE(parse({"kvcache", "datasize", "-rd", "/tmp/x", "--debug"}).r.ok());
  EXPECT_TRUE(parse({"history", "list", "--history-db", "/tmp/h.db", "--verbose"}).r.ok());
  EXPECT_TRUE(parse({"history", "import", "-rd", "/tmp/x"}).r.ok());
}

TEST(FlagPrefix, UniquePrefixIsAccepted) {
  auto p = parse({"kvcache", "run", "--num-user", "7", "--dur=9"});
  ASSERT_TRUE(p.r.ok()) << p.r.err;
  EXPECT_EQ(p.inv().kv.num_users, 7);
  EXPECT_EQ(p.inv().kv.duration, 9);
  // An abbreviated --kvcache-params still takes a dash-leading value.
  auto q = parse({"kvcache", "run", "--kvcache-par", "--storage-capacity-gb 5"});
  ASSERT_TRUE(q.r.ok()) << q.r.err;
  EXPECT_EQ(q.inv().kv.kvcache_params, (std::vector<std::string>{"--storage-capacity-gb", "5"}));
}

TEST(FlagPrefix, ExactNameWinsOverALongerOne) {
  // --config (engine YAML) and --config-file both exist on the sequence run.
  auto p = parse({"open", "kvcache", "run", "--systemname", "s", "--config", "/x.yaml"});
  ASSERT_TRUE(p.r.ok()) << p.r.err;
  EXPECT_EQ(p.inv().seq.engine_config, "/x.yaml");
}

TEST(FlagPrefix, AmbiguousPrefixListsTheCandidates) {
  auto p = parse({"kvcache", "run", "--c", "1"});
  EXPECT_EQ(p.r.exit_code, 2);
  for (const char* c : {"--cpu-mem-gb", "--cache-dir", "--config-file", "--closed"})
    EXPECT_NE(p.r.err.find(c), std::string::npos) << c << ": " << p.r.err;
  EXPECT_NE(p.r.err.find("ambiguous"), std::string::npos) << p.r.err;
}

TEST(FlagPrefix, UnknownFlagSaysDidYouMean) {
  auto p = parse({"kvcache", "run", "--nmu-users", "3"});
  EXPECT_EQ(p.r.exit_code, 2);
  EXPECT_NE(p.r.err.find("--nmu-users: unknown option of 'mlpstorage kvcache run'; did you mean "
                         "--num-users?"),
            std::string::npos)
      << p.r.err;
  // A flag of another command says where it belongs.
  auto h = parse({"history", "list", "--what-if"});
  EXPECT_EQ(h.r.exit_code, 2);
  EXPECT_NE(h.r.err.find("it is an option of 'mlpstorage kvcache run'"), std::string::npos)
      << h.r.err;
  // Every unknown flag is reported, in the order given.
  auto two = parse({"kvcache", "run", "--zzz-one", "--zzz-two"});
  EXPECT_LT(two.r.err.find("--zzz-one"), two.r.err.find("--zzz-two")) << two.r.err;
}

TEST(FlagPrefix, UnexpectedWordsAreListedInTheOrderGiven) {
  auto p = parse({"kvcache", "run", "foo", "bar", "baz"});
  EXPECT_EQ(p.r.exit_code, 2);
  EXPECT_NE(p.r.err.find("unexpected arguments for 'mlpstorage kvcache run': foo bar baz"),
            std::string::npos)
      << p.r.err;
}
