#include "actor/envs/webshop/webshop_env.h"

#include <glog/logging.h>

#include <algorithm>
#include <cstdio>

#include "actor/envs/webshop/text_match.h"
#include "common/util/strings.h"

namespace mem1::webshop {
namespace {

std::string JoinSep(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) {
    const std::string t = TrimWhitespace(p);
    if (t.empty()) continue;
    if (!out.empty()) out += " [SEP] ";
    out += t;
  }
  return out;
}

const std::vector<std::string> kSubPages = {"Description", "Features", "Reviews", "Attributes"};

// The session options with the env's preset (the env and its session follow one preset).
WebShopEnvOptions WithPreset(WebShopEnvOptions o, const TagPreset& preset) {
  o.preset = preset;
  return o;
}

}  // namespace

WebShopSession::WebShopSession(const Catalog* catalog, Retriever* search, Goal goal, const WebShopEnvOptions& options)
    : catalog_(catalog), search_(search), goal_(std::move(goal)), options_(options) {
  // <r> draws from a generator seeded by the goal (FNV-1a of asin + instruction): the same
  // goal sees the same random pages on every run and in every process.
  uint64_t h = 1469598103934665603ULL;
  for (const char c : goal_.asin + "\n" + goal_.instruction_text) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
  rng_.seed(h);
}

std::string WebShopSession::PageText() const {
  if (reference()) return ReferencePageText();
  const std::string& ins = goal_.instruction_text;
  const Product* p = state_.asin.empty() ? nullptr : catalog_->Find(state_.asin);
  std::vector<std::string> parts;
  switch (state_.kind) {
    case PageKind::kSearch:
      parts = {"WebShop", "Instruction:", ins, "Search"};
      break;
    case PageKind::kResults: {
      parts = {"Instruction:", ins, "Back to Search",
               "Page " + std::to_string(state_.page) + " (Total results: " + std::to_string(state_.results.size()) + ")"};
      if (state_.page > 1) parts.push_back("< Prev");
      if (state_.page * kProductWindow < static_cast<int>(state_.results.size())) parts.push_back("Next >");
      const size_t b = static_cast<size_t>(state_.page - 1) * kProductWindow;
      for (size_t i = b; i < std::min(state_.results.size(), b + kProductWindow); ++i) {
        const Product* r = catalog_->Find(state_.results[i]);
        parts.push_back(r->asin);
        parts.push_back(r->title);
        parts.push_back(r->price_tag);
      }
      break;
    }
    case PageKind::kItem:
      parts = {"Instruction:", ins, "Back to Search", "< Prev"};
      for (const auto& [group, values] : p->options) {
        parts.push_back(group);
        for (const auto& v : values) parts.push_back(v);
      }
      parts.push_back(p->title);
      parts.push_back("Price: " + p->price_tag);
      parts.push_back("Rating: " + p->rating);
      for (const auto& s : kSubPages) parts.push_back(s);
      parts.push_back("Buy Now");
      break;
    case PageKind::kSubPage:
      parts = {"Instruction:", ins, "Back to Search", "< Prev"};
      if (state_.sub == "Description") {
        parts.push_back(p->description);
      } else if (state_.sub == "Features") {
        for (const auto& b : p->bullet_points) parts.push_back(b);
      } else if (state_.sub == "Reviews") {
        for (const auto& r : p->reviews) {
          parts.push_back(r.title);
          parts.push_back(r.score);
          parts.push_back(r.body);
        }
      } else {
        for (const auto& a : p->attributes) parts.push_back(a);
      }
      break;
    case PageKind::kDone:
      parts = {"Thank you for shopping with us!", "Purchased", state_.asin};
      for (const auto& [group, value] : state_.options) parts.push_back(group + ": " + value);
      break;
  }
  return JoinSep(parts);
}

