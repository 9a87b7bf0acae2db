#include "common/config/config.h"

#include <gtest/gtest.h>

namespace mem1 {
namespace {

TEST(ConfigTest, EmptyTextGivesDocumentedDefaults) {
  auto c = ParseConfig("", "x.yaml", {});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->runtime.device, "cpu");
  EXPECT_EQ(c->model.init.hidden_size, 256);
  EXPECT_EQ(c->model.init.num_hidden_layers, 4);
  EXPECT_EQ(c->actor.max_turns, 6);
  EXPECT_DOUBLE_EQ(c->learner.optim.actor_lr, 1e-6);
  EXPECT_EQ(c->learner.ppo.algorithm, Algorithm::kPpo);
  EXPECT_EQ(c->env.name, EnvKind::kQa);
  EXPECT_EQ(c->learner.backend, CommBackend::kMpi);
  EXPECT_EQ(c->learner.mode, LearnerMode::kSync);
  EXPECT_EQ(c->actor.teacher, Teacher::kNone);
  EXPECT_EQ(c->actor.policy.kind, ContextPolicy::Kind::kMem1);
  EXPECT_EQ(c->actor.tag_preset.name, "paper");
  EXPECT_EQ(c->actor.tag_preset.state.open, "<IS>");
}

TEST(ConfigTest, SettingsWithAVocabularyAreParsedOnceIntoTypes) {
  auto c = ParseConfig("env:\n  name: webshop\nactor:\n  teacher: expert\n  context_policy: window:512\n"
                       "  preset: mem1-code\nlearner:\n  mode: async\n  backend: nccl\n  ppo:\n    algorithm: grpo\n",
                       "a.yaml", {});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->env.name, EnvKind::kWebShop);
  EXPECT_EQ(c->actor.teacher, Teacher::kExpert);
  EXPECT_EQ(c->actor.policy.kind, ContextPolicy::Kind::kWindow);
  EXPECT_EQ(c->actor.policy.window_tokens, 512);
  EXPECT_EQ(c->actor.tag_preset.name, "mem1-code");
  EXPECT_EQ(c->actor.tag_preset.ActionTags("search").open, "<search>");
  EXPECT_EQ(c->learner.mode, LearnerMode::kAsync);
  EXPECT_EQ(c->learner.backend, CommBackend::kNccl);
  EXPECT_EQ(c->learner.ppo.algorithm, Algorithm::kGrpo);
  EXPECT_EQ(c->actor.policy.Name(), "window:512");
  // Recorded forms are the YAML spellings.
  const std::string yaml = ConfigToYaml(*c);
  for (const char* line : {"name: webshop", "teacher: expert", "context_policy: window:512", "preset: mem1-code",
                           "mode: async", "backend: nccl", "algorithm: grpo"}) {
    EXPECT_NE(yaml.find(line), std::string::npos) << line << "\n" << yaml;
  }
  EXPECT_EQ(ToString(Algorithm::kSft), "sft");
  EXPECT_EQ(ToString(EnvKind::kWebShop), "webshop");
  EXPECT_EQ(ToString(CommBackend::kLocal), "local");
  EXPECT_EQ(ParseCommBackend("nccl").value(), CommBackend::kNccl);
  EXPECT_FALSE(ParseCommBackend("local").ok());  // a communicator, not a config value
}

// Regression: a bad value of a typed setting is a one-line INVALID_ARGUMENT at parse time that
// names the source, the key and the value (a bad tag preset used to abort in constructors).
TEST(ConfigTest, BadTypedSettingsAreOneLineConfigErrors) {
  struct Case {
    const char* yaml;
    const char* message;
  };
  const Case cases[] = {
      {"actor:\n  preset: papr\n",
       "a.yaml: actor.preset: unknown tag preset \"papr\" (expected paper, mem1-code or mem1-code-eval)"},
      {"learner:\n  ppo:\n    algorithm: dpo\n",
       "a.yaml: learner.ppo.algorithm: expected one of {ppo, grpo, sft}, got \"dpo\""},
      {"actor:\n  context_policy: window:0\n",
       "a.yaml: actor.context_policy: context policy \"window:0\" (expected mem1, full or window:K with K >= 1)"},
      {"actor:\n  context_policy: window:+5\n",
       "a.yaml: actor.context_policy: context policy \"window:+5\" (expected mem1, full or window:K with K >= 1)"},
      {"env:\n  name: alfworld\n", "a.yaml: env.name: expected one of {qa, webshop}, got \"alfworld\""},
      {"learner:\n  backend: gloo\n", "a.yaml: learner.backend: expected one of {mpi, nccl}, got \"gloo\""},
      {"learner:\n  mode: eager\n", "a.yaml: learner.mode: expected one of {sync, async}, got \"eager\""},
      {"actor:\n  teacher: human\n", "a.yaml: actor.teacher: expected one of {none, expert}, got \"human\""},
      {"actor:\n  preset: [paper]\n", "a.yaml: actor.preset: expected a string, got [paper]"},
  };
  for (const auto& k : cases) {
    auto c = ParseConfig(k.yaml, "a.yaml", {});
    ASSERT_FALSE(c.ok()) << k.yaml;
    EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(c.status().message(), k.message);
    EXPECT_EQ(c.status().message().find('\n'), std::string::npos);
  }
  auto set = ParseConfig("", "a.yaml", {"actor.preset=mem2"});
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.status().message(), "--set: actor.preset: unknown tag preset \"mem2\" (expected paper, mem1-code or mem1-code-eval)");
}

