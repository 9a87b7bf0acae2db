#include "actor/envs/qa/qa_env.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>

#include "actor/envs/qa/answer_metrics.h"
#include "actor/envs/qa/factbook_world.h"
#include "actor/envs/qa/qa_expert.h"
#include "actor/envs/qa/synthetic_world.h"
#include "actor/rollout/rollout_engine.h"
#include "common/tokenizer/tokenizer.h"
#include "tests/common/model/test_util.h"

namespace mem1 {
namespace {

namespace fs = std::filesystem;

TEST(QaDataTest, BadLinesAreReportedWithFileAndLineAndSkipped) {
  const fs::path p = fs::temp_directory_path() / ("mem1_qa_" + std::to_string(::getpid()) + ".jsonl");
  std::ofstream(p) << R"({"id": "1", "question": "q1?", "golden_answers": ["a"]})" << "\n"
                   << "not json\n"
                   << R"({"id": "2", "question": "q2?"})" << "\n"
                   << "\n"
                   << R"({"id": 3, "question": "q3?", "golden_answers": ["b", "c"]})" << "\n"
                   << R"({"id": "4", "question": "q4?", "golden_answers": [5]})" << "\n";
  std::vector<QaItem> items;
  LoadReport r;
  ASSERT_TRUE(ReadQaFile(p.string(), &items, &r).ok());
  EXPECT_EQ(items.size(), 2u);
  EXPECT_EQ(items[1].id, "3");
  EXPECT_EQ(items[1].golden_answers.size(), 2u);
  EXPECT_EQ(r.lines, 5);
  EXPECT_EQ(r.skipped, 3);
  ASSERT_EQ(r.first_errors.size(), 3u);
  EXPECT_EQ(r.first_errors[0], p.string() + ":2: invalid JSON");
  EXPECT_EQ(r.first_errors[1], p.string() + ":3: \"golden_answers\" must be a non-empty array");
  EXPECT_EQ(r.first_errors[2], p.string() + ":6: \"golden_answers\" holds a non-string");
  EXPECT_EQ(ReadQaFile("/nonexistent.jsonl", &items, &r).code(), StatusCode::kNotFound);
  std::ofstream(p) << R"({"id": "p1", "contents": "\"Paris\"\nParis is the capital of France."})" << "\n"
                   << R"({"id": "p2"})" << "\n";
  std::vector<Passage> passages;
  LoadReport pr;
  ASSERT_TRUE(ForEachPassage(p.string(), [&](const Passage& x) { passages.push_back(x); return true; }, &pr).ok());
  ASSERT_EQ(passages.size(), 1u);
  EXPECT_EQ(passages[0].Title(), "Paris");
  EXPECT_EQ(passages[0].Text(), "Paris is the capital of France.");
  EXPECT_EQ(pr.skipped, 1);
  fs::remove(p);
}

TEST(AnswerMetricsTest, SquadNormalizationEmAndF1) {
  struct Case {
    const char* pred;
    std::vector<std::string> gold;
    double em, f1;
  };
  const Case cases[] = {
      {"Paris", {"paris"}, 1, 1},
      {"The Eiffel Tower", {"Eiffel tower"}, 1, 1},           // article, case
      {"an apple.", {"Apple"}, 1, 1},                          // article, punctuation
      {"  New   York, NY ", {"new york ny"}, 1, 1},            // whitespace, comma
      {"Zürich", {"zürich"}, 1, 1},                            // unicode lower-case
      {"Zürich", {"Zurich"}, 0, 0},                            // accents are not stripped
      {"São Paulo!", {"são paulo"}, 1, 1},
      {"Lima", {"Quito", "lima"}, 1, 1},                       // any golden answer
      {"the big red dog", {"red dog"}, 0, 0.8},                // P 2/3, R 1 -> 0.8
      {"", {"x"}, 0, 0},
      {"1,000", {"1000"}, 1, 1},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(ExactMatch(c.pred, c.gold), c.em) << c.pred;
    EXPECT_NEAR(TokenF1(c.pred, c.gold), c.f1, 1e-9) << c.pred;
  }
  EXPECT_EQ(NormalizeAnswer("The  Quick, Brown Fox!"), "quick brown fox");
}

