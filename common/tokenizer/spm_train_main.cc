// mem1_spm_train: runs SentencePiece's trainer with the flags given (same syntax as spm_train).
// A separate process on purpose: libsentencepiece bundles protobuf-lite, which clashes with the
// libprotobuf that libtorch and our wire schema load. This binary links neither.
#include <sentencepiece_trainer.h>

#include <iostream>
#include <string>

int main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help") {
    std::cout << "usage: mem1_spm_train --input=FILE --model_prefix=PREFIX [--flag=value ...]\n"
                 "Trains a SentencePiece model; flags as in spm_train. Normally started by `mem1 tokenizer train`.\n";
    return argc < 2 ? 2 : 0;
  }
  std::string args;
  for (int i = 1; i < argc; ++i) args += (i > 1 ? " " : "") + std::string(argv[i]);
  const auto status = sentencepiece::SentencePieceTrainer::Train(args);
  if (!status.ok()) {
    std::cerr << "error: " << status.ToString() << "\n";
    return 1;
  }
  return 0;
}