TEST(ConfigTest, TypedFieldsRoundTripThroughTheYamlDump) {
  Mem1Config c;
  c.actor.policy = ContextPolicy::Parse("full").value();
  c.actor.tag_preset = GetTagPreset("mem1-code").value();
  c.learner.ppo.algorithm = Algorithm::kSft;
  auto back = ParseConfig(ConfigToYaml(c), "dump", {});
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->actor.policy.kind, ContextPolicy::Kind::kFull);
  EXPECT_EQ(back->actor.tag_preset.name, "mem1-code");
  EXPECT_EQ(back->learner.ppo.algorithm, Algorithm::kSft);
}

TEST(ConfigTest, ReadsNestedValues) {
  auto c = ParseConfig("runtime:\n  device: cuda:1\n  threads: 3\nmodel:\n  init:\n    hidden_size: 512\n"
                       "    num_attention_heads: 8\n    tie_word_embeddings: false\n",
                       "x.yaml", {});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->runtime.device, "cuda:1");
  EXPECT_EQ(c->runtime.threads, 3);
  EXPECT_EQ(c->model.init.hidden_size, 512);
  EXPECT_FALSE(c->model.init.tie_word_embeddings);
}

TEST(ConfigTest, UnknownKeyNamesFileKeyPathAndValue) {
  auto c = ParseConfig("model:\n  init:\n    hiden_size: 128\n", "cfg/a.yaml", {});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(c.status().message(), "cfg/a.yaml: model.init.hiden_size: unknown key (value \"128\")");
}

TEST(ConfigTest, UnknownTopLevelSection) {
  auto c = ParseConfig("trainer:\n  lr: 1\n", "a.yaml", {});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("a.yaml: trainer: unknown key"), std::string::npos) << c.status().message();
}

TEST(ConfigTest, WrongTypeNamesKeyAndValue) {
  auto c = ParseConfig("model:\n  init:\n    num_attention_heads: abc\n", "a.yaml", {});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(),
            "a.yaml: model.init.num_attention_heads: expected an integer in [1, 1024], got \"abc\"");
}

TEST(ConfigTest, OutOfRangeAndEnumValues) {
  auto c = ParseConfig("actor:\n  max_turns: 0\n", "a.yaml", {});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("actor.max_turns"), std::string::npos);
  EXPECT_NE(c.status().message().find("got \"0\""), std::string::npos);
  auto d = ParseConfig("runtime:\n  dtype: float8\n", "a.yaml", {});
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().message(),
            "a.yaml: runtime.dtype: expected one of {float32, bfloat16, float16}, got \"float8\"");
  auto e = ParseConfig("runtime:\n  device: tpu\n", "a.yaml", {});
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("runtime.device"), std::string::npos);
}

TEST(ConfigTest, CrossFieldRuleNamesField) {
  auto c = ParseConfig("model:\n  init:\n    num_attention_heads: 8\n    num_key_value_heads: 3\n", "a.yaml", {});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("model.init.num_key_value_heads: must divide"), std::string::npos)
      << c.status().message();
}

TEST(ConfigTest, SectionThatIsNotAMapping) {
  auto c = ParseConfig("runtime: 3\n", "a.yaml", {});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(), "a.yaml: runtime: expected a mapping, got \"3\"");
}

