// SQuAD-style answer normalisation, exact match and token F1 (as in the SQuAD v1.1 evaluation
// script and Search-R1 / MEM1): lower-case, remove punctuation, remove articles (a, an, the),
// collapse whitespace. Unicode: lower-casing and punctuation are ASCII-only, as in the reference
// (Python's str.lower also folds non-ASCII; we fold Latin-1 letters too via ICU).
#ifndef MEM1_ACTOR_ENVS_QA_ANSWER_METRICS_H_
#define MEM1_ACTOR_ENVS_QA_ANSWER_METRICS_H_

#include <string>
#include <vector>

namespace mem1 {

std::string NormalizeAnswer(const std::string& s);
// 1 if the normalised prediction equals any normalised golden answer.
double ExactMatch(const std::string& prediction, const std::vector<std::string>& golden);
// Max token-F1 over golden answers.
double TokenF1(const std::string& prediction, const std::vector<std::string>& golden);

}  // namespace mem1

#endif  // MEM1_ACTOR_ENVS_QA_ANSWER_METRICS_H_