// The reference page (web_agent_site/templates/*.html as WebAgentTextEnv shows them in text
// mode): the text nodes in document order, each as AddBs4TextNode keeps it.
std::string WebShopSession::ReferencePageText() const {
  const std::string& ins = goal_.instruction_text;
  const Product* p = state_.asin.empty() ? nullptr : catalog_->Find(state_.asin);
  std::vector<std::string> n;
  auto add = [&](const std::string& node) { AddBs4TextNode(node, &n); };
  auto header = [&]() {  // Instruction:<br>{{ instruction_text }}, Back to Search
    add("Instruction:");
    add(ins);
    add("Back to Search");
  };
  switch (state_.kind) {
    case PageKind::kSearch:
      add("WebShop");
      add("Instruction: ");
      add(ins);
      add("Search");
      break;
    case PageKind::kResults: {
      header();
      add("Page " + std::to_string(state_.page) + " (Total results: " + std::to_string(state_.results.size()) + ")");
      if (state_.page > 1) add("< Prev");
      add("Next >");  // always, even past the last page
      const size_t b = static_cast<size_t>(std::max(state_.page - 1, 0)) * kProductWindow;
      for (size_t i = b; i < std::min(state_.results.size(), b + kProductWindow); ++i) {
        const Product* r = catalog_->Find(state_.results[i]);
        add(r->asin);
        add(r->title);
        add(r->price_tag);
      }
      break;
    }
    case PageKind::kItem:
      header();
      add("< Prev");
      for (const auto& [group, values] : p->options) {
        add(group);
        for (const auto& v : values) add(v);
      }
      add(p->title);
      add("Price: " + p->price_tag);
      add("Rating: " + p->rating);
      for (const char* b : {"Description", "Features", "Reviews"}) add(b);  // show_attrs=False
      add("Buy Now");
      break;
    case PageKind::kSubPage:
      header();
      add("< Prev");
      if (state_.sub == "Description") {
        add(p->description);
      } else if (state_.sub == "Features") {
        for (const auto& b : p->bullet_points) add(" " + b);  // <p class="product-info"> {{bulletpoint}}</p>
      } else if (state_.sub == "Reviews") {
        for (const auto& r : p->reviews) {
          add("\"" + r.title + "\"");
          add(r.score);
          add(r.body);
        }
      } else {  // Attributes (show_attrs only; not reachable under MEM1's settings)
        for (const auto& a : p->attributes) add(" " + a);
        add(p->category);
        add(p->query);
        add(p->product_category);
      }
      break;
    case PageKind::kDone:
      // done_page.html; the hidden blocks are visible to convert_html_to_text too.
      return "Thank you for shopping with us! [SEP] Your code: [SEP] None [SEP] (Paste it in your MTurk interface.) "
             "[SEP] Purchased [SEP] asin [SEP] " + state_.asin + " [SEP] options [SEP] " + FlaskToJson(state_.options) +
             " [SEP] attrs [SEP] None [SEP] category [SEP] None [SEP] query [SEP] None [SEP] product category [SEP] "
             "None [SEP] Target [SEP] asin [SEP] options [SEP] attrs [SEP] price upper [SEP] instuction text [SEP] "
             "category [SEP] product category [SEP] query [SEP] Goal [SEP] None [SEP] Reward [SEP] Your score (min "
             "0.0, max 1.0) [SEP] " + PyFloat(state_.reward) + " [SEP] Reward Details [SEP] None";
  }
  return JoinBs4TextNodes(n);
}

std::vector<std::string> WebShopSession::Buttons() const {
  switch (state_.kind) {
    case PageKind::kSearch:
      return {"search"};
    case PageKind::kResults: {
      std::vector<std::string> b = {"back to search"};
      if (state_.page > 1) b.push_back("< prev");
      if (reference() || state_.page * kProductWindow < static_cast<int>(state_.results.size())) b.push_back("next >");
      const size_t s = static_cast<size_t>(state_.page - 1) * kProductWindow;
      for (size_t i = s; i < std::min(state_.results.size(), s + kProductWindow); ++i) {
        b.push_back(Utf8Lower(state_.results[i]));
      }
      return b;
    }
    case PageKind::kItem: {
      std::vector<std::string> b = {"back to search", "< prev"};
      for (const auto& s : kSubPages) {
        if (!reference() || s != "Attributes") b.push_back(Utf8Lower(s));  // reference: show_attrs=False
      }
      b.push_back("buy now");
      return b;
    }
    case PageKind::kSubPage:
      return {"back to search", "< prev"};
    case PageKind::kDone:
      return {};
  }
  return {};
}