TEST(QaEnvTest, AnswerBlockScoringSumsEmAndPenalisesWrongCounts) {
  QaTask task{"t", {{"1", "q1?", {"Paris"}, {}}, {"2", "q2?", {"Lima", "Lima, Peru"}, {}}}};
  QaEnvOptions o;
  auto r = ScoreAnswers(task, "paris; Lima, Peru", o);
  EXPECT_EQ(r.reward, 2.0);
  EXPECT_EQ(r.metrics["answer_count_ok"], 1.0);
  o.mean_reward = true;
  EXPECT_EQ(ScoreAnswers(task, "Paris; Quito", o).reward, 0.5);
  o.mean_reward = false;
  o.format_penalty = 0.5;
  auto short_answer = ScoreAnswers(task, "Paris", o);
  EXPECT_EQ(short_answer.reward, 0.5);  // 1 EM - 0.5 penalty
  EXPECT_EQ(short_answer.metrics["answer_count_ok"], 0.0);
}

TEST(QaEnvTest, ObservationFollowsTheMem1Format) {
  std::vector<SearchHit> hits = {{"1", "\"Paris\"\nParis is the capital.", 3.0}, {"2", "\"Lyon\"\nLyon is big.", 2.0}};
  EXPECT_EQ(RenderSearchObservation(hits, 3),
            "[HINT]You have 3 turns left.[/HINT]\n\nDoc 1(Title: Paris) Paris is the capital.\nDoc 2(Title: Lyon) Lyon is big.\n");
  EXPECT_EQ(RenderSearchObservation(hits, 1).rfind("[HINT]You have 1 turn left. You must give your final answer", 0), 0u);
  EXPECT_EQ(RenderSearchObservation({}, 0), "\n");
  EXPECT_EQ(WrapObservation(GetTagPreset("mem1-code").value(), "x\n"), "\n\n<information>x</information>\n\n");
}

class QaWorldTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::temp_directory_path() / ("mem1_qaworld_" + std::to_string(::getpid())));
    SyntheticWorldOptions o;
    o.entities = 300;
    o.seed = 3;
    world_ = new SyntheticWorld(GenerateSyntheticWorld(o));
    ASSERT_TRUE(WriteSyntheticWorld(*world_, dir_->string()).ok());
    IndexBuildOptions io;
    io.progress = false;
    IndexBuildReport r;
    ASSERT_TRUE(BuildIndex((*dir_ / "corpus.jsonl").string(), (*dir_ / "index").string(), io, &r).ok());
    ASSERT_EQ(r.passages, static_cast<int64_t>(world_->corpus.size()));
    // Tokenizer trained on the world's text.
    std::ofstream c(*dir_ / "tok_corpus.txt");
    for (const auto& p : world_->corpus) c << p.Text() << "\n";
    for (const auto& q : world_->train) c << q.question << " <IS>" << q.golden_answers[0] << "</IS>\n";
    c.close();
    SentencePieceTrainOptions so;
    so.corpus = (*dir_ / "tok_corpus.txt").string();
    so.model_prefix = (*dir_ / "sp").string();
    so.vocab_size = 1000;
    ASSERT_TRUE(TrainSentencePiece(so).ok());
    tok_ = LoadTokenizer((*dir_ / "sp.model").string()).value().release();
  }
  static void TearDownTestSuite() {
    delete tok_;
    delete world_;
    fs::remove_all(*dir_);
    delete dir_;
  }
  std::unique_ptr<Retriever> Open() { return OpenXapianRetriever((*dir_ / "index").string()).value(); }

  // Runs `count` tasks of `objectives` through the rollout engine with `teacher`.
  std::vector<proto::Trajectory> Play(ScriptedPolicy* teacher, int objectives, int count, int max_turns) {
    auto retriever = Open();
    QaTaskSource tasks(world_->test, objectives, 11, count, retriever.get(), QaEnvOptions{});
    Qwen2Config c = mem1::testing::TinyConfig();
    c.vocab_size = tok_->vocab_size();
    Qwen2ForCausalLM m(c);
    m->InitWeights(1, 0.2);
    RolloutOptions o;
    o.batch_size = 4;
    o.max_turns = max_turns;
    o.max_new_tokens_per_turn = 256;
    o.slot_capacity = 4096;
    o.sampling.greedy = true;
    RolloutEngine engine(m, tok_, o);
    std::vector<proto::Trajectory> out;
    auto st = engine.Run(&tasks, [&](proto::Trajectory&& t) { out.push_back(std::move(t)); }, teacher);
    EXPECT_TRUE(st.ok()) << st.ToString();
    return out;
  }

  static fs::path* dir_;
  static SyntheticWorld* world_;
  static Tokenizer* tok_;
};
fs::path* QaWorldTest::dir_ = nullptr;
SyntheticWorld* QaWorldTest::world_ = nullptr;
Tokenizer* QaWorldTest::tok_ = nullptr;

