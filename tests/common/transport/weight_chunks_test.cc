#include "common/transport/weight_chunks.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "common/util/crc32c.h"

namespace mem1 {
namespace {

// Deterministic pseudo-random bytes.
std::string Bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng() & 0xff);
  return s;
}

// Several tensors, deliberately unsorted, with sizes that do not divide the chunk size, a
// scalar and an empty tensor.
std::vector<WeightTensor> Tensors(uint32_t seed = 1) {
  return {
      {"model.layers.0.mlp.up_proj.weight", "F32", {7, 5}, Bytes(7 * 5 * 4, seed)},
      {"lm_head.weight", "BF16", {3, 11}, Bytes(3 * 11 * 2, seed + 1)},
      {"model.norm.weight", "F16", {4}, Bytes(8, seed + 2)},
      {"model.empty", "F32", {0, 16}, ""},
      {"model.scale", "F32", {}, Bytes(4, seed + 3)},
  };
}

void ExpectSameWeights(std::vector<WeightTensor> expected, const CompleteWeights& got, int64_t version) {
  std::sort(expected.begin(), expected.end(),
            [](const WeightTensor& a, const WeightTensor& b) { return a.name < b.name; });
  EXPECT_EQ(got.version, version);
  ASSERT_EQ(got.tensors.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(got.tensors[i].name, expected[i].name);
    EXPECT_EQ(got.tensors[i].dtype, expected[i].dtype);
    EXPECT_EQ(got.tensors[i].shape, expected[i].shape);
    EXPECT_TRUE(got.tensors[i].bytes == expected[i].bytes) << expected[i].name;
  }
}

Status AddAll(WeightAssembler* a, const std::vector<proto::WeightUpdate>& chunks) {
  for (const auto& c : chunks) MEM1_RETURN_IF_ERROR(a->Add(c));
  return Status::Ok();
}

TEST(WeightChunksTest, ChunkingFollowsTheLayout) {
  const std::vector<WeightTensor> tensors = Tensors();
  const std::vector<proto::WeightUpdate> chunks = ChunkWeights(9, tensors, 16);
  // 140 B -> 9 chunks, 66 B -> 5, 8 B -> 1, 0 B -> 1 (empty), 4 B -> 1.
  ASSERT_EQ(chunks.size(), 9u + 5 + 1 + 1 + 1);
  EXPECT_EQ(chunks[0].tensor_name(), tensors[0].name);
  EXPECT_EQ(chunks[8].byte_offset(), 128);
  EXPECT_EQ(chunks[8].data().size(), 12u);
  EXPECT_EQ(chunks[8].chunk_count(), 9);
  const proto::WeightUpdate& empty = chunks[15];
  EXPECT_EQ(empty.tensor_name(), "model.empty");
  EXPECT_EQ(empty.chunk_count(), 1);
  EXPECT_TRUE(empty.data().empty());
  for (const auto& c : chunks) {
    EXPECT_EQ(c.schema_version(), proto::SCHEMA_VERSION_CURRENT);
    EXPECT_EQ(c.version(), 9);
    EXPECT_EQ(c.tensor_count(), 5);
    EXPECT_LE(c.data().size(), 16u);
    EXPECT_EQ(c.checksum(), Crc32c(c.data().data(), c.data().size()));
  }
}

TEST(WeightChunksTest, RoundTripsForSeveralChunkSizes) {
  for (const int64_t chunk_bytes : {1, 3, 16, 64, 1000}) {
    WeightAssembler a;
    ASSERT_TRUE(AddAll(&a, ChunkWeights(3, Tensors(), chunk_bytes)).ok()) << chunk_bytes;
    std::optional<CompleteWeights> w = a.TakeComplete();
    ASSERT_TRUE(w.has_value()) << chunk_bytes;
    ExpectSameWeights(Tensors(), *w, 3);
    EXPECT_EQ(a.last_taken_version(), 3);
    EXPECT_FALSE(a.TakeComplete().has_value());
  }
}

