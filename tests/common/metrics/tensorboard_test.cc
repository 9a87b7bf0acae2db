// TensorBoardWriter and MetricsLog. Event files are checked by tests/e2e/read_tensorboard.py,
// an independent Python reader (CRC framing + hand protobuf decoding), and by golden bytes.
#include "common/metrics/tensorboard.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <vector>

#include "common/metrics/metrics_log.h"

namespace mem1 {
namespace {

namespace fs = std::filesystem;

std::string MakeTempDir() {
  std::string tmpl = (fs::temp_directory_path() / "mem1_tb_test_XXXXXX").string();
  CHECK(mkdtemp(tmpl.data()) != nullptr);
  return tmpl;
}

bool HavePython() { return std::system("python3 -c '' >/dev/null 2>&1") == 0; }

struct ReaderRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs the independent reader on `dir`.
ReaderRun RunReader(const std::string& dir) {
  const std::string err_path = dir + ".stderr";
  const std::string cmd =
      std::string("python3 '") + MEM1_SOURCE_DIR + "/tests/e2e/read_tensorboard.py' '" + dir + "' 2>'" + err_path + "'";
  ReaderRun run;
  std::FILE* pipe = popen(cmd.c_str(), "r");
  CHECK(pipe != nullptr);
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), pipe)) > 0) run.out.append(buf, n);
  const int status = pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream err(err_path);
  run.err.assign(std::istreambuf_iterator<char>(err), std::istreambuf_iterator<char>());
  fs::remove(err_path);
  return run;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

class TensorBoardTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = MakeTempDir(); }
  void TearDown() override { fs::remove_all(dir_); }
  std::string dir_;
};

struct Point {
  const char* tag;
  int64_t step;
  double value;
};

TEST_F(TensorBoardTest, IndependentReaderSeesEveryTagStepAndValue) {
  if (!HavePython()) GTEST_SKIP() << "python3 not found: the independent event-file reader cannot run";
  const std::vector<Point> points = {
      {"train/loss", 0, 2.5},
      {"train/loss", 1, 1.25},
      {"train/loss", 2, 0.1},
      {"rollout/reward_mean", 0, 0.0},
      {"rollout/reward_mean", int64_t{1} << 40, -3.75},
      {"train/kl", -1, 1e-7},
      {"train/loss", 3, 123456.789},
  };
  {
    Result<std::unique_ptr<TensorBoardWriter>> w = TensorBoardWriter::Open(dir_ + "/run1", "learner");
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    for (const Point& p : points) ASSERT_TRUE((*w)->AddScalar(p.tag, p.step, p.value).ok());
    ASSERT_TRUE((*w)->Flush().ok());
  }
  const ReaderRun run = RunReader(dir_);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const nlohmann::json j = nlohmann::json::parse(run.out);
  EXPECT_EQ(j["files"], 1);
  EXPECT_EQ(j["records"], 1 + points.size());  // file_version record + one per scalar
  const nlohmann::json& scalars = j["scalars"];
  ASSERT_EQ(scalars.size(), 3u);
  std::map<std::string, size_t> seen;
  for (const Point& p : points) {
    const nlohmann::json& series = scalars.at(p.tag);
    const size_t i = seen[p.tag]++;
    ASSERT_LT(i, series.size()) << p.tag;
    EXPECT_EQ(series[i][0].get<int64_t>(), p.step) << p.tag;
    EXPECT_FLOAT_EQ(series[i][1].get<float>(), static_cast<float>(p.value)) << p.tag << " step " << p.step;
  }
  EXPECT_EQ(scalars.at("train/loss").size(), 4u);
}

TEST_F(TensorBoardTest, FileNameFollowsTensorBoardConventions) {
  Result<std::unique_ptr<TensorBoardWriter>> w = TensorBoardWriter::Open(dir_, "actor-0");
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  const std::string name = fs::path((*w)->path()).filename().string();
  EXPECT_TRUE(std::regex_match(name, std::regex(R"(events\.out\.tfevents\.\d{10}\.[^/]+\.\d+\.actor-0)"))) << name;
  EXPECT_NE(name.find("." + std::to_string(getpid()) + "."), std::string::npos) << name;
  // A leading dot is not doubled; two writers in one second get two files.
  Result<std::unique_ptr<TensorBoardWriter>> w2 = TensorBoardWriter::Open(dir_, ".actor-0");
  ASSERT_TRUE(w2.ok()) << w2.status().ToString();
  EXPECT_NE((*w2)->path(), (*w)->path());
  EXPECT_EQ((*w2)->path().find(".."), std::string::npos) << (*w2)->path();
}

