#include "actor/envs/webshop/webshop_policy.h"

namespace mem1::webshop {

WebShopExpertPolicy::WebShopExpertPolicy(const TagPreset& preset) : preset_(preset) {}

std::optional<ScriptedTurn> WebShopExpertPolicy::Respond(const Environment& env, int, const std::string&) {
  const auto* w = dynamic_cast<const WebShopEnv*>(&env);
  if (w == nullptr) return std::nullopt;
  const TagPair act = preset_.ActionTags("webshop");
  const std::string action = ExpertAction(w->session());
  return ScriptedTurn{preset_.state.open + ExpertState(w->session(), action) + preset_.state.close + act.open + action +
                          act.close,
                      true};
}

}  // namespace mem1::webshop
