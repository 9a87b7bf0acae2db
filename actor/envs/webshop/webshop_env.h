// WebShop (Yao et al. 2022) in text mode, as web_agent_site/envs/web_agent_text_env.py serves
// it with observation_mode="text": every page is its visible texts joined by " [SEP] ".
//
// Pages (what each shows, in order):
//   search  : WebShop, Instruction:, <instruction>, Search
//   results : Instruction:, <instruction>, Back to Search, Page p (Total results: n),
//             [< Prev], [Next >], then per product (10 a page): ASIN, Title, price tag
//   item    : Instruction:, <instruction>, Back to Search, < Prev, per option group: name and
//             its values, Title, Price: <tag>, Rating: <rating>, Description, Features,
//             Reviews, Attributes, Buy Now
//   sub-page: Instruction:, <instruction>, Back to Search, < Prev, then the Description text,
//             the Features (bullet points), the Reviews, or the Attributes
//   done    : Thank you for shopping with us!, the purchase and the score
// Actions are "search[keywords]" and "click[element]" (element = a lower-cased button text,
// a lower-cased ASIN, or an option value), matched like get_available_actions: search works
// where the page has a search bar (only the search page; `search_anywhere` lifts this),
// click[search] is never valid. Search returns the top 50 products by BM25 (WebShop's
// SEARCH_RETURN_N) over SearchText (catalog.h). An unavailable or malformed action leaves the
// page as it was and the observation says why (then shows the page again). The episode ends
// on click[buy now] (reward = GetReward, reward.h) or after `max_steps` actions (reward 0).
//
// Under the reference presets (mem1-code, mem1-code-eval: TagPreset::reference()) the env is
// MEM1's WebShop (Mem1/train/rollout/env/webshop + llm_agent/generation_webagent.py over
// webshop_minimal, i.e. WebShop's text env with show_attrs=False), exactly:
//   - pages as WebShop renders them: results always show "Next >" ("< Prev" from page 2), no
//     Attributes button; each text node as bs4 gives it (a node of spaces without a newline
//     leaves an empty segment), the done page as done_page.html;
//   - actions parsed like WebShop's parse_action (re.match(r'(.+)\[(.+)\]'), the argument
//     lower-cased): search[...] from any page; a click on something not on the page, an unknown
//     verb or an unparsable action is a silent no-op (the same page is observed again);
//   - the prompt is MEM1's (gen_data/data_process/webshop.py make_prefix) and each observation
//     is hint + "\n\n" + page + "\n\nCurrent available actions: " + str(list), wrapped in
//     <state></state> (ObservationTags); a malformed turn scores -1 (MalformedReward); the
//     episode ends on click[buy now] with WebShop's reward unscaled, or at actor.max_turns
//     (MEM1: 10) with 0 -- `max_steps`, `list_actions` and `search_anywhere` do not apply.
// Thread safety: an env is used by one thread; the catalog may be shared read-only.
#ifndef MEM1_ACTOR_ENVS_WEBSHOP_WEBSHOP_ENV_H_
#define MEM1_ACTOR_ENVS_WEBSHOP_WEBSHOP_ENV_H_

#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "actor/envs/environment.h"
#include "actor/envs/qa/retriever.h"
#include "actor/envs/webshop/catalog.h"
#include "actor/envs/webshop/reference_text.h"
#include "actor/envs/webshop/reward.h"

namespace mem1::webshop {

inline constexpr int kSearchReturnN = 50;  // engine.py SEARCH_RETURN_N
inline constexpr int kProductWindow = 10;  // engine.py PRODUCT_WINDOW (results per page)

struct WebShopEnvOptions {
  int32_t max_steps = 15;        // actions per episode before it ends unbought (reward 0)
  bool list_actions = true;      // append "Available actions: ..." to each observation
  bool search_anywhere = false;  // true: search[...] is valid on every page (WebShop's text env step())
  TagPreset preset;              // tag preset of the prompt (default paper)
  // WordNet nouns for the reward's title score (LoadNounLexicon); nullptr = the built-in
  // adjective list. Not owned: must outlive every session and environment made with it.
  const NounLexicon* lexicon = nullptr;
};

enum class PageKind { kSearch, kResults, kItem, kSubPage, kDone };

struct PageState {
  PageKind kind = PageKind::kSearch;
  std::string keywords;              // last search
  std::vector<std::string> results;  // asins of the last search (<= 50; more for <a>/<c>/<q>)
  int page = 1;                      // results page (1-based)
  std::string asin;                  // item / sub-page product
  std::string sub;                   // Description | Features | Reviews | Attributes
  std::map<std::string, std::string> options;  // selected option per group
  double reward = 0;                 // done page: the purchase's reward
};

// The outcome of one action.
struct ActionOutcome {
  bool valid = false;
  bool searched = false; // a valid search[...]
  std::string error;     // why the action was refused (valid == false; "" under the reference presets)
  bool done = false;
  double reward = 0;
  RewardBreakdown breakdown;  // set when bought
};

// The browser: page state, rendering and action semantics (no prompt, no tags).
class WebShopSession {
 public:
  // `catalog` and `search` must outlive the session.
  WebShopSession(const Catalog* catalog, Retriever* search, Goal goal, const WebShopEnvOptions& options);
  // Text-mode observation of the current page (without the action list).
  std::string PageText() const;
  // get_available_actions: whether there is a search bar, and the clickable element names.
  bool HasSearchBar() const { return state_.kind == PageKind::kSearch; }
  std::vector<std::string> Clickables() const;
  // "Available actions: search[<keywords>]" / "Available actions: click[a], click[b], ...".
  std::string ActionList() const;
  // MEM1's get_available_actions (env.py): 'search[<content>]' where the page has a search bar,
  // then 'click[c]' per clickable c != "search".
  std::vector<std::string> Mem1AvailableActions() const;
  // Under a reference preset (options.preset.reference()): WebShop's pages and actions exactly.
  bool reference() const { return options_.preset.reference(); }
  // Applies "search[...]" / "click[...]".
  ActionOutcome Act(const std::string& action);
  const PageState& state() const { return state_; }
  const Goal& goal() const { return goal_; }
  const Catalog& catalog() const { return *catalog_; }

