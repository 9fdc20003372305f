#include "clients/lib/recording.h"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "clients/lib/wire.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/heap_bytes.h"
#include "tests/unit/test_util.h"

namespace perfwire {
namespace {

using ::perfwire::testing::FrameWithSeq;
using ::perfwire::testing::TempDir;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteAll(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

absl::Span<const uint8_t> Span(const flatbuffers::DetachedBuffer& b) {
  return absl::MakeConstSpan(b.data(), b.size());
}

// Writes frames with seq 0..n-1 to `path`.
void WriteFrames(const std::string& path, int n) {
  absl::StatusOr<RecordingWriter> writer =
      RecordingWriter::Create(path, kSchemaVersion, "host-a");
  ASSERT_TRUE(writer.ok()) << writer.status();
  for (int i = 0; i < n; ++i) {
    ASSERT_TRUE(writer->Append(Span(*FrameWithSeq(i))).ok());
  }
}

struct ReadResult {
  std::vector<uint64_t> seqs;
  absl::Status end;  // OutOfRange (clean) or DataLoss (torn)
};

ReadResult ReadFrames(const std::string& path) {
  ReadResult result;
  absl::StatusOr<RecordingReader> reader = RecordingReader::Open(path);
  if (!reader.ok()) {
    result.end = reader.status();
    return result;
  }
  for (;;) {
    absl::StatusOr<const fb::Frame*> frame = reader->Next();
    if (!frame.ok()) {
      result.end = frame.status();
      return result;
    }
    result.seqs.push_back((*frame)->seq());
  }
}

TEST(RecordingTest, RoundTripKeepsHeaderAndBytes) {
  TempDir dir;
  const std::string path = dir.File("a/b/rec.pwrec");  // parents created
  WriteFrames(path, 3);
  absl::StatusOr<RecordingReader> reader = RecordingReader::Open(path);
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_EQ(reader->hostname(), "host-a");
  EXPECT_EQ(reader->schema_version(), kSchemaVersion);
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<const fb::Frame*> frame = reader->Next();
    ASSERT_TRUE(frame.ok()) << frame.status();
    EXPECT_EQ((*frame)->seq(), static_cast<uint64_t>(i));
    const auto expected = FrameWithSeq(i);
    EXPECT_EQ(std::string(reader->last_message().begin(),
                          reader->last_message().end()),
              testing::Bytes(*expected));
  }
  EXPECT_TRUE(absl::IsOutOfRange(reader->Next().status()));
  EXPECT_TRUE(absl::IsOutOfRange(reader->Next().status()));
}

TEST(RecordingTest, NotARecording) {
  TempDir dir;
  WriteAll(dir.File("x"), "hello world, not a recording");
  EXPECT_TRUE(absl::IsFailedPrecondition(
      RecordingReader::Open(dir.File("x")).status()));
  EXPECT_TRUE(absl::IsNotFound(RecordingReader::Open(dir.File("no")).status()));
}

TEST(RecordingTest, TruncationAtEveryOffsetKeepsCompleteFrames) {
  TempDir dir;
  const std::string path = dir.File("rec");
  WriteFrames(path, 3);
  const std::string bytes = ReadAll(path);
  // Where each record ends (the header ends where the first record starts).
  const size_t header = kRecordingMagicBytes + 4 + 2 + 6;
  std::vector<size_t> ends;
  size_t at = header;
  for (int i = 0; i < 3; ++i) {
    at += FrameWithSeq(i)->size() + 4;
    ends.push_back(at);
  }
  ASSERT_EQ(ends.back(), bytes.size());
  const std::string cut = dir.File("cut");
  for (size_t size = header; size <= bytes.size(); ++size) {
    WriteAll(cut, bytes.substr(0, size));
    const ReadResult r = ReadFrames(cut);
    size_t complete = 0;
    while (complete < ends.size() && ends[complete] <= size) ++complete;
    ASSERT_EQ(r.seqs.size(), complete) << "cut at " << size;
    for (size_t i = 0; i < complete; ++i) EXPECT_EQ(r.seqs[i], i);
    const bool at_boundary =
        size == header || (complete > 0 && ends[complete - 1] == size);
    if (at_boundary) {
      EXPECT_TRUE(absl::IsOutOfRange(r.end)) << size << " " << r.end;
    } else {
      EXPECT_TRUE(absl::IsDataLoss(r.end)) << size << " " << r.end;
      EXPECT_THAT(std::string(r.end.message()),
                  ::testing::HasSubstr("torn or corrupt record"));
    }
  }
  // A cut inside the header is a truncated header.
  WriteAll(cut, bytes.substr(0, header - 1));
  EXPECT_TRUE(absl::IsDataLoss(ReadFrames(cut).end));
}

TEST(RecordingTest, BitFlipIsDetectedByCrc) {
  TempDir dir;
  const std::string path = dir.File("rec");
  WriteFrames(path, 3);
  std::string bytes = ReadAll(path);
  const size_t header = kRecordingMagicBytes + 4 + 2 + 6;
  const size_t second = header + FrameWithSeq(0)->size() + 4;
  // Flip a bit inside the second frame's body (past its length prefix).
  bytes[second + 4 + 10] ^= 0x04;
  WriteAll(path, bytes);
  const ReadResult r = ReadFrames(path);
  EXPECT_THAT(r.seqs, ::testing::ElementsAre(0));
  EXPECT_TRUE(absl::IsDataLoss(r.end)) << r.end;
  EXPECT_THAT(std::string(r.end.message()), ::testing::HasSubstr("CRC"));
}

// A torn record announcing 60 MiB costs only what the file holds.
TEST(RecordingTest, AnnouncedLengthIsNotAllocatedBeforeTheBytesArrive) {
  TempDir dir;
  const std::string path = dir.File("rec.pwrec");
  WriteFrames(path, 1);
  std::string bytes = ReadAll(path);
  std::string prefix(4, '\0');
  flatbuffers::WriteScalar(prefix.data(), uint32_t{60u << 20});
  WriteAll(path, bytes + prefix + std::string(1024, 'x'));
  absl::StatusOr<RecordingReader> reader = RecordingReader::Open(path);
  ASSERT_TRUE(reader.ok()) << reader.status();
  ASSERT_TRUE(reader->Next().ok());
  const size_t before = testing::HeapBytesInUse();
  absl::Status torn = reader->Next().status();
  const size_t after = testing::HeapBytesInUse();
  EXPECT_EQ(torn.code(), absl::StatusCode::kDataLoss) << torn;
  EXPECT_LT(after, before + 2 * kReadChunkBytes);
}

}  // namespace
}  // namespace perfwire
