// SQuAD-style answer normalisation, exact match and token F1 (as in the SQuAD v1.1 evaluation
// script and Search-R1 / MEM1 qa_em.py): lower-case, remove punctuation, remove the articles
// a / an / the, collapse whitespace. Two variants of "punctuation":
//   kReference  Python's string.punctuation (ASCII only), exactly as the reference; articles
//               are removed where the regex \b(a|an|the)\b matches (Unicode word boundaries),
//               whitespace is Python's str.split(). The mem1-code presets use it.
//   kUnicode    ours (paper preset): every Unicode punctuation code point too, so "Paris." and
//               "Paris。" agree; ASCII symbols $+<=>^`|~ are kept (they are not punctuation).
// Lower-casing is Unicode (Python's str.lower) in both.
#ifndef MEM1_ACTOR_ENVS_QA_ANSWER_METRICS_H_
#define MEM1_ACTOR_ENVS_QA_ANSWER_METRICS_H_

#include <cstdint>
#include <string>
#include <vector>

namespace mem1 {

enum class AnswerNormalization { kUnicode, kReference };

// Python's character classes on code points: str.isspace() / re's \s (the set PythonStrip in
// common/util/strings.h uses), and string.punctuation (!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~).
bool IsPythonSpace(int32_t c);
bool IsAsciiPunctuation(int32_t c);

std::string NormalizeAnswer(const std::string& s, AnswerNormalization mode = AnswerNormalization::kUnicode);
// 1 if the normalised prediction equals any normalised golden answer.
double ExactMatch(const std::string& prediction, const std::vector<std::string>& golden,
                  AnswerNormalization mode = AnswerNormalization::kUnicode);
// Max token-F1 over golden answers.
double TokenF1(const std::string& prediction, const std::vector<std::string>& golden,
               AnswerNormalization mode = AnswerNormalization::kUnicode);

}  // namespace mem1

#endif  // MEM1_ACTOR_ENVS_QA_ANSWER_METRICS_H_
