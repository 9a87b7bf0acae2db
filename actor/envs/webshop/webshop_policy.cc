#include "actor/envs/webshop/webshop_policy.h"

namespace mem1::webshop {

WebShopExpertPolicy::WebShopExpertPolicy(const TagPreset& preset) : preset_(preset) {}

std::optional<ScriptedTurn> WebShopExpertPolicy::Respond(const Environment& env, int, const std::string&) {
  const auto* w = dynamic_cast<const WebShopEnv*>(&env);
  if (w == nullptr) return std::nullopt;
  return ScriptedTurn{ExpertTurn(w->session(), preset_), true};
}

}  // namespace mem1::webshop