TEST_F(QaWorldTest, Bm25Top3ContainsTheAnswerPassageForSingleHopQuestions) {
  auto r = Open();
  int total = 0, hit = 0;
  for (const auto* split : {&world_->train, &world_->test}) {
    for (const auto& q : *split) {
      if (q.hops.size() != 1) continue;
      ++total;
      for (const auto& h : r->Search(q.question, 3)) {
        if (h.contents.find(q.golden_answers[0]) != std::string::npos) {
          ++hit;
          break;
        }
      }
    }
  }
  ASSERT_GT(total, 200);
  EXPECT_GE(static_cast<double>(hit) / total, 0.95) << hit << "/" << total;
}

// An interrupted build leaves an index that is refused with the command that resumes it;
// --resume skips what was committed and ends with the same index as a fresh build.
TEST_F(QaWorldTest, InterruptedIndexBuildIsRefusedAndResumes) {
  const fs::path d = *dir_ / "resume";
  fs::create_directories(d);
  {
    std::ifstream in(*dir_ / "corpus.jsonl");
    std::ofstream half(d / "half.jsonl");
    std::string line;
    for (int i = 0; i < 200 && std::getline(in, line); ++i) half << line << "\n";
  }
  IndexBuildOptions io;
  io.progress = false;
  IndexBuildReport first;
  ASSERT_TRUE(BuildIndex((d / "half.jsonl").string(), (d / "index").string(), io, &first).ok());
  ASSERT_EQ(first.passages, 200);
  std::ofstream(d / "index" / ".mem1_building");  // as a build killed after committing 200 passages leaves it
  auto refused = OpenXapianRetriever((d / "index").string());
  EXPECT_EQ(refused.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(refused.status().message().find("--resume"), std::string::npos) << refused.status().message();
  io.resume = true;
  IndexBuildReport resumed;
  ASSERT_TRUE(BuildIndex((*dir_ / "corpus.jsonl").string(), (d / "index").string(), io, &resumed).ok());
  EXPECT_EQ(resumed.resumed_from, 200);
  EXPECT_EQ(resumed.passages, static_cast<int64_t>(world_->corpus.size()));
  auto r = OpenXapianRetriever((d / "index").string());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto fresh = Open();
  for (size_t i = 0; i < 20 && i < world_->test.size(); ++i) {
    const auto a = (*r)->Search(world_->test[i].question, 3), b = fresh->Search(world_->test[i].question, 3);
    ASSERT_EQ(a.size(), b.size());
    for (size_t k = 0; k < a.size(); ++k) EXPECT_EQ(a[k].id, b[k].id) << world_->test[i].question;
  }
  fs::remove_all(d);
}

TEST_F(QaWorldTest, ComposerIsDeterministicPerSeed) {
  auto r = Open();
  QaTaskSource a(world_->train, 3, 42, -1, r.get(), {}), b(world_->train, 3, 42, -1, r.get(), {}),
      c(world_->train, 3, 43, -1, r.get(), {});
  bool differs = false;
  for (int i = 0; i < 20; ++i) {
    const auto ta = a.NextTask(), tb = b.NextTask(), tc = c.NextTask();
    EXPECT_EQ(ta.id, tb.id);
    EXPECT_EQ(ta.questions.size(), 3u);
    differs = differs || ta.id != tc.id;
  }
  EXPECT_TRUE(differs);
  auto env = a.Next();
  const std::string prompt = env->Prompt();
  EXPECT_NE(prompt.find("Questions: "), std::string::npos);
  EXPECT_EQ(std::count(prompt.begin(), prompt.end(), '?'), 3);  // three questions joined with "; "
}

TEST_F(QaWorldTest, ScriptedExpertSolvesOneTwoAndEightObjectiveTasks) {
  QaExpert expert;
  for (int n : {1, 2, 8}) {
    auto trajs = Play(&expert, n, 8, 2 * n + 1);
    ASSERT_EQ(trajs.size(), 8u);
    double em = 0;
    for (const auto& t : trajs) {
      em += t.metrics().exact_match() / n;
      EXPECT_EQ(t.format_errors_size(), 0);
      EXPECT_GE(t.reward_components().at("searches"), n);
    }
    EXPECT_GE(em / trajs.size(), 0.95) << n << " objectives";
  }
}

TEST_F(QaWorldTest, EvidenceStateKeepsThePassageClauseAndStillSolvesTasks) {
  QaExpert expert;
  expert.set_state_wording(QaExpert::StateWording::kEvidence);
  auto trajs = Play(&expert, 2, 8, 5);
  ASSERT_EQ(trajs.size(), 8u);
  double em = 0;
  for (const auto& t : trajs) {
    em += t.metrics().exact_match() / 2;
    EXPECT_EQ(t.format_errors_size(), 0);
  }
  EXPECT_GE(em / trajs.size(), 0.95);
  // The clause a state records: a sentence of a retrieved passage that ends with the answer.
  auto r = Open();
  QaTaskSource tasks(world_->train, 2, 7, -1, r.get(), {});
  int found = 0;
  for (int i = 0; i < 10; ++i) {
    auto env = tasks.Next();
    const auto& qa = dynamic_cast<const QaEnv&>(*env);
    for (size_t k = 0; k < 2; ++k) {
      const std::string clause = qa.Evidence(k), gold = qa.task().questions[k].golden_answers.front();
      if (clause.empty()) continue;
      ++found;
      ASSERT_GE(clause.size(), gold.size());
      EXPECT_EQ(clause.substr(clause.size() - gold.size()), gold) << clause;
      EXPECT_GT(clause.size(), gold.size()) << "a clause, not the answer alone";
      EXPECT_EQ(clause.find("; "), std::string::npos) << clause;
    }
    EXPECT_EQ(qa.Evidence(2), "");  // no such question
  }
  EXPECT_GE(found, 15);  // most questions (17 of 20 here; bridge questions search as asked)
}

TEST_F(QaWorldTest, AnsweringWithoutSearchingScoresNearZero) {
  // Answers at once with plausible guesses: entity names of the world.
  class Guesser : public ScriptedPolicy {
   public:
    explicit Guesser(const std::vector<std::string>& names) : names_(names) {}
    std::optional<ScriptedTurn> Respond(const Environment& env, int, const std::string&) override {
      const auto& qa = dynamic_cast<const QaEnv&>(env);
      std::string all;
      for (size_t i = 0; i < qa.task().questions.size(); ++i) all += (i ? "; " : "") + names_[rng_() % names_.size()];
      return ScriptedTurn{"<IS>guessing</IS><answer>" + all + "</answer>", true};
    }

   private:
    const std::vector<std::string>& names_;
    std::mt19937 rng_{5};
  } guesser(world_->entity_names);
  auto trajs = Play(&guesser, 2, 40, 3);
  double em = 0;
  for (const auto& t : trajs) em += t.metrics().exact_match() / 2;
  EXPECT_LE(em / trajs.size(), 0.05);
}

}  // namespace
}  // namespace mem1

