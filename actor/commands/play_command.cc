// `mem1 play` / `mem1 qa play` / `mem1 webshop play --player human`: the environment exactly as
// the agent sees it (the prompt in the preset's tags, every observation wrapped as the engine
// wraps it), actions typed on stdin, one per line. A debugging tool for users and for us.
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "actor/commands/commands.h"
#include "actor/envs/env_factory.h"
#include "actor/envs/qa/qa_env.h"
#include "actor/envs/webshop/webshop_env.h"
#include "common/cli/cli_common.h"
#include "common/util/strings.h"

namespace mem1 {
namespace {

std::string FormatFixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, v == 0.0 ? 0.0 : v);  // no "-0.000"
  return buf;
}

void PrintResult(const Environment& env, const StepResult& r, std::ostream& out) {
  out << "== episode over: reward " << FormatFixed(r.reward, 3);
  for (const auto& [k, v] : r.metrics) out << ", " << k << " " << FormatFixed(v, 3);
  out << "\n";
  if (const auto* qa = dynamic_cast<const QaEnv*>(&env)) {
    out << "== golden answers:";
    for (size_t i = 0; i < qa->task().questions.size(); ++i) {
      const auto& q = qa->task().questions[i];
      out << (i ? "; " : " ") << (q.golden_answers.empty() ? std::string("?") : q.golden_answers[0]);
    }
    out << "\n";
  } else if (const auto* ws = dynamic_cast<const webshop::WebShopEnv*>(&env)) {
    out << "== goal: " << ws->session().goal().instruction_text << "\n";
  }
}

}  // namespace

Result<StepResult> PlayInteractive(Environment* env, const TagPreset& preset, int max_turns, bool end_on_format_error,
                                   std::istream& in, std::ostream& out, const ChatTemplate& chat) {
  const std::vector<ActionSpec> actions = env->Actions();
  out << "== task " << env->task_id() << " (" << env->name() << ", preset " << preset.name << ", " << max_turns
      << " turns). One action per line: " << DescribeActions(preset, actions) << " (the "
      << preset.state.open << "…" << preset.state.close << " state is optional here), or bare ";
  if (actions.size() == 1) {
    out << "search[...] / click[...]";
  } else {
    for (size_t i = 0; i < actions.size(); ++i) out << (i ? " / " : "") << actions[i].name << "[...]";
  }
  out << ". End of input ends the episode.\n" << chat.Apply(env->Prompt()) << "\n";
  for (int turn = 0; turn < max_turns; ++turn) {
    out << "-- turn " << turn + 1 << "/" << max_turns << "\n" << std::flush;
    std::string line;
    do {
      if (!std::getline(in, line)) {
        out << "== end of input\n";
        StepResult r = env->Truncate();
        PrintResult(*env, r, out);
        return r;
      }
      line = TrimWhitespace(line);
    } while (line.empty());
    std::string action, content;
    if (line.find('<') != std::string::npos) {
      ParsedTurn p = ParseTurn(line, preset, actions, false);
      if (p.error == TurnError::kNoState) {
        p = ParseTurn(preset.state.open + preset.state.close + line, preset, actions, false);
      }
      if (p.error != TurnError::kNone) {
        out << "(format error: " << TurnErrorFlag(p.error) << ")" << WrapObservation(preset, p.feedback);
        if (end_on_format_error) {
          StepResult r = env->Truncate();
          PrintResult(*env, r, out);
          return r;
        }
        continue;
      }
      action = p.action;
      content = p.action_content;
    } else {
      const size_t open = line.find('[');
      const std::string name = open == std::string::npos ? "" : line.substr(0, open);
      bool named = false;
      for (const auto& a : actions) named |= (a.name == name && line.back() == ']');
      if (named) {
        action = name;
        content = TrimWhitespace(line.substr(open + 1, line.size() - open - 2));
      } else if (actions.size() == 1) {
        action = actions[0].name;  // WebShop: the whole line is the action's content
        content = line;
      } else {
        out << "(not an action: type " << DescribeActions(preset, actions) << " or name[...])\n";
        --turn;  // a typing slip costs no turn
        continue;
      }
    }
    StepResult r = env->Step(action, content, max_turns - turn - 1);
    if (!r.observation.empty()) out << WrapObservation(preset, r.observation);
    if (r.done) {
      PrintResult(*env, r, out);
      return r;
    }
  }
  out << "== out of turns\n";
  StepResult r = env->Truncate();
  PrintResult(*env, r, out);
  return r;
}