TEST(WeightChunksTest, OutOfOrderAndDuplicatedChunksAssemble) {
  std::vector<proto::WeightUpdate> chunks = ChunkWeights(1, Tensors(), 5);
  std::vector<proto::WeightUpdate> shuffled = chunks;
  shuffled.insert(shuffled.end(), chunks.begin(), chunks.begin() + 10);  // duplicates
  std::mt19937 rng(7);
  std::shuffle(shuffled.begin(), shuffled.end(), rng);
  WeightAssembler a;
  // Hold one chunk back: nothing is complete until it arrives.
  const proto::WeightUpdate last = chunks[3];
  for (const auto& c : shuffled) {
    if (c.tensor_name() == last.tensor_name() && c.chunk_index() == last.chunk_index()) continue;
    ASSERT_TRUE(a.Add(c).ok());
  }
  EXPECT_FALSE(a.TakeComplete().has_value());
  ASSERT_TRUE(a.Add(last).ok());
  ASSERT_TRUE(a.Add(last).ok());  // duplicate after completion: ignored
  std::optional<CompleteWeights> w = a.TakeComplete();
  ASSERT_TRUE(w.has_value());
  ExpectSameWeights(Tensors(), *w, 1);
}

TEST(WeightChunksTest, BitFlipIsDataLossAndAResendCompletes) {
  const std::vector<proto::WeightUpdate> chunks = ChunkWeights(2, Tensors(), 16);
  WeightAssembler a;
  for (size_t i = 0; i < chunks.size(); ++i) {
    if (i == 4) {
      proto::WeightUpdate corrupt = chunks[i];
      (*corrupt.mutable_data())[3] ^= 0x10;
      const Status s = a.Add(corrupt);
      EXPECT_EQ(s.code(), StatusCode::kDataLoss) << s.ToString();
      EXPECT_NE(s.message().find("CRC32C mismatch"), std::string::npos);
      EXPECT_NE(s.message().find("chunk 4 of 9"), std::string::npos) << s.ToString();
      continue;
    }
    ASSERT_TRUE(a.Add(chunks[i]).ok());
  }
  EXPECT_FALSE(a.TakeComplete().has_value());
  ASSERT_TRUE(a.Add(chunks[4]).ok());  // the re-send
  std::optional<CompleteWeights> w = a.TakeComplete();
  ASSERT_TRUE(w.has_value());
  ExpectSameWeights(Tensors(), *w, 2);
}

TEST(WeightChunksTest, NewerCompleteVersionDiscardsOlderIncompleteOne) {
  const auto v5 = ChunkWeights(5, Tensors(5), 16);
  const auto v6 = ChunkWeights(6, Tensors(6), 16);
  WeightAssembler a;
  // Interleave: all of v6, and all of v5 but its last chunk.
  for (size_t i = 0; i < std::max(v5.size(), v6.size()); ++i) {
    if (i + 1 < v5.size()) {
      ASSERT_TRUE(a.Add(v5[i]).ok());
    }
    if (i < v6.size()) {
      ASSERT_TRUE(a.Add(v6[i]).ok());
    }
  }
  EXPECT_EQ(a.versions_in_flight(), 0);  // v5 dropped when v6 completed
  ASSERT_TRUE(a.Add(v5.back()).ok());    // superseded: ignored
  std::optional<CompleteWeights> w = a.TakeComplete();
  ASSERT_TRUE(w.has_value());
  ExpectSameWeights(Tensors(6), *w, 6);
  EXPECT_FALSE(a.TakeComplete().has_value());
}

TEST(WeightChunksTest, TakeReturnsTheNewestOfSeveralCompleteVersions) {
  WeightAssembler a;
  ASSERT_TRUE(AddAll(&a, ChunkWeights(1, Tensors(1), 64)).ok());
  ASSERT_TRUE(AddAll(&a, ChunkWeights(2, Tensors(2), 64)).ok());
  std::optional<CompleteWeights> w = a.TakeComplete();
  ASSERT_TRUE(w.has_value());
  ExpectSameWeights(Tensors(2), *w, 2);
  EXPECT_FALSE(a.TakeComplete().has_value());
}

TEST(WeightChunksTest, VersionsUpToTheLastTakenAreIgnored) {
  WeightAssembler a;
  ASSERT_TRUE(AddAll(&a, ChunkWeights(4, Tensors(), 32)).ok());
  ASSERT_TRUE(a.TakeComplete().has_value());
  ASSERT_EQ(a.last_taken_version(), 4);
  ASSERT_TRUE(AddAll(&a, ChunkWeights(4, Tensors(), 32)).ok());  // re-broadcast of 4
  ASSERT_TRUE(AddAll(&a, ChunkWeights(3, Tensors(), 32)).ok());  // stale
  EXPECT_EQ(a.versions_in_flight(), 0);
  EXPECT_FALSE(a.TakeComplete().has_value());
  ASSERT_TRUE(AddAll(&a, ChunkWeights(5, Tensors(), 32)).ok());
  ASSERT_TRUE(a.TakeComplete().has_value());
  EXPECT_EQ(a.last_taken_version(), 5);
}