namespace mem1 {
namespace {

// A small hand-written fixture in the Factbook schema (nested sections, {"text": ...} leaves).
TEST(FactbookWorldTest, BuildsPassagesAndQuestionsFromRealSchema) {
  const fs::path dir = fs::temp_directory_path() / ("mem1_fb_" + std::to_string(::getpid()));
  fs::create_directories(dir / "south-america");
  auto country = [&](const std::string& file, const std::string& name, const std::string& capital,
                     const std::string& exchange, const std::string& languages, const std::string& borders) {
    nlohmann::json j;
    j["Introduction"]["Background"]["text"] = name + " is a country with a long history.";
    j["Government"]["Country name"]["conventional short form"]["text"] = name;
    j["Government"]["Capital"]["name"]["text"] = capital;
    j["Economy"]["Exchange rates"]["text"] = exchange;
    j["People and Society"]["Languages"]["text"] = languages;
    if (!borders.empty()) j["Geography"]["Land boundaries"]["border countries"]["text"] = borders;
    std::ofstream(dir / "south-america" / file) << j.dump();
  };
  country("pa.json", "Paraguay", "Asuncion", "guarani (PYG) per US dollar - ++ 4,451.7 (2014 est.)",
          "Spanish (official), Guarani (official)", "Argentina 2,531 km, Bolivia 753 km");
  country("ar.json", "Argentina", "Buenos Aires", "Argentine pesos (ARS) per US dollar - 8.08 (2014 est.)",
          "Spanish (official), Italian, English", "Paraguay 2,531 km");
  country("bl.json", "Bolivia", "La Paz (administrative); note - Sucre (constitutional)",
          "bolivianos (BOB) per US dollar - 6.91 (2014 est.)", "Spanish (official) 60.7%, Quechua (official) 21.2%",
          "Paraguay 753 km");
  std::ofstream(dir / "broken.json") << "{not json";
  FactbookReport report;
  auto w = GenerateFactbookWorld(dir.string(), 1, &report);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(report.countries, 3);
  EXPECT_EQ(report.load.skipped, 1);
  std::map<std::string, QaItem> by_question;
  for (const auto* split : {&w->train, &w->dev, &w->test})
    for (const auto& q : *split) by_question[q.question] = q;
  EXPECT_EQ(by_question.at("What is the capital of Bolivia?").golden_answers, std::vector<std::string>{"La Paz"});
  EXPECT_EQ(by_question.at("What is the currency of Paraguay?").golden_answers, std::vector<std::string>{"guarani"});
  EXPECT_EQ(by_question.at("What is an official language of Bolivia?").golden_answers,
            (std::vector<std::string>{"Spanish", "Quechua"}));
  EXPECT_EQ(by_question.at("Name a country that borders Paraguay.").golden_answers,
            (std::vector<std::string>{"Argentina", "Bolivia"}));
  const auto& two_hop = by_question.at("What is the capital of a country that borders Paraguay?");
  EXPECT_EQ(two_hop.golden_answers, (std::vector<std::string>{"Buenos Aires", "La Paz"}));
  EXPECT_EQ(two_hop.hops.size(), 2u);
  EXPECT_EQ(by_question.at("What is the currency of the country whose capital is Buenos Aires?").golden_answers,
            std::vector<std::string>{"Argentine pesos"});
  // Every answer is in the real text of some passage.
  for (const auto& [question, q] : by_question) {
    bool found = false;
    for (const auto& p : w->corpus) found = found || p.contents.find(q.golden_answers[0]) != std::string::npos;
    EXPECT_TRUE(found) << question;
  }
  EXPECT_FALSE(GenerateFactbookWorld((dir / "empty").string(), 1, &report).ok());
  fs::remove_all(dir);
}

}  // namespace
}  // namespace mem1