 private:
  std::vector<std::string> Buttons() const;
  std::string ReferencePageText() const;
  ActionOutcome ActReference(const std::string& action);
  // The asins a search[arg] lists (WebShop's keyword prefixes included).
  std::vector<std::string> SearchResults(const std::string& arg);
  void Buy(ActionOutcome* o);
  const Catalog* catalog_;
  Retriever* search_;
  Goal goal_;
  WebShopEnvOptions options_;
  PageState state_;
  std::mt19937_64 rng_;  // <r> searches
};

class WebShopEnv : public Environment {
 public:
  WebShopEnv(const Catalog* catalog, Retriever* search, Goal goal, std::string task_id,
             const WebShopEnvOptions& options, const TagPreset& preset);
  std::string name() const override { return "webshop"; }
  std::string task_id() const override { return task_id_; }
  std::string Prompt() const override;
  std::vector<ActionSpec> Actions() const override { return {{"webshop", false}}; }
  StepResult Step(const std::string& action, const std::string& content, int turns_left) override;
  StepResult Truncate() override;
  // Reference presets: -1 (generation_webagent.py), <state></state>.
  double MalformedReward() const override { return preset_.reference() ? -1.0 : 0.0; }
  TagPair ObservationTags(const TagPreset& preset) const override {
    return preset.reference() ? TagPair{"<state>", "</state>"} : preset.observation;
  }
  std::unique_ptr<Environment> Clone() const override {
    return std::make_unique<WebShopEnv>(catalog_, search_, goal_, task_id_, options_, preset_);
  }
  const WebShopSession& session() const { return session_; }
  int steps() const { return steps_; }

 private:
  std::string Observation() const;
  // Reference presets: hint + "\n\n" + page + "\n\nCurrent available actions: " + str(list).
  std::string ReferenceObservation(int turns_left) const;
  StepResult Finish(double reward, bool bought, const RewardBreakdown* b);
  const Catalog* catalog_;
  Retriever* search_;
  Goal goal_;
  WebShopSession session_;
  std::string task_id_;
  WebShopEnvOptions options_;
  TagPreset preset_;
  int steps_ = 0, searches_ = 0, invalid_ = 0;
};

// Episodes over the goals of a split. sequential: goals in split order from the first (eval);
// otherwise sampled with the seed (uniform for human goals, by goal weight for synthetic
// goals, as WebShop's SimServer). `count` episodes (-1 = endless).
class WebShopTaskSource : public TaskSource {
 public:
  WebShopTaskSource(const Catalog* catalog, Retriever* search, std::vector<size_t> goal_indices, bool sequential,
                    uint64_t seed, int64_t count, const WebShopEnvOptions& options);
  std::unique_ptr<Environment> Next() override;
  int64_t produced() const { return produced_; }

 private:
  const Catalog* catalog_;
  Retriever* search_;
  std::vector<size_t> goals_;
  bool sequential_;
  std::mt19937_64 rng_;
  std::discrete_distribution<size_t> pick_;
  int64_t count_, produced_ = 0;
  WebShopEnvOptions options_;
};

// Builds the BM25 product index of `catalog` at `index_dir` (overwritten) and writes a stamp
// (product count + first/last asin) that OpenProductIndex checks.
[[nodiscard]] Status BuildProductIndex(const Catalog& catalog, const std::string& index_dir, bool progress,
                                       IndexBuildReport* report);
// NOT_FOUND (no index: "build it with mem1 webshop index"), FAILED if stale (FAILED_PRECONDITION
// is reported as INVALID_ARGUMENT with a rebuild hint).
[[nodiscard]] Result<std::unique_ptr<Retriever>> OpenProductIndex(const Catalog& catalog, const std::string& index_dir);

}  // namespace mem1::webshop

#endif  // MEM1_ACTOR_ENVS_WEBSHOP_WEBSHOP_ENV_H_
