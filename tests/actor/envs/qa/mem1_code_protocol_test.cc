// The mem1-code presets against texts written from the MEM1 reference code (MIT-MI/MEM1 at
// 6f22061), never produced by our code:
//   tests/golden/mem1_code/qa_prompt_q2.txt        the user content that gen_data/data_process/
//       qa_search_train_merge_multi.py builds for two NQ questions (made by running its
//       make_prefix / process_batch on them);
//   tests/golden/mem1_code/qa_prompt_q2_chatml.txt the same content through Qwen2.5's chat
//       template with add_generation_prompt=True (rendered with jinja2, as transformers does);
//   tests/golden/mem1_code/qwen2.5_tokenizer_config.json  a tokenizer_config.json carrying the
//       Qwen2.5 chat template (the `auto` setting reads it).
// Observation and normalisation literals below are the reference's f-strings / functions
// evaluated by hand or with CPython (stated at each).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "actor/envs/qa/answer_metrics.h"
#include "actor/envs/qa/qa_env.h"
#include "common/memory/tag_grammar.h"
#include "common/tokenizer/chat_template.h"
#include "common/util/strings.h"

namespace mem1 {
namespace {

namespace fs = std::filesystem;

std::string Golden(const std::string& name) {
  std::ifstream in(std::string(MEM1_SOURCE_DIR) + "/tests/golden/mem1_code/" + name, std::ios::binary);
  EXPECT_TRUE(in.good()) << name;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

QaTask NqPair() {
  return QaTask{"t", {{"1", "who got the first nobel prize in physics", {"Wilhelm Conrad Röntgen"}, {}},
                      {"2", "when is the next deadpool movie being released", {"May 18, 2018"}, {}}}};
}

TEST(Mem1CodeQaTest, PromptIsTheReferenceDataBuildersText) {
  const TagPreset code = GetTagPreset("mem1-code").value();
  QaEnvOptions o;
  o.preset = code;
  QaEnv env(NqPair(), nullptr, o, code);
  EXPECT_EQ(env.Prompt(), Golden("qa_prompt_q2.txt"));
  // Questions that already end with "?" get none; the multi-objective builder does not strip.
  QaTask t = NqPair();
  t.questions[0].question = "who got the first nobel prize in physics?";
  t.questions[1].question = "when is it ";
  const std::string p = QaEnv(t, nullptr, o, code).Prompt();
  EXPECT_NE(p.find("Answer the following questions: who got the first nobel prize in physics?; when is it ?\n"),
            std::string::npos);
  // One objective: the one-question template, question stripped first.
  QaTask one{"o", {{"1", "  where is paris ", {"France"}, {}}}};
  const std::string single = QaEnv(one, nullptr, o, code).Prompt();
  EXPECT_EQ(single.rfind("You will answer a complex question through iterative reasoning, summarization, and web searches.\n\n", 0), 0u);
  EXPECT_EQ(single.substr(single.size() - 41), "</answer>.\n   \nQuestion: where is paris?\n");
  // The paper preset keeps our own numbered wording.
  EXPECT_NE(QaEnv(NqPair(), nullptr, QaEnvOptions{}, TagPreset{}).Prompt().find(" Q1: who got"), std::string::npos);
}

TEST(Mem1CodeQaTest, ChatTemplateAutoFromTokenizerConfigMatchesQwen25Rendering) {
  const fs::path dir = fs::temp_directory_path() / ("mem1_chat_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  fs::copy_file(std::string(MEM1_SOURCE_DIR) + "/tests/golden/mem1_code/qwen2.5_tokenizer_config.json",
                dir / "tokenizer_config.json", fs::copy_options::overwrite_existing);
  auto t = ResolveChatTemplate("auto", dir.string(), "");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->kind, ChatTemplate::Kind::kChatMl);
  EXPECT_EQ(t->system, kQwen25SystemMessage);
  const TagPreset code = GetTagPreset("mem1-code").value();
  QaEnvOptions o;
  o.preset = code;
  EXPECT_EQ(t->Apply(QaEnv(NqPair(), nullptr, o, code).Prompt()), Golden("qa_prompt_q2_chatml.txt"));
  // The tokenizer path's directory is searched too; chatml without a file = Qwen2.5's default.
  auto beside = ResolveChatTemplate("chatml", "", (dir / "tokenizer.json").string());
  ASSERT_TRUE(beside.ok());
  EXPECT_EQ(beside->system, kQwen25SystemMessage);
  EXPECT_EQ(ResolveChatTemplate("chatml", "", "").value().system, kQwen25SystemMessage);
  // No tokenizer_config.json: auto = none; none is none even with one.
  EXPECT_EQ(ResolveChatTemplate("auto", "/nonexistent", "").value().kind, ChatTemplate::Kind::kNone);
  EXPECT_EQ(ResolveChatTemplate("none", dir.string(), "").value().Apply("x"), "x");
  // Qwen2's template (default system "You are a helpful assistant.") and one without a default.
  std::ofstream(dir / "tokenizer_config.json")
      << R"({"chat_template": "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"})";
  EXPECT_EQ(ResolveChatTemplate("auto", dir.string(), "").value().Apply("Q"),
            "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n");
  std::ofstream(dir / "tokenizer_config.json")
      << R"({"chat_template": "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n'}}{% endfor %}"})";
  EXPECT_EQ(ResolveChatTemplate("auto", dir.string(), "").value().Apply("Q"),
            "<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n");
  // A template that is not ChatML, bad JSON, a bad setting: one-line errors naming the cause.
  std::ofstream(dir / "tokenizer_config.json") << R"({"chat_template": "[INST] {{ messages[0]['content'] }} [/INST]"})";
  auto llama = ResolveChatTemplate("auto", dir.string(), "");
  EXPECT_EQ(llama.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(llama.status().message().find("is not ChatML"), std::string::npos);
  std::ofstream(dir / "tokenizer_config.json") << "{not json";
  EXPECT_NE(ResolveChatTemplate("auto", dir.string(), "").status().message().find("invalid JSON"), std::string::npos);
  EXPECT_EQ(ResolveChatTemplate("jinja", "", "").status().message(),
            "tokenizer.chat_template: expected one of {none, chatml, auto}, got \"jinja\"");
  fs::remove_all(dir);
}

TEST(Mem1CodeQaTest, ObservationsAreTheReferenceInformationBlocks) {
  // wiki-18 contents keep the title line's quotes; Doc lines as _passages2string writes them.
  const std::vector<SearchHit> hits = {{"1", "\"A\"\na", 3}, {"2", "\"B\"\nb", 2}, {"3", "\"C\"\nc", 1}};
  const TagPreset code = GetTagPreset("mem1-code").value(), eval = GetTagPreset("mem1-code-eval").value();
  // generation_think.py L607: f'\n\n<information>{hint}\n\n{search_results.pop(0).strip()}</information>\n\n'
  // at step 0 of 6 (5 turns left).
  EXPECT_EQ(WrapObservation(code, RenderSearchObservation(hits, 5, code)),
            "\n\n<information>[HINT]You have 5 turns left.[/HINT]\n\nDoc 1(Title: \"A\") a\nDoc 2(Title: \"B\") b\n"
            "Doc 3(Title: \"C\") c</information>\n\n");
  EXPECT_EQ(WrapObservation(code, RenderSearchObservation(hits, 1, code)),
            "\n\n<information>[HINT]You have 1 turn left. You must answer the question in the next turn.[/HINT]\n\n"
            "Doc 1(Title: \"A\") a\nDoc 2(Title: \"B\") b\nDoc 3(Title: \"C\") c</information>\n\n");
  EXPECT_EQ(WrapObservation(code, RenderSearchObservation(hits, 0, code)),
            "\n\n<information>\n\nDoc 1(Title: \"A\") a\nDoc 2(Title: \"B\") b\nDoc 3(Title: \"C\") c</information>\n\n");
  // inference/data_pipelines.py L164: f"<information>\n{hint}\n{search_results}\n</information>".
  EXPECT_EQ(WrapObservation(eval, RenderSearchObservation(hits, 5, eval)),
            "<information>\n[HINT]You have 5 turns left.[/HINT]\nDoc 1(Title: \"A\") a\nDoc 2(Title: \"B\") b\n"
            "Doc 3(Title: \"C\") c\n\n</information>");
  EXPECT_EQ(WrapObservation(eval, RenderSearchObservation(hits, 1, eval)),
            "<information>\n[HINT]You have 1 turn left. You must answer the question now.[/HINT]\nDoc 1(Title: \"A\") a\n"
            "Doc 2(Title: \"B\") b\nDoc 3(Title: \"C\") c\n\n</information>");
  // A passage without a newline: title = everything, text "".
  EXPECT_EQ(RenderSearchObservation({{"1", "x", 1}}, 2, code), "[HINT]You have 2 turns left.[/HINT]\n\nDoc 1(Title: x)");
}

TEST(Mem1CodeQaTest, TurnsParseAsTheReferenceDoes) {
  const TagPreset code = GetTagPreset("mem1-code").value(), eval = GetTagPreset("mem1-code-eval").value();
  const std::vector<ActionSpec> qa = {{"search", false}, {"answer", true}};
  // <think> is optional; content is stripped.
  auto p = ParseTurn("<search>  capital of France \n</search>", code, qa, false);
  EXPECT_EQ(p.error, TurnError::kNone);
  EXPECT_EQ(p.action, "search");
  EXPECT_EQ(p.action_content, "capital of France");
  EXPECT_EQ(p.state, "");
  // The earliest complete pair wins (re.search(r'<(answer|search)>(.*?)</\1>')); a second
  // action is not an error.
  p = ParseTurn("<think> notes </think><answer>Paris; Lima</answer><search>x</search>", code, qa, false);
  EXPECT_EQ(p.error, TurnError::kNone);
  EXPECT_EQ(p.state, "notes");
  EXPECT_EQ(p.action, "answer");
  EXPECT_TRUE(p.terminal);
  p = ParseTurn("<search>unclosed <answer>Paris</answer>", code, qa, false);
  EXPECT_EQ(p.action, "answer");
  // mem1-code-eval's act(): a complete search pair is taken first.
  p = ParseTurn("<answer>Paris</answer><search>x</search>", eval, qa, false);
  EXPECT_EQ(p.action, "search");
  // No complete pair: an error with no feedback text (the engine ends the episode, reward 0).
  p = ParseTurn("<think>only thinking</think>", code, qa, false);
  EXPECT_EQ(p.error, TurnError::kNoAction);
  EXPECT_EQ(p.feedback, "");
  EXPECT_EQ(ParseTurn("<search>never closed", code, qa, false).error, TurnError::kUnclosedTag);
  EXPECT_EQ(ParseTurn("<search>never closed", code, qa, true).error, TurnError::kTokenLimit);
}

TEST(Mem1CodeQaTest, TheNextContextKeepsWhatTheReferenceKeeps) {
  const TagPreset code = GetTagPreset("mem1-code").value(), eval = GetTagPreset("mem1-code-eval").value();
  const std::vector<ActionSpec> qa = {{"search", false}, {"answer", true}};
  // generation_think.py: "<think>" + resp.split('<think>')[1] (text before the first <think>
  // and from a second <think> on is dropped).
  EXPECT_EQ(KeptTurnText(code, qa, "ok <think>a</think><search>q</search>"), "<think>a</think><search>q</search>");
  EXPECT_EQ(KeptTurnText(code, qa, "<think>a</think> <think>b</think><search>q</search>"), "<think>a</think> ");
  EXPECT_EQ(KeptTurnText(code, qa, "<search>q</search>"), "<search>q</search>");
  // data_pipelines.py keeps the whole response; paper keeps everything.
  EXPECT_EQ(KeptTurnText(eval, qa, "ok <think>a</think><search>q</search>"), "ok <think>a</think><search>q</search>");
  EXPECT_EQ(KeptTurnText(TagPreset{}, qa, "x <IS>a</IS>"), "x <IS>a</IS>");
  // generation_webagent.py: resp.split('</think>')[1].
  const std::vector<ActionSpec> ws = {{"webshop", false}};
  EXPECT_EQ(KeptTurnText(code, ws, "<think>t</think>\n<summary>S</summary>\n<answer>search[x]</answer>"),
            "\n<summary>S</summary>\n<answer>search[x]</answer>");
}

TEST(Mem1CodeQaTest, AnswerNormalisationIsSquadsWithAsciiPunctuation) {
  // Expected values: MEM1 qa_multiple.py normalize_answer evaluated with CPython 3.11.7.
  struct Case {
    const char* in;
    const char* reference;
  };
  const Case cases[] = {
      {"U.S. $5+ <b>", "us 5 b"},
      {"The\u2013end", "\u2013end"},        // en dash is not ASCII punctuation; \b splits "the"
      {"Paris\u3002", "paris\u3002"},       // ideographic full stop kept
      {"l'homme", "lhomme"},
      {"A\u00a0Tale of The  Two", "tale of two"},
      {"the_end", "theend"},                // '_' is punctuation, removed before the article rule
      {"th\u00e9 end", "th\u00e9 end"},
      {"an", ""},
      {"\u00c1nd a b", "\u00e1nd b"},
      {"$+<=>^`|~", ""},
      {"a\u0301b the", "\u0301b"},          // a combining mark is not \w
      {"x\u2003the\u2003y", "x y"},         // em space is whitespace for str.split()
      {"The Beatles!", "beatles"},
  };
  for (const auto& c : cases) EXPECT_EQ(NormalizeAnswer(c.in, AnswerNormalization::kReference), c.reference) << c.in;
  // Ours (paper) differs where documented: Unicode punctuation goes, ASCII symbols stay.
  EXPECT_EQ(NormalizeAnswer("Paris\u3002"), "paris");
  EXPECT_EQ(NormalizeAnswer("$+<=>^`|~"), "$+<=>^`|~");
  // The reward under mem1-code: sum of per-position EM, extra answers ignored.
  QaEnvOptions o;
  o.normalization = AnswerNormalization::kReference;
  EXPECT_EQ(ScoreAnswers(NqPair(), " wilhelm conrad röntgen ; May 18 2018 ; extra", o).reward, 2.0);
  EXPECT_EQ(ScoreAnswers(NqPair(), "Röntgen", o).reward, 0.0);
}

TEST(PythonStripTest, StripsWhatPythonCountsAsWhitespace) {
  EXPECT_EQ(PythonStrip(" \t\n\v\f\r\x1c x y \x1f"), "x y");
  EXPECT_EQ(PythonStrip("\u00a0\u3000x\u2029\u0085"), "x");
  EXPECT_EQ(PythonStrip("\u200bx"), "\u200bx");  // zero-width space is not whitespace in Python
  EXPECT_EQ(PythonStrip("   "), "");
  EXPECT_EQ(PythonStrip(""), "");
}

}  // namespace
}  // namespace mem1