TEST(ConfigTest, OverridesApplyAndErrorsNameSet) {
  auto c = ParseConfig("runtime:\n  threads: 1\n", "a.yaml", {"runtime.threads=2", "model.init.hidden_size=128"});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->runtime.threads, 2);
  EXPECT_EQ(c->model.init.hidden_size, 128);
  auto bad = ParseConfig("", "a.yaml", {"runtime.thread=2"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "--set: runtime.thread: unknown key (value \"2\")");
  auto bad_value = ParseConfig("", "a.yaml", {"runtime.threads=many"});
  ASSERT_FALSE(bad_value.ok());
  EXPECT_EQ(bad_value.status().message(), "--set: runtime.threads: expected an integer in [0, 4096], got \"many\"");
  auto malformed = ParseConfig("", "a.yaml", {"runtime.threads"});
  ASSERT_FALSE(malformed.ok());
  EXPECT_NE(malformed.status().message().find("key.path=value"), std::string::npos);
}

TEST(ConfigTest, SyntaxErrorNamesFileAndLine) {
  auto c = ParseConfig("runtime:\n  threads: [1\n", "bad.yaml", {});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message().rfind("bad.yaml:", 0), 0u) << c.status().message();
  EXPECT_NE(c.status().message().find("YAML syntax error"), std::string::npos);
}

TEST(ConfigTest, DumpParsesBackToTheSameConfig) {
  auto c = ParseConfig("runtime:\n  seed: 99\nmodel:\n  init:\n    rope_theta: 1000000.5\n", "a.yaml",
                       {"learner.optim.actor_lr=3e-7"});
  ASSERT_TRUE(c.ok());
  const std::string yaml = ConfigToYaml(*c);
  auto back = ParseConfig(yaml, "dump", {});
  ASSERT_TRUE(back.ok()) << back.status().ToString() << "\n" << yaml;
  EXPECT_EQ(ConfigToYaml(*back), yaml);
  EXPECT_EQ(back->runtime.seed, 99u);
  EXPECT_DOUBLE_EQ(back->model.init.rope_theta, 1000000.5);
  EXPECT_DOUBLE_EQ(back->learner.optim.actor_lr, 3e-7);
}

TEST(ConfigTest, MissingFileIsNotFound) {
  auto c = LoadConfig("/nonexistent/x.yaml", {});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kNotFound);
  EXPECT_NE(c.status().message().find("/nonexistent/x.yaml"), std::string::npos);
}

TEST(ConfigTest, DirectoryIsNotAConfigFile) {
  auto c = LoadConfig(::testing::TempDir(), {});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(c.status().message().find("a directory"), std::string::npos) << c.status().message();
}

TEST(ConfigTest, DuplicateKeyNamesFileLineAndPath) {
  auto c = ParseConfig("runtime:\n  threads: 1\n  seed: 3\n  threads: 2\n", "dup.yaml", {});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message().rfind("dup.yaml:4: duplicate key \"runtime.threads\"", 0), 0u) << c.status().message();
  auto top = ParseConfig("runtime:\n  seed: 1\nruntime:\n  seed: 2\n", "top.yaml", {});
  ASSERT_FALSE(top.ok());
  EXPECT_NE(top.status().message().find("duplicate key \"runtime\""), std::string::npos) << top.status().message();
  // The same key name in two sections is not a duplicate.
  auto two_sections = ParseConfig("env:\n  qa:\n    split: dev\n  webshop:\n    split: dev\n", "ok.yaml", {});
  EXPECT_TRUE(two_sections.ok()) << two_sections.status().ToString();
}

// Regression (config_yaml fuzz target): a map or list used as a key used to throw
// YAML::TypedBadConversion out of the parser; it is a one-line error naming where it is.
TEST(ConfigTest, KeyThatIsNotANameIsAnError) {
  for (const char* yaml : {"runtime:\n  {a: 1}: 2\n", "? [x, y]\n: 3\n"}) {
    auto c = ParseConfig(yaml, "k.yaml", {});
    ASSERT_FALSE(c.ok()) << yaml;
    EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(c.status().message().find("a key that is not a name"), std::string::npos) << c.status().message();
  }
}

TEST(ConfigTest, FreezePatternMustBeARegularExpression) {
  auto bad = ParseConfig("learner:\n  optim:\n    freeze: \"model.(layers\"\n", "f.yaml", {});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("learner.optim.freeze"), std::string::npos) << bad.status().message();
  EXPECT_NE(bad.status().message().find("not a valid regular expression"), std::string::npos) << bad.status().message();
  auto good = ParseConfig("learner:\n  optim:\n    freeze: \"model\\\\.layers\\\\.[01]\\\\..*\"\n    freeze_steps: 50\n", "f.yaml", {});
  ASSERT_TRUE(good.ok()) << good.status().ToString();
  EXPECT_EQ(good->learner.optim.freeze, "model\\.layers\\.[01]\\..*");
  EXPECT_EQ(good->learner.optim.freeze_steps, 50);
}

}  // namespace
}  // namespace mem1