std::vector<std::string> WebShopSession::Clickables() const {
  std::vector<std::string> out = Buttons();
  if (state_.kind == PageKind::kItem) {
    const Product* p = catalog_->Find(state_.asin);
    for (const auto& [group, values] : p->options) {
      for (const auto& v : values) {
        if (std::find(out.begin(), out.end(), v) == out.end()) out.push_back(v);
      }
    }
  }
  return out;
}

std::vector<std::string> WebShopSession::Mem1AvailableActions() const {
  std::vector<std::string> out;
  if (HasSearchBar()) out.push_back("search[<content>]");
  for (const auto& c : Clickables()) {
    if (c != "search") out.push_back("click[" + c + "]");
  }
  return out;
}

std::string WebShopSession::ActionList() const {
  if (state_.kind == PageKind::kDone) return "";
  std::string out = "Available actions: ";
  bool first = true;
  if (HasSearchBar() || options_.search_anywhere) {
    out += "search[<keywords>]";
    first = false;
  }
  for (const auto& c : Clickables()) {
    if (c == "search") continue;
    out += (first ? "" : ", ") + std::string("click[") + c + "]";
    first = false;
  }
  return out;
}

void WebShopSession::Buy(ActionOutcome* o) {
  const Product* p = catalog_->Find(state_.asin);
  o->done = true;
  o->breakdown = GetReward(*p, goal_, catalog_->PriceOf(p->asin), state_.options, options_.lexicon,
                           /*option_tuples=*/reference());
  o->reward = o->breakdown.total;
  state_.reward = o->reward;
  state_.kind = PageKind::kDone;
}

// WebShop's WebAgentTextEnv.step + SimServer.receive (web_agent_text_env.py), in the order
// receive tests the clicked name.
ActionOutcome WebShopSession::ActReference(const std::string& action) {
  ActionOutcome o;  // valid == false: nothing happened (reward 0, the same page)
  if (state_.kind == PageKind::kDone) return o;
  const WebShopAction a = ParseWebShopAction(action);
  if (!a.matched) return o;
  const std::string arg = Utf8Lower(a.arg);
  if (a.name == "search" && !arg.empty()) {
    // browser.search: ' '.join(arg.split(' ')) == arg (SearchResults: the <r>/<a>/<c>/<q>
    // prefixes, else BM25's top 50).
    PageState next;
    next.kind = PageKind::kResults;
    next.keywords = arg;
    next.results = SearchResults(arg);
    state_ = std::move(next);
    o.valid = o.searched = true;
    return o;
  }
  if (a.name != "click" || arg == "search") return o;
  const auto clickables = Clickables();
  if (std::find(clickables.begin(), clickables.end(), arg) == clickables.end()) return o;
  o.valid = true;
  const PageKind kind = state_.kind;
  if (arg == "buy now") {
    Buy(&o);
  } else if (arg == "back to search") {
    state_ = PageState();
  } else if (arg == "next >" && kind == PageKind::kResults) {
    ++state_.page;
  } else if (arg == "< prev" && kind == PageKind::kResults) {
    --state_.page;
  } else if (arg == "< prev" && kind == PageKind::kSubPage) {
    state_.kind = PageKind::kItem;
    state_.sub.clear();
  } else if (arg == "< prev" && kind == PageKind::kItem) {
    state_.kind = PageKind::kResults;  // search_results: the same search and page, options reset
    state_.asin.clear();
    state_.options.clear();
  } else if (arg == "description" || arg == "features" || arg == "reviews" || arg == "attributes") {
    for (const auto& sp : kSubPages) {
      if (Utf8Lower(sp) == arg) state_.sub = sp;
    }
    state_.kind = PageKind::kSubPage;
  } else if (kind == PageKind::kResults) {  // a product link
    for (const auto& asin : state_.results) {
      if (Utf8Lower(asin) == arg) state_.asin = asin;
    }
    state_.kind = PageKind::kItem;
    state_.options.clear();
  } else if (kind == PageKind::kItem) {
    // An option value: text_to_clickable maps it to the last radio holding it, whose group gets it.
    const Product* p = catalog_->Find(state_.asin);
    const std::string* group = nullptr;
    for (const auto& [g, values] : p->options) {
      if (std::find(values.begin(), values.end(), arg) != values.end()) group = &g;
    }
    if (group != nullptr) state_.options[*group] = arg;
  }
  return o;
}

