// WebShop pages and actions: golden pages, pagination, invalid actions, max steps, prompt.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "actor/envs/webshop/catalog.h"
#include "actor/envs/webshop/expert.h"
#include "actor/envs/webshop/webshop_env.h"
#include "common/memory/tag_grammar.h"
#include "tests/actor/envs/webshop/webshop_test_util.h"

namespace mem1::webshop {
namespace {

namespace fs = std::filesystem;
using testing::kFixtures;
using testing::SystemLexicon;
using testing::TempDir;

// --- pages and actions --------------------------------------------------------------------

class WebShopPagesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    catalog_ = new Catalog();
    CatalogReport r;
    CatalogOptions o;
    o.data_dir = kFixtures;
    ASSERT_TRUE(LoadCatalog(o, catalog_, &r).ok());
    index_dir_ = new std::string((TempDir("pages") / "index").string());
    IndexBuildReport ir;
    ASSERT_TRUE(BuildProductIndex(*catalog_, *index_dir_, false, &ir).ok());
    EXPECT_EQ(ir.passages, 14);
  }
  static void TearDownTestSuite() {
    fs::remove_all(fs::path(*index_dir_).parent_path());
    delete catalog_;
    delete index_dir_;
  }
  void SetUp() override {
    auto s = OpenProductIndex(*catalog_, *index_dir_);
    ASSERT_TRUE(s.ok()) << s.status().message();
    search_ = std::move(s).value();
    for (const auto& g : catalog_->goals) {
      if (g.asin == "B09QQLDJ93") goal_ = g;
    }
    goal_.instruction_text = "i need a long clip-in hair extension which is natural looking, and price lower than 40.00 dollars";
    goal_.price_upper = 40;
  }
  // Compares with tests/fixtures/webshop/golden/<name>.txt (MEM1_UPDATE_GOLDEN=1 rewrites it).
  void ExpectGolden(const std::string& name, const std::string& text) {
    const std::string path = kFixtures + "/golden/" + name + ".txt";
    if (std::getenv("MEM1_UPDATE_GOLDEN") != nullptr) {
      fs::create_directories(kFixtures + "/golden");
      std::ofstream(path) << text;
    }
    std::ifstream in(path);
    ASSERT_TRUE(in.good()) << path;
    std::stringstream ss;
    ss << in.rdbuf();
    EXPECT_EQ(text, ss.str()) << "golden " << path;
  }
  std::string Page(const WebShopEnv& env) { return env.session().PageText() + "\n" + env.session().ActionList() + "\n"; }
  static Catalog* catalog_;
  static std::string* index_dir_;
  std::unique_ptr<Retriever> search_;
  Goal goal_;
};
Catalog* WebShopPagesTest::catalog_ = nullptr;
std::string* WebShopPagesTest::index_dir_ = nullptr;