Status PlayTaskFromConfig(const Mem1Config& config, int64_t task, uint64_t seed, int max_turns) {
  MEM1_ASSIGN_OR_RETURN(auto bundle, MakeEnvironments(config, seed));
  std::unique_ptr<Environment> env;
  for (int64_t i = 0; i <= task; ++i) {
    env = bundle->tasks->Next();
    if (!env) return InvalidArgument("--task " + std::to_string(task) + ": the task stream has only " + std::to_string(i) + " tasks");
  }
  const int turns = max_turns > 0                         ? max_turns
                    : config.env.name == EnvKind::kQa      ? QaTurnBudget(config.env.qa.objectives)
                                                            : config.env.webshop.max_steps;
  MEM1_ASSIGN_OR_RETURN(ChatTemplate chat, ResolveChatTemplate(config.tokenizer.chat_template, config.model.checkpoint,
                                                                config.tokenizer.path));
  MEM1_ASSIGN_OR_RETURN(StepResult r, PlayInteractive(env.get(), config.actor.tag_preset, turns,
                                                      config.actor.end_on_format_error || config.actor.tag_preset.reference(),
                                                      std::cin, std::cout, chat));
  (void)r;
  return Status::Ok();
}

namespace {

struct PlayArgs {
  ConfigFlags config;
  std::string env, data, split;
  int32_t objectives = 0, max_turns = 0;
  int64_t task = 0;
  uint64_t seed = 1;
};

Status RunPlayCommand(const PlayArgs& a, Mem1Config config) {
  if (!a.env.empty()) {
    if (a.env == "qa") config.env.name = EnvKind::kQa;
    else if (a.env == "webshop") config.env.name = EnvKind::kWebShop;
    else return InvalidArgument("--env: expected qa or webshop, got \"" + a.env + "\"");
  }
  const bool qa = config.env.name == EnvKind::kQa;
  if (!a.data.empty()) (qa ? config.env.qa.data_dir : config.env.webshop.data_dir) = a.data;
  if (!a.split.empty()) (qa ? config.env.qa.split : config.env.webshop.split) = a.split;
  if (a.objectives > 0) config.env.qa.objectives = a.objectives;
  return PlayTaskFromConfig(config, a.task, a.seed, a.max_turns);
}

void AddPlay(CLI::App* parent, const std::string& name, const std::string& fixed_env) {
  auto a = std::make_shared<PlayArgs>();
  a->env = fixed_env;
  auto* c = parent->add_subcommand(name, "Play one task yourself: the environment exactly as the agent sees it, "
                                         "actions typed on stdin (one per line), observations and the reward printed");
  AddConfigFlags(c, &a->config);
  if (fixed_env.empty()) c->add_option("--env", a->env, "qa | webshop (default: env.name)");
  c->add_option("--data", a->data, "Data directory (default: env.qa.data_dir / env.webshop.data_dir)");
  c->add_option("--split", a->split, "Split the task is drawn from (default: env.qa.split / env.webshop.split)");
  if (fixed_env != "webshop") c->add_option("--objectives", a->objectives, "QA: questions per task (default: env.qa.objectives)")
      ->check(CLI::Range(1, 1024));
  c->add_option("--task", a->task, "Play the task at this position of the seeded task stream (default 0)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 30));
  c->add_option("--seed", a->seed, "Task stream seed");
  c->add_option("--max-turns", a->max_turns, "Turn budget (0 = QA: 2N+2; WebShop: env.webshop.max_steps)")
      ->check(CLI::Range(0, 1 << 16));
  c->callback([a] {
    Mem1Config config;
    if (!LoadConfigOrReport(a->config, &config)) throw CLI::RuntimeError(2);
    const Status st = RunPlayCommand(*a, std::move(config));
    throw CLI::RuntimeError(st.ok() ? 0 : ReportError(st));
  });
}

}  // namespace

void RegisterPlayCommands(CLI::App* app) {
  AddPlay(app, "play", "");
  auto* qa = app->add_subcommand("qa", "QA environment tools: play");
  qa->require_subcommand(1);
  AddPlay(qa, "play", "qa");
}

}  // namespace mem1