TEST_F(TensorBoardTest, RecordsMatchGoldenBytes) {
  std::string path;
  {
    Result<std::unique_ptr<TensorBoardWriter>> w = TensorBoardWriter::Open(dir_);
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    path = (*w)->path();
    ASSERT_TRUE((*w)->AddScalar("a", 1, 0.5, 2.0).ok());
  }  // destructor flushes
  const std::string file = ReadFile(path);
  // Record 0: Event{wall_time (field 1, fixed64), file_version (field 3) = "brain.Event:2"}.
  ASSERT_GE(file.size(), 12u);
  const uint64_t len0 = static_cast<uint8_t>(file[0]);  // < 256
  EXPECT_EQ(len0, 9u + 2 + 13);
  EXPECT_EQ(file.substr(1, 7), std::string(7, '\0'));
  EXPECT_EQ(file[12], '\x09');
  EXPECT_EQ(file.substr(12 + 9, 2 + 13), std::string("\x1a\x0d") + "brain.Event:2");
  // Record 1: Event{wall_time 2.0, step 1, summary{value{tag "a", simple_value 0.5f}}}.
  const size_t r1 = 12 + len0 + 4;
  const std::string expected_event = std::string("\x09\x00\x00\x00\x00\x00\x00\x00\x40", 9) +  // wall_time 2.0
                                     std::string("\x10\x01", 2) +                              // step 1
                                     std::string("\x2a\x0a", 2) +                              // summary, 10 B
                                     std::string("\x0a\x08", 2) +                              // value, 8 B
                                     std::string(
                                         "\x0a\x01"
                                         "a",
                                         3) +                                 // tag
                                     std::string("\x15\x00\x00\x00\x3f", 5);  // simple_value
  ASSERT_EQ(file.size(), r1 + 12 + expected_event.size() + 4);
  EXPECT_EQ(static_cast<uint8_t>(file[r1]), expected_event.size());
  EXPECT_EQ(file.substr(r1 + 12, expected_event.size()), expected_event);
}

TEST_F(TensorBoardTest, ReaderRejectsCorruptedAndTruncatedFiles) {
  if (!HavePython()) GTEST_SKIP() << "python3 not found: the independent event-file reader cannot run";
  std::string path;
  {
    Result<std::unique_ptr<TensorBoardWriter>> w = TensorBoardWriter::Open(dir_);
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    path = (*w)->path();
    for (int step = 0; step < 5; ++step) ASSERT_TRUE((*w)->AddScalar("x", step, step * 0.5).ok());
  }
  ASSERT_EQ(RunReader(dir_).exit_code, 0);
  const std::string good = ReadFile(path);

  std::string bad = good;
  bad[bad.size() - 10] ^= 0x01;  // inside the last record's data
  WriteFile(path, bad);
  ReaderRun run = RunReader(dir_);
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find("data CRC mismatch"), std::string::npos) << run.err;

  bad = good;
  bad[0] ^= 0x01;  // the first length field
  WriteFile(path, bad);
  run = RunReader(dir_);
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find("length CRC mismatch"), std::string::npos) << run.err;

  WriteFile(path, good.substr(0, good.size() - 2));
  run = RunReader(dir_);
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find("truncated"), std::string::npos) << run.err;
}