ActionOutcome WebShopSession::Act(const std::string& raw) {
  if (reference()) return ActReference(raw);
  ActionOutcome o;
  if (state_.kind == PageKind::kDone) {
    o.error = "the episode is over";
    return o;
  }
  const std::string action = TrimWhitespace(raw);
  const size_t open = action.find('['), close = action.rfind(']');
  if (open == std::string::npos || close == std::string::npos || close < open) {
    o.error = "expected search[keywords] or click[element], got \"" + action + "\"";
    return o;
  }
  const std::string verb = Utf8Lower(TrimWhitespace(action.substr(0, open)));
  const std::string arg = Utf8Lower(TrimWhitespace(action.substr(open + 1, close - open - 1)));
  if (arg.empty()) {
    o.error = "empty argument in \"" + action + "\"";
    return o;
  }
  if (verb == "search") {
    if (!HasSearchBar() && !options_.search_anywhere) {
      o.error = "search is only available on the search page (click[back to search] first)";
      return o;
    }
    PageState next;
    next.kind = PageKind::kResults;
    next.keywords = arg;
    next.results = SearchResults(arg);
    state_ = std::move(next);
    o.valid = o.searched = true;
    return o;
  }
  if (verb != "click") {
    o.error = "unknown action \"" + verb + "\" (expected search[keywords] or click[element])";
    return o;
  }
  const auto clickables = Clickables();
  if (arg == "search" || std::find(clickables.begin(), clickables.end(), arg) == clickables.end()) {
    o.error = "\"" + arg + "\" is not clickable on this page";
    return o;
  }
  o.valid = true;
  const auto buttons = Buttons();
  const bool is_button = std::find(buttons.begin(), buttons.end(), arg) != buttons.end();
  const Product* p = state_.asin.empty() ? nullptr : catalog_->Find(state_.asin);
  if (state_.kind == PageKind::kItem && !is_button) {  // an option value (the last group holding it)
    for (const auto& [group, values] : p->options) {
      if (std::find(values.begin(), values.end(), arg) != values.end()) state_.options[group] = arg;
    }
    return o;
  }
  if (arg == "back to search") {
    state_ = PageState();
  } else if (arg == "next >") {
    ++state_.page;
  } else if (arg == "< prev") {
    if (state_.kind == PageKind::kResults) {
      --state_.page;
    } else if (state_.kind == PageKind::kItem) {
      state_.kind = PageKind::kResults;
      state_.asin.clear();
      state_.options.clear();
    } else {
      state_.kind = PageKind::kItem;
      state_.sub.clear();
    }
  } else if (arg == "buy now") {
    Buy(&o);
  } else if (state_.kind == PageKind::kResults) {  // a product link
    for (const auto& asin : state_.results) {
      if (Utf8Lower(asin) == arg) state_.asin = asin;
    }
    state_.kind = PageKind::kItem;
    state_.options.clear();
  } else {  // a sub-page button
    for (const auto& s : kSubPages) {
      if (Utf8Lower(s) == arg) state_.sub = s;
    }
    state_.kind = PageKind::kSubPage;
  }
  return o;
}

WebShopEnv::WebShopEnv(const Catalog* catalog, Retriever* search, Goal goal, std::string task_id,
                       const WebShopEnvOptions& options, const TagPreset& preset)
    : catalog_(catalog), search_(search), goal_(goal), session_(catalog, search, std::move(goal), WithPreset(options, preset)),
      task_id_(std::move(task_id)), options_(WithPreset(options, preset)),
      preset_(preset) {}

std::string WebShopEnv::ReferenceObservation(int turns_left) const {
  return Mem1TurnHint(turns_left) + "\n\n" + session_.PageText() +
         "\n\nCurrent available actions: " + PythonListRepr(session_.Mem1AvailableActions());
}

std::string WebShopEnv::Observation() const {
  std::string out = session_.PageText();
  if (options_.list_actions) out += "\n" + session_.ActionList();
  return out;
}