TEST_F(WebShopPagesTest, EveryPageTypeRendersAsGolden) {
  WebShopEnvOptions o;
  o.lexicon = SystemLexicon();
  WebShopEnv env(catalog_, search_.get(), goal_, "g", o, GetTagPreset("paper").value());
  ExpectGolden("search", Page(env));
  auto r = env.Step("webshop", "search[Hair Extensions clip in]", 10);
  EXPECT_FALSE(r.done);
  ExpectGolden("results_page1", Page(env));
  EXPECT_EQ(r.observation + "\n", Page(env));
  EXPECT_EQ(env.session().state().results.size(), 14u);  // OR query: every product mentions "hair"
  env.Step("webshop", "click[Next >]", 10);
  ExpectGolden("results_page2", Page(env));
  env.Step("webshop", "click[< prev]", 10);
  EXPECT_EQ(env.session().state().page, 1);
  env.Step("webshop", "click[next >]", 10);
  env.Step("webshop", "click[b09qqldj93]", 10);
  ExpectGolden("item", Page(env));
  env.Step("webshop", "click[< prev]", 10);  // back to the results page it came from
  EXPECT_EQ(env.session().state().kind, PageKind::kResults);
  EXPECT_EQ(env.session().state().page, 2);
  env.Step("webshop", "click[b09qqldj93]", 10);
  env.Step("webshop", "click[natural black]", 10);
  env.Step("webshop", "click[24 inch]", 10);
  EXPECT_EQ(env.session().state().options.at("color"), "natural black");
  EXPECT_EQ(env.session().state().options.at("size"), "24 inch");
  for (const char* sub : {"description", "features", "reviews", "attributes"}) {
    env.Step("webshop", std::string("click[") + sub + "]", 10);
    ExpectGolden(sub, Page(env));
    env.Step("webshop", "click[< prev]", 10);
    EXPECT_EQ(env.session().state().kind, PageKind::kItem);
    EXPECT_EQ(env.session().state().options.size(), 2u) << "options survive a sub-page visit";
  }
  r = env.Step("webshop", "click[buy now]", 10);
  EXPECT_TRUE(r.done);
  // The goal's product with its options, within budget: (2 attrs + 2 options + price) / 5 = 1.
  EXPECT_DOUBLE_EQ(r.reward, 1.0);
  EXPECT_DOUBLE_EQ(r.metrics.at("webshop_success"), 1.0);
  EXPECT_DOUBLE_EQ(r.metrics.at("steps"), 18.0);
  EXPECT_DOUBLE_EQ(r.metrics.at("searches"), 1.0);
  EXPECT_DOUBLE_EQ(r.metrics.at("invalid_actions"), 0.0);
  ExpectGolden("done", r.observation + "\n");
}

// The golden files above are our renderer's own output (regressions). These pages were written
// by hand from the reference WebShop, for the same products and states: the visible texts of
// web_agent_site/templates/*.html joined by " [SEP] ", as envs/web_agent_text_env.py shows a
// page with observation_mode="text" (WebAgentTextEnv's default show_attrs=False; the
// attributes page is the one it shows with show_attrs=True). They live in
// tests/fixtures/webshop/reference/ and are never rewritten by MEM1_UPDATE_GOLDEN.
// Where our pages differ on purpose, the difference is spelled out and asserted:
//  - results: the reference template always has "Next >" (on the last page too) and, from
//    page 2 on, "< Prev" before it; ours shows "Next >" only when a next page has products.
//  - item: ours always offers the Attributes sub-page ("Attributes" between "Reviews" and
//    "Buy Now"), as the reference does with show_attrs=True.
//  - attributes: the reference page also prints the product's category, query and product
//    category after the attributes; ours lists the attributes only.
std::string ReferencePage(const std::string& name) {
  const std::string path = kFixtures + "/reference/" + name + ".txt";
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << path;
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  if (!text.empty() && text.back() == '\n') text.pop_back();
  EXPECT_FALSE(text.empty()) << path;
  return text;
}

// `text` with its one occurrence of `from` replaced by `to` (a failure if it does not occur).
std::string ReplaceOnce(const std::string& text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << "\"" << from << "\" not in: " << text;
  if (at == std::string::npos) return text;
  EXPECT_EQ(text.find(from, at + 1), std::string::npos) << "\"" << from << "\" twice in: " << text;
  return text.substr(0, at) + to + text.substr(at + from.size());
}