TEST_F(TensorBoardTest, BadArgumentsAndUnwritableDirectoriesAreErrors) {
  Result<std::unique_ptr<TensorBoardWriter>> w = TensorBoardWriter::Open(dir_);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ((*w)->AddScalar("", 0, 1.0).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(TensorBoardWriter::Open("").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(TensorBoardWriter::Open(dir_, "a/b").status().code(), StatusCode::kInvalidArgument);
  // A directory path that runs through a regular file.
  WriteFile(dir_ + "/file", "x");
  Result<std::unique_ptr<TensorBoardWriter>> bad = TensorBoardWriter::Open(dir_ + "/file/tb");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInternal);
  EXPECT_NE(bad.status().message().find(dir_ + "/file/tb"), std::string::npos) << bad.status().ToString();
}

std::vector<nlohmann::json> ReadJsonLines(const std::string& path, std::vector<std::string>* raw = nullptr) {
  std::ifstream in(path);
  std::vector<nlohmann::json> lines;
  std::string line;
  while (std::getline(in, line)) {
    lines.push_back(nlohmann::json::parse(line));
    if (raw) raw->push_back(line);
  }
  return lines;
}

TEST_F(TensorBoardTest, MetricsLogWritesJsonLinesAndScalars) {
  const std::string jsonl = dir_ + "/logs/deep/metrics.jsonl";  // parents created
  const double before = static_cast<double>(time(nullptr));
  {
    Result<std::unique_ptr<MetricsLog>> log = MetricsLog::Open(jsonl, dir_ + "/tb");
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    ASSERT_TRUE((*log)->Log(1, {{"train/loss", 0.75}, {"rollout/reward_mean", std::nan("")}}).ok());
    ASSERT_TRUE((*log)->Log(2, {{"train/loss", 0.5}, {"rollout/reward_mean", 0.25}}).ok());
    ASSERT_TRUE((*log)->Flush().ok());
  }
  // Appends across opens (a resumed run).
  {
    Result<std::unique_ptr<MetricsLog>> log = MetricsLog::Open(jsonl, "");
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    EXPECT_EQ((*log)->tensorboard(), nullptr);
    ASSERT_TRUE((*log)->Log(3, {{"train/loss", 0.125}}).ok());
  }
  std::vector<std::string> raw;
  const std::vector<nlohmann::json> lines = ReadJsonLines(jsonl, &raw);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(raw[0].rfind("{\"step\": 1, \"time\": ", 0), 0u) << raw[0];
  EXPECT_LT(raw[0].find("train/loss"), raw[0].find("rollout/reward_mean")) << "caller's key order";
  EXPECT_EQ(lines[0]["step"], 1);
  EXPECT_GE(lines[0]["time"].get<double>(), before - 1);
  EXPECT_EQ(lines[0]["train/loss"].get<double>(), 0.75);
  EXPECT_TRUE(lines[0]["rollout/reward_mean"].is_null());
  EXPECT_EQ(lines[1]["rollout/reward_mean"].get<double>(), 0.25);
  EXPECT_EQ(lines[2]["step"], 3);
  EXPECT_EQ(lines[2].size(), 3u);

  if (!HavePython()) GTEST_SKIP() << "python3 not found: TensorBoard side not checked";
  const ReaderRun run = RunReader(dir_ + "/tb");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const nlohmann::json j = nlohmann::json::parse(run.out);
  EXPECT_EQ(j["files"], 1);
  EXPECT_EQ(j["records"], 1 + 3);  // NaN is not written to TensorBoard
  EXPECT_EQ(j["scalars"]["train/loss"], nlohmann::json::parse("[[1, 0.75], [2, 0.5]]"));
  EXPECT_EQ(j["scalars"]["rollout/reward_mean"], nlohmann::json::parse("[[2, 0.25]]"));
}

TEST_F(TensorBoardTest, MetricsLogRejectsBadKeysWithoutWriting) {
  const std::string jsonl = dir_ + "/m.jsonl";
  Result<std::unique_ptr<MetricsLog>> log = MetricsLog::Open(jsonl, "");
  ASSERT_TRUE(log.ok());
  EXPECT_EQ((*log)->Log(0, {{"a", 1}, {"a", 2}}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ((*log)->Log(0, {{"step", 1}}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ((*log)->Log(0, {{"time", 1}}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ((*log)->Log(0, {{"", 1}}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ((*log)->Log(0, {{"ok", 1}, {"\xff\xfe", 1}}).code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE((*log)->Log(7, {{"quote\"and\\slash", 1.5}}).ok());
  ASSERT_TRUE((*log)->Flush().ok());
  const std::vector<nlohmann::json> lines = ReadJsonLines(jsonl);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["quote\"and\\slash"].get<double>(), 1.5);
  EXPECT_EQ(MetricsLog::Open("", "").status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace mem1
