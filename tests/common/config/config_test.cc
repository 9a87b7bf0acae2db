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
  EXPECT_EQ(c->learner.ppo.algorithm, "ppo");
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

}  // namespace
}  // namespace mem1