TEST_F(WebShopPagesTest, PagesMatchTheReferenceWebShopTextObservations) {
  WebShopEnvOptions o;
  WebShopEnv env(catalog_, search_.get(), goal_, "g", o, GetTagPreset("paper").value());
  EXPECT_EQ(env.session().PageText(), ReferencePage("search"));
  env.Step("webshop", "search[Hair Extensions clip in]", 10);
  ASSERT_EQ(env.session().state().kind, PageKind::kResults);
  ASSERT_EQ(env.session().state().results.size(), 14u);
  EXPECT_EQ(env.session().PageText(), ReferencePage("results_page1"));  // page 1 of 2: "Next >" in both
  env.Step("webshop", "click[next >]", 10);
  ASSERT_EQ(env.session().state().page, 2);
  EXPECT_EQ(env.session().PageText(), ReplaceOnce(ReferencePage("results_page2"), " [SEP] < Prev [SEP] Next >", " [SEP] < Prev"));
  env.Step("webshop", "click[b09qqldj93]", 10);
  ASSERT_EQ(env.session().state().kind, PageKind::kItem);
  const std::string item = ReplaceOnce(ReferencePage("item"), " [SEP] Reviews [SEP] Buy Now", " [SEP] Reviews [SEP] Attributes [SEP] Buy Now");
  EXPECT_EQ(env.session().PageText(), item);
  // Choosing options changes no text of the item page (the reference marks them in the HTML only).
  env.Step("webshop", "click[natural black]", 10);
  env.Step("webshop", "click[24 inch]", 10);
  EXPECT_EQ(env.session().PageText(), item);
  for (const char* sub : {"description", "features", "reviews"}) {
    env.Step("webshop", std::string("click[") + sub + "]", 10);
    ASSERT_EQ(env.session().state().kind, PageKind::kSubPage) << sub;
    EXPECT_EQ(env.session().PageText(), ReferencePage(sub)) << sub;
    env.Step("webshop", "click[< prev]", 10);
  }
  env.Step("webshop", "click[attributes]", 10);
  ASSERT_EQ(env.session().state().kind, PageKind::kSubPage);
  EXPECT_EQ(env.session().PageText(),
            ReplaceOnce(ReferencePage("attributes"),
                        " [SEP] beauty [SEP] hair extensions [SEP] Beauty & Personal Care \xE2\x80\xBA Hair Care \xE2\x80\xBA Hair "
                        "Extensions, Wigs & Accessories \xE2\x80\xBA Extensions",
                        ""));
}

TEST_F(WebShopPagesTest, InvalidActionsLeaveThePageAndSayWhy) {
  WebShopEnvOptions o;
  WebShopEnv env(catalog_, search_.get(), goal_, "g", o, GetTagPreset("paper").value());
  const std::string start = env.session().PageText();
  struct Case {
    const char* action;
    const char* why;
  };
  const Case on_search[] = {
      {"click[search]", "\"search\" is not clickable on this page"},
      {"click[buy now]", "\"buy now\" is not clickable on this page"},
      {"buy the thing", "expected search[keywords] or click[element], got \"buy the thing\""},
      {"search[]", "empty argument in \"search[]\""},
      {"purchase[b09qqldj93]", "unknown action \"purchase\""},
  };
  for (const auto& c : on_search) {
    auto r = env.Step("webshop", c.action, 10);
    EXPECT_FALSE(r.done);
    EXPECT_EQ(r.observation.rfind("Invalid action: ", 0), 0u) << r.observation;
    EXPECT_NE(r.observation.find(c.why), std::string::npos) << r.observation;
    EXPECT_EQ(env.session().PageText(), start);
  }
  env.Step("webshop", "search[wavy synthetic hair extensions]", 10);
  EXPECT_EQ(env.session().state().results.front(), "B09QQLDJ93");
  env.Step("webshop", "click[b09qqldj93]", 10);
  EXPECT_EQ(env.session().state().kind, PageKind::kItem);
  const std::string item = env.session().PageText();
  auto r = env.Step("webshop", "search[shampoo]", 10);
  EXPECT_NE(r.observation.find("search is only available on the search page"), std::string::npos);
  EXPECT_EQ(env.session().PageText(), item);
  r = env.Step("webshop", "click[b08xyz1234]", 10);  // a product link of the results page, not here
  EXPECT_NE(r.observation.find("not clickable"), std::string::npos);
  EXPECT_EQ(env.session().PageText(), item);
  // Back to Search clears the search and the options.
  env.Step("webshop", "click[dark brown]", 10);
  env.Step("webshop", "click[back to search]", 10);
  EXPECT_EQ(env.session().state().kind, PageKind::kSearch);
  EXPECT_TRUE(env.session().state().options.empty());
  EXPECT_EQ(env.steps(), 11);
  // search_anywhere: search works from an item page (WebShop's step()).
  o.search_anywhere = true;
  WebShopEnv any(catalog_, search_.get(), goal_, "g", o, GetTagPreset("paper").value());
  any.Step("webshop", "search[wavy]", 10);
  any.Step("webshop", "click[b09qqldj93]", 10);
  any.Step("webshop", "search[shampoo]", 10);
  EXPECT_EQ(any.session().state().kind, PageKind::kResults);
  EXPECT_EQ(any.session().state().results.front(), "B08XYZ1234");
}

