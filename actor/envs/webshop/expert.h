// Scripted WebShop players over a session (no model, no tokens):
//   - ExpertAction: searches with the instruction's keywords, opens the result whose title
//     best matches the instruction (and fits the price limit), selects each goal option the
//     item offers (best fuzzy match, one click per turn), then buys. It reads the goal's
//     options (oracle), never the goal's ASIN: it can pick the wrong product.
//   - ExpertState: the MEM1 internal state it keeps (instruction, query, chosen product,
//     options selected, next step).
//   - RandomAction: a uniformly random available action (search with random instruction
//     words on the search page); the baseline the expert is compared with.
// Thread safety: pure functions of the session (RandomAction uses the caller's rng).
#ifndef MEM1_ACTOR_ENVS_WEBSHOP_EXPERT_H_
#define MEM1_ACTOR_ENVS_WEBSHOP_EXPERT_H_

#include <functional>
#include <random>
#include <string>

#include "actor/envs/webshop/webshop_env.h"

namespace mem1::webshop {

// The keyword query the expert searches: the instruction without filler words and the price
// clause.
std::string ExpertQuery(const std::string& instruction);
std::string ExpertAction(const WebShopSession& s);
// `next_action`: ExpertAction(s), which the state names as the next step.
std::string ExpertState(const WebShopSession& s, const std::string& next_action);
std::string RandomAction(const WebShopSession& s, std::mt19937_64& rng);
// The expert's whole turn in `preset`'s grammar: "<IS>state</IS><action>a</action>" (paper tags
// from the preset), or MEM1's "<think>…</think>\n<summary>state</summary>\n<answer>a</answer>"
// under the reference presets.
std::string ExpertTurn(const WebShopSession& s, const TagPreset& preset);

// Plays one episode with the expert (or the random player) directly on an env (no model): the
// final reward. `on_step`, when set, sees every action and its result (`mem1 webshop play
// --trace`). Used by tests, `mem1 webshop play` and the benchmark.
double PlayEpisode(WebShopEnv* env, bool expert, std::mt19937_64* rng, int max_actions,
                   const std::function<void(const std::string& action, const StepResult& result)>& on_step = nullptr);

}  // namespace mem1::webshop

#endif  // MEM1_ACTOR_ENVS_WEBSHOP_EXPERT_H_