TEST(WeightChunksTest, StartingAVersionBeyondTheLimitEvictsTheOldestIncomplete) {
  WeightAssembler::Options options;
  options.max_versions_in_flight = 2;
  WeightAssembler a(options);
  const auto v1 = ChunkWeights(1, Tensors(), 16);
  const auto v2 = ChunkWeights(2, Tensors(), 16);
  const auto v3 = ChunkWeights(3, Tensors(), 16);
  ASSERT_TRUE(a.Add(v1[0]).ok());
  ASSERT_TRUE(a.Add(v2[0]).ok());
  EXPECT_EQ(a.versions_in_flight(), 2);
  ASSERT_TRUE(a.Add(v3[0]).ok());  // evicts v1
  EXPECT_EQ(a.versions_in_flight(), 2);
  // v1's remaining chunks would start v1 again as the oldest: ignored, so v1 never completes.
  ASSERT_TRUE(AddAll(&a, v1).ok());
  EXPECT_FALSE(a.TakeComplete().has_value());
  ASSERT_TRUE(AddAll(&a, v2).ok());
  std::optional<CompleteWeights> w = a.TakeComplete();
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(w->version, 2);
  EXPECT_EQ(a.versions_in_flight(), 1);  // v3 still being assembled
  ASSERT_TRUE(AddAll(&a, v3).ok());
  ASSERT_TRUE(a.TakeComplete().has_value());
  EXPECT_EQ(a.last_taken_version(), 3);
}

TEST(WeightChunksTest, AssigningAFreshAssemblerForgetsVersions) {
  WeightAssembler a;
  ASSERT_TRUE(AddAll(&a, ChunkWeights(8, Tensors(), 16)).ok());
  ASSERT_TRUE(a.TakeComplete().has_value());
  ASSERT_TRUE(a.Add(ChunkWeights(9, Tensors(), 16)[0]).ok());
  a = WeightAssembler();  // e.g. the learner restarted from an older checkpoint
  EXPECT_EQ(a.last_taken_version(), -1);
  EXPECT_EQ(a.versions_in_flight(), 0);
  ASSERT_TRUE(AddAll(&a, ChunkWeights(2, Tensors(), 16)).ok());
  std::optional<CompleteWeights> w = a.TakeComplete();
  ASSERT_TRUE(w.has_value());
  ExpectSameWeights(Tensors(), *w, 2);
}

struct BadChunk {
  const char* name;
  std::function<void(proto::WeightUpdate*)> mutate;
  const char* expected;
};

// Re-checksums after a mutation so that only the metadata is wrong.
void Rechecksum(proto::WeightUpdate* c) { c->set_checksum(Crc32c(c->data().data(), c->data().size())); }

TEST(WeightChunksTest, InconsistentChunkAloneIsRejected) {
  // lm_head.weight: 66 bytes in chunks of 16 -> 5 chunks; take chunk 1 and the last one (4).
  const auto chunks = ChunkWeights(1, Tensors(), 16);
  const proto::WeightUpdate middle = chunks[9 + 1];
  const proto::WeightUpdate last = chunks[9 + 4];
  ASSERT_EQ(middle.tensor_name(), "lm_head.weight");
  ASSERT_EQ(last.chunk_index(), 4);
  const std::vector<std::pair<proto::WeightUpdate, BadChunk>> cases = {
      {middle,
       {"schema", [](auto* c) { c->set_schema_version(proto::SCHEMA_VERSION_UNSPECIFIED); },
        "schema_version 0, expected 1"}},
      {middle, {"negative version", [](auto* c) { c->set_version(-2); }, "negative version"}},
      {middle, {"no name", [](auto* c) { c->clear_tensor_name(); }, "empty tensor_name"}},
      {middle, {"dtype", [](auto* c) { c->set_dtype("F64"); }, "unknown dtype \"F64\""}},
      {middle, {"tensor count", [](auto* c) { c->set_tensor_count(0); }, "tensor_count 0 < 1"}},
      {middle, {"negative dim", [](auto* c) { c->set_shape(0, -3); }, "negative dim in shape [-3, 11]"}},
      {middle, {"index", [](auto* c) { c->set_chunk_index(5); }, "chunk index outside [0, chunk_count)"}},
      {middle, {"count", [](auto* c) { c->set_chunk_count(6); }, "chunk_count 6 does not match 5 chunks"}},
      {middle, {"offset", [](auto* c) { c->set_byte_offset(17); }, "do not fit the chunk layout of a 66-byte"}},
      {middle, {"shape vs bytes", [](auto* c) { c->set_shape(1, 20); }, "chunk_count 5 does not match 8 chunks"}},
      {middle,
       {"short data",
        [](auto* c) {
          c->mutable_data()->pop_back();
          Rechecksum(c);
        },
        "do not fit the chunk layout of a 66-byte tensor"}},
      {last,
       {"last too long",
        [](auto* c) {
          c->mutable_data()->push_back('x');
          Rechecksum(c);
        },
        "do not fit the chunk layout"}},
      {last, {"last offset", [](auto* c) { c->set_byte_offset(63); }, "do not fit the chunk layout"}},
      {middle, {"huge", [](auto* c) { c->set_shape(0, int64_t{1} << 40); }, "is over max_version_bytes"}},
      {middle,
       {"overflow",
        [](auto* c) {
          c->set_shape(0, int64_t{1} << 40);
          c->set_shape(1, int64_t{1} << 40);
        },
        "is over max_version_bytes"}},
  };
  for (const auto& [chunk, bad] : cases) {
    proto::WeightUpdate c = chunk;
    bad.mutate(&c);
    WeightAssembler a;
    const Status s = a.Add(c);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << bad.name << ": " << s.ToString();
    EXPECT_NE(s.message().find(bad.expected), std::string::npos) << bad.name << ": " << s.ToString();
    EXPECT_EQ(a.versions_in_flight(), 0) << bad.name;
  }
}