TEST_F(WebShopPagesTest, ArbitraryModelOutputNeverBreaksTheSession) {
  // Random strings over an alphabet rich in brackets, spaces and UTF-8, mixed with valid actions.
  const std::vector<std::string> atoms = {"search", "click", "[", "]", " ", "next >", "< prev", "b09qqldj93", "buy now",
                                          "hair", "\xC3\xA9", "\xE2\x80\xBA", "\xFF", "[[", "]]", "description", "24 inch"};
  std::mt19937_64 rng(11);
  WebShopEnvOptions o;
  o.max_steps = 1 << 20;
  WebShopEnv env(catalog_, search_.get(), goal_, "g", o, GetTagPreset("paper").value());
  int invalid = 0, valid = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string a;
    const int n = std::uniform_int_distribution<int>(0, 6)(rng);
    for (int k = 0; k < n; ++k) a += atoms[std::uniform_int_distribution<size_t>(0, atoms.size() - 1)(rng)];
    if (i % 3 == 0) a = RandomAction(env.session(), rng);
    StepResult r = env.Step("webshop", a, 10);
    (r.observation.rfind("Invalid action: ", 0) == 0 ? invalid : valid)++;
    EXPECT_FALSE(env.session().PageText().empty());
    if (r.done) {
      EXPECT_GE(r.reward, 0.0);
      EXPECT_LE(r.reward, 1.0);
      env = WebShopEnv(catalog_, search_.get(), goal_, "g", o, GetTagPreset("paper").value());
    }
  }
  EXPECT_GT(invalid, 500);
  EXPECT_GT(valid, 500);
  // The same under mem1-code (WebShop's parser and silent no-ops).
  const TagPreset code = GetTagPreset("mem1-code").value();
  WebShopEnv ref(catalog_, search_.get(), goal_, "g", o, code);
  int bought = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string a;
    const int n = std::uniform_int_distribution<int>(0, 6)(rng);
    for (int k = 0; k < n; ++k) a += atoms[std::uniform_int_distribution<size_t>(0, atoms.size() - 1)(rng)];
    if (i % 3 == 0) a = RandomAction(ref.session(), rng);
    StepResult r = ref.Step("webshop", a, 3);
    ASSERT_EQ(r.observation.rfind(Mem1TurnHint(3) + "\n\n", 0), 0u) << r.observation;
    EXPECT_EQ(r.observation.back(), ']');
    if (r.done) {
      ++bought;
      EXPECT_GE(r.reward, 0.0);
      EXPECT_LE(r.reward, 1.0);
      ref = WebShopEnv(catalog_, search_.get(), goal_, "g", o, code);
    }
  }
  EXPECT_GT(bought, 0);
}

TEST_F(WebShopPagesTest, EpisodeEndsUnboughtAtMaxSteps) {
  WebShopEnvOptions o;
  o.max_steps = 3;
  WebShopEnv env(catalog_, search_.get(), goal_, "g", o, GetTagPreset("paper").value());
  EXPECT_FALSE(env.Step("webshop", "search[hair]", 10).done);
  EXPECT_FALSE(env.Step("webshop", "click[next >]", 10).done);
  auto r = env.Step("webshop", "click[< prev]", 10);
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.reward, 0.0);
  EXPECT_EQ(r.metrics.at("bought"), 0.0);
  EXPECT_NE(r.observation.find("Page 1 (Total results: 14)"), std::string::npos);
}

