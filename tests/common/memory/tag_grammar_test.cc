#include "common/memory/tag_grammar.h"

#include <gtest/gtest.h>

namespace mem1 {
namespace {

const std::vector<ActionSpec> kQa = {{"search", false}, {"answer", true}};

TagPreset Paper() { return GetTagPreset("paper").value(); }

TEST(TagGrammarTest, WellFormedSearchAndAnswer) {
  auto r = ParseTurn("<IS> Q1 answered: Paris. Need Q2. </IS><query>capital of Peru</query>", Paper(), kQa, false);
  EXPECT_EQ(r.error, TurnError::kNone);
  EXPECT_EQ(r.state, "Q1 answered: Paris. Need Q2.");
  EXPECT_EQ(r.action, "search");
  EXPECT_EQ(r.action_content, "capital of Peru");
  EXPECT_FALSE(r.terminal);
  auto a = ParseTurn("<IS>done</IS>\n<answer>Paris; Lima</answer>", Paper(), kQa, false);
  EXPECT_EQ(a.error, TurnError::kNone);
  EXPECT_EQ(a.action, "answer");
  EXPECT_TRUE(a.terminal);
  EXPECT_EQ(a.action_content, "Paris; Lima");
}

TEST(TagGrammarTest, Mem1CodePresetUsesThinkSearchInformation) {
  auto p = GetTagPreset("mem1-code").value();
  EXPECT_EQ(p.state.open, "<think>");
  EXPECT_EQ(p.observation.open, "<information>");
  EXPECT_EQ(p.ActionTags("search").open, "<search>");
  auto r = ParseTurn("<think>s</think><search>q</search>", p, kQa, false);
  EXPECT_EQ(r.error, TurnError::kNone);
  EXPECT_EQ(r.action, "search");
  EXPECT_FALSE(GetTagPreset("other").ok());
}

TEST(TagGrammarTest, DefaultPresetIsPaper) {
  const TagPreset d, paper = GetTagPreset("paper").value();
  EXPECT_EQ(d.name, "paper");
  for (const char* action : {"search", "answer", "webshop"}) {
    EXPECT_EQ(d.ActionTags(action).open, paper.ActionTags(action).open);
    EXPECT_EQ(d.ActionTags(action).close, paper.ActionTags(action).close);
  }
  EXPECT_EQ(d.ActionTags("search").open, "<query>");
  EXPECT_EQ(d.state.close, "</IS>");
  EXPECT_EQ(d.observation.close, "</info>");
  auto bad = GetTagPreset("papr");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "unknown tag preset \"papr\" (expected paper, mem1-code or mem1-code-eval)");
}

struct Case {
  const char* text;
  bool limit;
  TurnError error;
  const char* flag;
  const char* feedback_part;
};

TEST(TagGrammarTest, MalformedOutputGivesFeedbackAndFlag) {
  const Case cases[] = {
      {"just an answer: Paris", false, TurnError::kNoState, "no_state", "has no <IS>...</IS> internal state"},
      {"<IS>thinking</IS> and nothing else", false, TurnError::kNoAction, "no_action", "no action"},
      {"<IS>s</IS><query>a</query><answer>b</answer>", false, TurnError::kMultipleActions, "multiple_actions",
       "more than one action"},
      {"<IS>s</IS><query>a</query><query>b</query>", false, TurnError::kMultipleActions, "multiple_actions",
       "more than one action"},
      {"<IS>never closed <query>x</query>", false, TurnError::kUnclosedTag, "unclosed_tag", "never closed with </IS>"},
      {"<IS>s</IS><answer>unterminated", false, TurnError::kUnclosedTag, "unclosed_tag", "never closed with </answer>"},
      {"<IS>a very long state that never", true, TurnError::kTokenLimit, "token_limit", "per-turn token limit"},
      {"<IS>s</IS><query>cut", true, TurnError::kTokenLimit, "token_limit", "inside the action"},
  };
  for (const auto& c : cases) {
    auto r = ParseTurn(c.text, Paper(), kQa, c.limit);
    EXPECT_EQ(r.error, c.error) << c.text;
    EXPECT_STREQ(TurnErrorFlag(r.error), c.flag) << c.text;
    EXPECT_NE(r.feedback.find(c.feedback_part), std::string::npos) << c.text << " -> " << r.feedback;
    // Every feedback tells the agent the expected format.
    EXPECT_NE(r.feedback.find("<query>...</query> or <answer>...</answer>"), std::string::npos) << r.feedback;
  }
}

TEST(TagGrammarTest, ActionTagsInsideTheStateDoNotCount) {
  auto r = ParseTurn("<IS>last time I used <query>x</query></IS><answer>y</answer>", Paper(), kQa, false);
  EXPECT_EQ(r.error, TurnError::kNone);
  EXPECT_EQ(r.action, "answer");
  EXPECT_EQ(r.state, "last time I used <query>x</query>");
}

TEST(TagGrammarTest, UndeclaredActionIsNoAction) {
  auto r = ParseTurn("<IS>s</IS><click>x</click>", Paper(), kQa, false);
  EXPECT_EQ(r.error, TurnError::kNoAction);
}

}  // namespace
}  // namespace mem1

namespace mem1 {
namespace {

// generation_think.py / generation_webagent.py `_postprocess_responses`; expected texts are
// what its Python expressions return for these inputs.
TEST(TagGrammarTest, ReferenceResponseCutFollowsMem1sPostprocess) {
  const TagPreset p = GetTagPreset("mem1-code").value();
  EXPECT_EQ(ReferenceResponseCut(p, kQa, "<think>a</think><search>q</search> more <search>r</search>"),
            "<think>a</think><search>q</search>");
  // </answer> wins over an earlier </search>: both are kept.
  EXPECT_EQ(ReferenceResponseCut(p, kQa, "<think>a</think><search>q</search> x <answer>A</answer> tail</answer>"),
            "<think>a</think><search>q</search> x <answer>A</answer>");
  EXPECT_EQ(ReferenceResponseCut(p, kQa, "<think>a</think> no action"), "<think>a</think> no action");
  EXPECT_EQ(ReferenceResponseCut(p, kQa, "<answer>A</answer><search>q</search>"), "<answer>A</answer>");
  const std::vector<ActionSpec> web = {{"webshop", false}};
  EXPECT_EQ(ReferenceResponseCut(p, web, "<think>t</think><summary>s</summary><answer>click[buy now]</answer>\n<think>again"),
            "<think>t</think><summary>s</summary><answer>click[buy now]</answer>");
  EXPECT_EQ(ReferenceResponseCut(p, web, "<search>x</search>"), "<search>x</search>");  // WebShop cuts at </answer> only
}

}  // namespace
}  // namespace mem1