std::string WebShopEnv::Prompt() const {
  if (preset_.reference()) {
    // make_prefix(render_cache): env_instruction + "\n" + response_instruction.format(...), where
    // render_cache = the search page's instruction h4 text + "\n" + "Available actions: " +
    // ", ".join(actions) and the search page's only action is search[<content>].
    return Mem1WebShopPrompt(session_.goal().instruction_text);
  }
  const TagPair act = preset_.ActionTags("webshop");
  return "You are shopping on WebShop for a customer. You only see this instruction, your latest internal state, "
         "your latest action and the page it led to: everything older is removed. Each turn, first write " +
         preset_.state.open + " ... " + preset_.state.close +
         " with everything you need to keep (what you searched, which products you saw and their prices, the "
         "options you already selected, what is left to do). Then take exactly one action: " + act.open +
         "search[keywords]" + act.close + " on the search page, or " + act.open + "click[element]" + act.close +
         " with an element of the page (a button, a product ID or an option value). Pages come back inside " +
         preset_.observation.open + " ... " + preset_.observation.close +
         ". Select every option the instruction asks for, then click[buy now]; the episode ends when you buy, or "
         "after " + std::to_string(options_.max_steps) + " actions.\nInstruction: " +
         session_.goal().instruction_text + "\nCurrent page: " + Observation() + "\n";
}

StepResult WebShopEnv::Finish(double reward, bool bought, const RewardBreakdown* b) {
  StepResult r;
  r.done = true;
  r.reward = reward;
  r.metrics = {{"webshop_reward", reward},       {"webshop_success", reward >= 1.0 - 1e-9 ? 1.0 : 0.0},
               {"bought", bought ? 1.0 : 0.0},    {"steps", static_cast<double>(steps_)},
               {"searches", static_cast<double>(searches_)}, {"invalid_actions", static_cast<double>(invalid_)}};
  if (b != nullptr) {
    r.metrics["r_type"] = b->type.r_type;
    r.metrics["r_att"] = b->r_att;
    r.metrics["r_price"] = b->r_price;
    if (b->r_option) r.metrics["r_option"] = *b->r_option;
  }
  return r;
}

StepResult WebShopEnv::Step(const std::string&, const std::string& content, int turns_left) {
  if (preset_.reference()) {
    ++steps_;
    if (!Mem1ActionIsValid(content, session_.Mem1AvailableActions())) ++invalid_;
    ActionOutcome o = session_.Act(content);
    if (o.searched) ++searches_;
    StepResult r = o.done ? Finish(o.reward, true, &o.breakdown) : StepResult{};
    r.observation = ReferenceObservation(turns_left);
    return r;
  }
  ++steps_;
  ActionOutcome o = session_.Act(content);
  if (!o.valid) ++invalid_;
  if (o.searched) ++searches_;
  if (o.done) {
    StepResult r = Finish(o.reward, true, &o.breakdown);
    r.observation = session_.PageText() + " [SEP] Your score (min 0.0, max 1.0) [SEP] " + PyFloat(o.reward);
    return r;
  }
  StepResult r;
  r.observation = o.valid ? Observation() : "Invalid action: " + o.error + ". Nothing changed.\n" + Observation();
  if (steps_ >= options_.max_steps) {
    StepResult t = Finish(0.0, false, nullptr);
    t.observation = r.observation;
    return t;
  }
  return r;
}

StepResult WebShopEnv::Truncate() { return Finish(0.0, false, nullptr); }

WebShopTaskSource::WebShopTaskSource(const Catalog* catalog, Retriever* search, std::vector<size_t> goal_indices,
                                     bool sequential, uint64_t seed, int64_t count, const WebShopEnvOptions& options)
    : catalog_(catalog), search_(search), goals_(std::move(goal_indices)), sequential_(sequential), rng_(seed),
      count_(count), options_(options) {
  CHECK(!goals_.empty()) << "WebShopTaskSource: no goals";
  std::vector<double> w;
  for (size_t g : goals_) w.push_back(std::max(1e-12, catalog_->goals[g].weight));
  pick_ = std::discrete_distribution<size_t>(w.begin(), w.end());
}

std::unique_ptr<Environment> WebShopTaskSource::Next() {
  if (count_ >= 0 && produced_ >= count_) return nullptr;
  const size_t i = sequential_ ? static_cast<size_t>(produced_) % goals_.size() : pick_(rng_);
  ++produced_;
  const size_t g = goals_[i];
  return std::make_unique<WebShopEnv>(catalog_, search_, catalog_->goals[g], "webshop-goal-" + std::to_string(g),
                                      options_, options_.preset);
}

}  // namespace mem1::webshop