TEST_F(WebShopPagesTest, PromptCarriesInstructionFirstPageAndTags) {
  WebShopEnvOptions o;
  WebShopEnv env(catalog_, search_.get(), goal_, "g", o, GetTagPreset("paper").value());
  const std::string p = env.Prompt();
  EXPECT_NE(p.find("<IS> ... </IS>"), std::string::npos);
  EXPECT_NE(p.find("<action>search[keywords]</action>"), std::string::npos);
  EXPECT_NE(p.find("Instruction: " + goal_.instruction_text), std::string::npos);
  EXPECT_NE(p.find("Current page: WebShop [SEP] Instruction: [SEP] "), std::string::npos);
  // The turn grammar parses an expert turn against this env's actions.
  const TagPreset preset = GetTagPreset("paper").value();
  const std::string action = ExpertAction(env.session());
  const std::string turn = "<IS>" + ExpertState(env.session(), action) + "</IS><action>" + action + "</action>";
  ParsedTurn t = ParseTurn(turn, preset, env.Actions(), false);
  EXPECT_EQ(t.error, TurnError::kNone);
  EXPECT_EQ(t.action, "webshop");
  EXPECT_EQ(t.action_content.rfind("search[", 0), 0u);
}


// --- the mem1-code presets: MEM1's WebShop protocol ------------------------------------------