TEST(WeightChunksTest, ChunksContradictingEarlierOnesAreRejected) {
  const auto chunks = ChunkWeights(1, Tensors(), 16);
  const proto::WeightUpdate& first = chunks[9];  // lm_head.weight chunk 0 of 5 (BF16 [3, 11])
  const proto::WeightUpdate& second = chunks[10];
  WeightAssembler a;
  ASSERT_TRUE(a.Add(first).ok());

  proto::WeightUpdate c = second;
  c.set_tensor_count(6);
  EXPECT_NE(a.Add(c).message().find("tensor_count 6 but earlier chunks said 5"), std::string::npos);

  c = second;
  c.set_dtype("F16");
  EXPECT_NE(a.Add(c).message().find("F16 [3, 11] but earlier chunks said BF16 [3, 11]"), std::string::npos);

  c = second;
  c.set_shape(0, 11);
  c.set_shape(1, 3);
  EXPECT_NE(a.Add(c).message().find("BF16 [11, 3] but earlier chunks said BF16 [3, 11]"), std::string::npos);

  // Same tensor re-chunked with 22-byte chunks (3 chunks): chunk size / count differ.
  const auto rechunked = ChunkWeights(1, Tensors(), 22);
  const Status s = a.Add(rechunked[7 + 1]);  // F32 tensor has 7 chunks of 22 bytes
  ASSERT_EQ(rechunked[7 + 1].tensor_name(), "lm_head.weight");
  EXPECT_NE(s.message().find("chunk size 22 / count 3 but earlier chunks said 16 / 5"), std::string::npos)
      << s.ToString();

  // More tensors than tensor_count.
  WeightAssembler d;
  std::vector<WeightTensor> two = {Tensors()[0], Tensors()[1]};
  const auto two_chunks = ChunkWeights(1, two, 16);
  ASSERT_TRUE(d.Add(two_chunks[0]).ok());
  ASSERT_TRUE(d.Add(two_chunks[9]).ok());  // second tensor
  proto::WeightUpdate third = ChunkWeights(1, {Tensors()[4]}, 16)[0];
  third.set_tensor_count(2);
  const Status extra = d.Add(third);
  EXPECT_NE(extra.message().find("more distinct tensors than tensor_count 2"), std::string::npos) << extra.ToString();

  // Nothing above changed the state: the good chunks still complete the version.
  ASSERT_TRUE(AddAll(&a, chunks).ok());
  std::optional<CompleteWeights> w = a.TakeComplete();
  ASSERT_TRUE(w.has_value());
  ExpectSameWeights(Tensors(), *w, 1);
}

TEST(WeightChunksTest, VersionOverTheByteBudgetIsRejected) {
  WeightAssembler::Options options;
  options.max_version_bytes = 200;  // 140 + 66 > 200
  WeightAssembler a(options);
  const auto chunks = ChunkWeights(1, Tensors(), 16);
  ASSERT_TRUE(a.Add(chunks[0]).ok());
  const Status s = a.Add(chunks[9]);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("more than max_version_bytes 200"), std::string::npos) << s.ToString();
}

}  // namespace
}  // namespace mem1
