// The WebShop scripted expert as a rollout-engine teacher: each turn it writes the MEM1 turn
// "<IS>state</IS><action>search[...] | click[...]</action>" (tags from the preset), so its
// trajectories have the same record as the model's (SFT warm-start data, eval upper bound).
// Under the reference presets the turn is MEM1's "<think>…</think>\n<summary>state</summary>\n
// <answer>action</answer>".
#ifndef MEM1_ACTOR_ENVS_WEBSHOP_WEBSHOP_POLICY_H_
#define MEM1_ACTOR_ENVS_WEBSHOP_WEBSHOP_POLICY_H_

#include "actor/envs/webshop/expert.h"
#include "actor/envs/environment.h"

namespace mem1::webshop {

class WebShopExpertPolicy : public ScriptedPolicy {
 public:
  explicit WebShopExpertPolicy(const TagPreset& preset = TagPreset{});
  // nullopt for non-WebShop environments.
  std::optional<ScriptedTurn> Respond(const Environment& env, int turn, const std::string& last_observation) override;

 private:
  TagPreset preset_;
};

}  // namespace mem1::webshop

#endif  // MEM1_ACTOR_ENVS_WEBSHOP_WEBSHOP_POLICY_H_