// A golden file of tests/golden/mem1_code/ (no trailing newline added: compared byte for byte).
std::string Mem1Golden(const std::string& name) {
  const std::string path = MEM1_SOURCE_DIR "/tests/golden/mem1_code/" + name;
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// tests/golden/mem1_code/webshop_prompt.txt and webshop_state_*.txt were rendered by the
// reference code, not by ours: MEM1's make_prefix / generation_webagent.py state f-string over
// WebShop's real templates (jinja2 + bs4, /tmp/ref/sim/gen_mem1.py of the protocol spec), for
// this fixture goal and the search "hair extensions clip in". The step in each name only picks
// the hint (max_turns 10).

TEST_F(WebShopPagesTest, Mem1CodePromptIsMem1sVerbatim) {
  for (const char* name : {"mem1-code", "mem1-code-eval"}) {
    const TagPreset preset = GetTagPreset(name).value();
    WebShopEnvOptions o;
    o.preset = preset;
    WebShopEnv env(catalog_, search_.get(), goal_, "g", o, preset);
    EXPECT_EQ(env.Prompt(), Mem1Golden("webshop_prompt.txt")) << name;
    EXPECT_EQ(env.ObservationTags(preset).open, "<state>");
    EXPECT_EQ(env.ObservationTags(preset).close, "</state>");
    EXPECT_DOUBLE_EQ(env.MalformedReward(), -1.0);
  }
  // The paper preset is unchanged.
  WebShopEnv paper(catalog_, search_.get(), goal_, "g", WebShopEnvOptions(), GetTagPreset("paper").value());
  EXPECT_NE(paper.Prompt().find("<IS> ... </IS>"), std::string::npos);
  EXPECT_EQ(paper.ObservationTags(GetTagPreset("paper").value()).open, "<info>");
  EXPECT_DOUBLE_EQ(paper.MalformedReward(), 0.0);
}

TEST_F(WebShopPagesTest, Mem1CodeStatesMatchTheReferenceRendering) {
  const TagPreset preset = GetTagPreset("mem1-code").value();
  WebShopEnvOptions o;
  o.lexicon = SystemLexicon();
  WebShopEnv env(catalog_, search_.get(), goal_, "g", o, preset);
  TagPreset wrap = preset;  // as the rollout engine wraps this env's observations
  wrap.observation = env.ObservationTags(preset);
  auto state = [&](const std::string& action, int turns_left) {
    StepResult r = env.Step("webshop", action, turns_left);
    EXPECT_FALSE(r.done) << action;
    return WrapObservation(wrap, r.observation);
  };
  EXPECT_EQ(PythonListRepr(env.session().Mem1AvailableActions()), "['search[<content>]']");
  // max_turns 10: iteration k leaves 10 - k - 1 turns.
  EXPECT_EQ(state("search[hair extensions clip in]", 9), Mem1Golden("webshop_state_results_page1_step0.txt"));
  EXPECT_EQ(env.session().state().results.size(), 14u);
  EXPECT_EQ(state("click[next >]", 1), Mem1Golden("webshop_state_results_page2_step8.txt"));
  EXPECT_EQ(state("click[b09qqldj93]", 8), Mem1Golden("webshop_state_item_step1.txt"));
  EXPECT_EQ(state("click[natural black]", 7), Mem1Golden("webshop_state_item_opts_step2.txt"));
  EXPECT_EQ(state("click[description]", 0), Mem1Golden("webshop_state_description_step9.txt"));
  state("click[< prev]", 5);
  ASSERT_EQ(env.session().state().kind, PageKind::kItem);
  EXPECT_EQ(env.session().state().options.size(), 1u);
  // The done page: the episode ends with WebShop's reward, unscaled. (Only the score differs
  // from the golden, whose value was illustrative.)
  StepResult r = env.Step("webshop", "click[buy now]", 6);
  ASSERT_TRUE(r.done);
  EXPECT_GT(r.reward, 0.0);
  EXPECT_LT(r.reward, 1.0);  // one of the goal's two options chosen
  EXPECT_DOUBLE_EQ(r.reward, r.metrics.at("webshop_reward"));
  EXPECT_EQ(WrapObservation(wrap, r.observation),
            ReplaceOnce(Mem1Golden("webshop_state_done_step3.txt"), "[SEP] 0.6666666666666666 [SEP]",
                        "[SEP] " + PyFloat(r.reward) + " [SEP]"));
  EXPECT_DOUBLE_EQ(r.metrics.at("invalid_actions"), 0.0);
  // Pages past the last one still offer "Next >" (the reference template always has it).
  WebShopEnv far(catalog_, search_.get(), goal_, "g", o, preset);
  far.Step("webshop", "search[hair extensions clip in]", 9);
  far.Step("webshop", "click[next >]", 8);
  const std::string page3 = far.Step("webshop", "click[next >]", 7).observation;
  EXPECT_NE(page3.find("[SEP] Page 3 (Total results: 14) [SEP] < Prev [SEP] Next >\n\nCurrent available actions: "
                       "['click[back to search]', 'click[< prev]', 'click[next >]']"),
            std::string::npos)
      << page3;
}

TEST_F(WebShopPagesTest, Mem1CodeBadActionsAreSilentNoOps) {
  const TagPreset preset = GetTagPreset("mem1-code").value();
  WebShopEnvOptions o;
  o.max_steps = 2;  // not used under the reference presets: actor.max_turns ends the episode
  WebShopEnv env(catalog_, search_.get(), goal_, "g", o, preset);
  const std::string search_page = ReferencePage("search");
  for (const char* a : {"click[search]", "click[buy now]", "buy the thing", "search[]", "purchase[b09qqldj93]", ""}) {
    StepResult r = env.Step("webshop", a, 5);
    EXPECT_FALSE(r.done) << a;
    EXPECT_EQ(r.reward, 0.0);
    EXPECT_EQ(r.observation, Mem1TurnHint(5) + "\n\n" + search_page + "\n\nCurrent available actions: ['search[<content>]']")
        << a;
  }
  env.Step("webshop", "search[wavy synthetic hair extensions]", 5);
  env.Step("webshop", "Click[b09qqldj93]", 5);  // verb is case-sensitive: no-op
  ASSERT_EQ(env.session().state().kind, PageKind::kResults);
  env.Step("webshop", "click[B09QQLDJ93]", 5);  // the argument is lower-cased: opens the item
  ASSERT_EQ(env.session().state().kind, PageKind::kItem);
  const std::string item = env.session().PageText();
  EXPECT_EQ(item, ReferencePage("item"));  // show_attrs=False: no Attributes
  for (const char* a : {"click[b08xyz1234]", "click[attributes]", "click[ buy now ]", "click[next >]", "click[buy\nnow]",
                        "click[natural black] and more text]"}) {
    StepResult r = env.Step("webshop", a, 3);
    EXPECT_FALSE(r.done) << a;
    EXPECT_EQ(r.observation.find("Invalid"), std::string::npos) << r.observation;
    EXPECT_EQ(env.session().PageText(), item) << a;
    EXPECT_EQ(env.session().state().kind, PageKind::kItem) << a;
    EXPECT_TRUE(env.session().state().options.empty()) << a;
  }
  EXPECT_EQ(env.steps(), 15);  // no end at max_steps
  // Text after the last ']' is ignored; search works from any page.
  env.Step("webshop", "click[natural black] please", 3);
  EXPECT_EQ(env.session().state().options.at("color"), "natural black");
  env.Step("webshop", "search[shampoo]", 3);
  EXPECT_EQ(env.session().state().kind, PageKind::kResults);
  EXPECT_EQ(env.session().state().results.front(), "B08XYZ1234");
  EXPECT_TRUE(env.session().state().options.empty());
  StepResult t = env.Truncate();
  EXPECT_EQ(t.reward, 0.0);
  EXPECT_GT(t.metrics.at("invalid_actions"), 10.0);  // MEM1's action_is_valid metric
}

// Expected pages: the same product data rendered with WebShop's templates (jinja2 + bs4 4.11),
// i.e. what WebAgentTextEnv shows: whitespace-only text nodes without a newline leave empty
// segments, with a newline they vanish; other nodes are str.strip()ped (U+00A0 too).
TEST_F(WebShopPagesTest, Mem1CodePagesKeepBs4TextNodes) {
  Catalog c = *catalog_;
  Product& p = c.products[c.by_asin.at("B09QQLDJ93")];
  p.bullet_points = {"", "a", " ", "\n", "x\ny", "\xC2\xA0", " b "};
  p.description = " ";
  p.title = "Title with nbsp\xC2\xA0";
  p.options = {{"color", {"natural black", "dup"}}, {"size", {"dup", "it's \"q\""}}};
  const TagPreset preset = GetTagPreset("mem1-code").value();
  WebShopEnv env(&c, search_.get(), goal_, "g", WebShopEnvOptions(), preset);
  env.Step("webshop", "search[wavy synthetic hair extensions]", 5);
  env.Step("webshop", "click[b09qqldj93]", 5);
  const std::string head = "Instruction: [SEP] " + goal_.instruction_text + " [SEP] Back to Search [SEP] < Prev";
  EXPECT_EQ(env.session().PageText(), head + " [SEP] color [SEP] natural black [SEP] dup [SEP] size [SEP] dup [SEP] "
                                             "it's \"q\" [SEP] Title with nbsp [SEP] Price: $29.99 [SEP] Rating: N.A. "
                                             "[SEP] Description [SEP] Features [SEP] Reviews [SEP] Buy Now");
  EXPECT_EQ(PythonListRepr(env.session().Mem1AvailableActions()),
            "['click[back to search]', 'click[< prev]', 'click[description]', 'click[features]', 'click[reviews]', "
            "'click[buy now]', 'click[natural black]', 'click[dup]', 'click[it\\'s \"q\"]']");
  env.Step("webshop", "click[dup]", 5);  // text_to_clickable keeps the last radio: group "size"
  EXPECT_EQ(env.session().state().options, (std::map<std::string, std::string>{{"size", "dup"}}));
  env.Step("webshop", "click[features]", 5);
  EXPECT_EQ(env.session().PageText(), head + " [SEP]  [SEP] a [SEP]  [SEP] x\ny [SEP]  [SEP] b");
  env.Step("webshop", "click[< prev]", 5);
  env.Step("webshop", "click[description]", 5);
  EXPECT_EQ(env.session().PageText(), head + " [SEP] ");
  p.description = "";
  EXPECT_EQ(env.session().PageText(), head);
}

TEST_F(WebShopPagesTest, Mem1CodeMalformedTurnEndsWithMinusOne) {
  const TagPreset preset = GetTagPreset("mem1-code").value();
  WebShopEnv env(catalog_, search_.get(), goal_, "g", WebShopEnvOptions(), preset);
  const auto actions = env.Actions();
  for (const std::string bad : {
           "<think>t</think>\n<answer>search[x]</answer>",                                  // no summary
           "<summary>s</summary>\n<answer>search[x]</answer>",                              // no think
           "<think>t</think><summary>s</summary>",                                          // no answer
           "<think>t</think><summary>s <think></summary><answer>search[x]</answer>",         // a 3rd think mention
           "<think>t</think><summary>s</summary><answer>a</answer><answer>b</answer>",      // two answers
           "<think>t</think><summary>s</summary><answer>search[x]",                         // unclosed
       }) {
    const ParsedTurn t = ParseTurn(bad, preset, actions, false);
    EXPECT_NE(t.error, TurnError::kNone) << bad;
    EXPECT_TRUE(t.feedback.empty()) << bad;
  }
  EXPECT_DOUBLE_EQ(env.MalformedReward(), -1.0);
  // A well-formed turn: the first answer, stripped, with &gt; as '>'; order is not checked.
  const ParsedTurn ok = ParseTurn("<summary>S</summary>\n<answer> search[hair extensions clip in] </answer><think>t</think>",
                                  preset, actions, false);
  ASSERT_EQ(ok.error, TurnError::kNone);
  EXPECT_EQ(ok.state, "S");
  env.Step(ok.action, ok.action_content, 9);
  ASSERT_EQ(env.session().state().kind, PageKind::kResults);
  const ParsedTurn next = ParseTurn("<think>t</think><summary>S</summary><answer>click[next &gt;]</answer>", preset, actions,
                                    false);
  ASSERT_EQ(next.error, TurnError::kNone);
  EXPECT_EQ(next.action_content, "click[next >]");
  env.Step(next.action, next.action_content, 8);
  EXPECT_EQ(env.session().state().page, 2);
}

TEST_F(WebShopPagesTest, Mem1CodeExpertWritesValidMem1Turns) {
  const TagPreset preset = GetTagPreset("mem1-code").value();
  WebShopEnvOptions o;
  o.lexicon = SystemLexicon();
  WebShopEnv env(catalog_, search_.get(), goal_, "g", o, preset);
  for (int turn = 0; turn < 10; ++turn) {
    const std::string text = ExpertTurn(env.session(), preset);  // WebShopExpertPolicy's turn
    const ParsedTurn p = ParseTurn(text, preset, env.Actions(), false);
    ASSERT_EQ(p.error, TurnError::kNone) << text;
    EXPECT_FALSE(p.state.empty());
    const StepResult r = env.Step(p.action, p.action_content, 9 - turn);
    if (r.done) {
      EXPECT_GT(r.reward, 0.0);
      return;
    }
  }
  ADD_FAILURE() << "the expert did not buy within 10 turns";
}

// WebShop's get_reward on a synthetic goal (a dict): the goal side of get_option_reward is
// goal_options.items(), i.e. (name, value) tuples. Expected counts: thefuzz 0.19 (difflib) in
// Python, as in the protocol spec's table.
TEST_F(WebShopPagesTest, Mem1CodeSyntheticGoalOptionsCompareAsTuples) {
  EXPECT_EQ(SyntheticGoalOption("size", "x-large"), "('size', 'x-large')");
  EXPECT_EQ(SyntheticGoalOption("size", "men's 10"), "('size', \"men's 10\")");
  EXPECT_EQ(SyntheticGoalOption("scent", "lavender"), "lavender");  // `color in tuple`: equality
  EXPECT_EQ(SyntheticGoalOption("color", "natural black"), "('color', 'natural black')");
  const Product& p = *catalog_->Find("B09QQLDJ93");
  Goal g = goal_;
  g.goal_option_names = {"size"};
  g.goal_options = {"x-large"};
  auto matches = [&](const std::map<std::string, std::string>& chosen, bool tuples) {
    return GetReward(p, g, 10.0, chosen, SystemLexicon(), tuples).num_option_matches;
  };
  EXPECT_EQ(matches({{"size", "size"}}, true), 1);
  EXPECT_EQ(matches({{"size", "size"}}, false), 0);
  EXPECT_EQ(matches({{"size", "large"}}, true), 1);
  EXPECT_EQ(matches({{"size", "large"}}, false), 1);
  g.goal_option_names = {"color", "size"};
  g.goal_options = {"natural black", "24 inch"};
  EXPECT_EQ(matches({{"color", "natural black"}, {"size", "24 inch"}}, true), 2);
  EXPECT_EQ(matches({{"color", "natural black"}, {"size", "24 inch"}}, false), 2);
  // A human goal (no option names) takes the values path either way.
  g.goal_option_names.clear();
  g.goal_options = {"x-large"};
  EXPECT_EQ(matches({{"size", "size"}}, true), 0);
}
}  // namespace
}  // namespace mem1::webshop
