// Typed configuration for every mem1 binary, parsed once at start-up from YAML.
//
// One YAML file configures a whole run (actors and learner read the sections they need).
// Parsing is strict: an unknown key, a value of the wrong type or out of range is an
// INVALID_ARGUMENT status whose message names the source (file path or `--set`), the full
// key path and the offending value, e.g.
//   configs/x.yaml: model.init.num_heads: expected an integer in [1, 1024], got "abc"
// Every field's default is written beside it below; a missing key keeps the default.
//
// Settings with a fixed vocabulary are parsed once, here, into enums and value types
// (Algorithm, EnvKind, CommBackend, LearnerMode, Teacher, ContextPolicy, TagPreset); the rest
// of the code compares those, never strings. Each enum has ToString (the YAML spelling, also
// what metrics, logs and checkpoints record) and a Parse function (the same table; the error
// names the value and the accepted ones).
//
// Thread safety: the structs are plain values; the functions are reentrant.
#ifndef MEM1_COMMON_CONFIG_CONFIG_H_
#define MEM1_COMMON_CONFIG_CONFIG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "common/memory/context_policy.h"
#include "common/memory/tag_grammar.h"
#include "common/util/status.h"

namespace mem1 {

// learner.ppo.algorithm: "ppo" | "grpo" | "sft".
enum class Algorithm { kPpo, kGrpo, kSft };
// env.name: "qa" | "webshop".
enum class EnvKind { kQa, kWebShop };
// learner.backend: "mpi" | "nccl". kLocal ("local") is the one-rank communicator the learner
// uses for "mpi" outside mpirun/srun; it is a Communicator's backend, not a config value.
enum class CommBackend { kLocal, kMpi, kNccl };
// learner.mode: "sync" | "async".
enum class LearnerMode { kSync, kAsync };
// actor.teacher: "none" | "expert".
enum class Teacher { kNone, kExpert };

// The YAML spelling of each value ("ppo", "webshop", "nccl", "local", "sync", "expert", ...).
std::string ToString(Algorithm value);
std::string ToString(EnvKind value);
std::string ToString(CommBackend value);
std::string ToString(LearnerMode value);
std::string ToString(Teacher value);

// Parse the YAML spelling; INVALID_ARGUMENT `expected one of {ppo, grpo, sft}, got "x"`
// otherwise (ParseCommBackend accepts the config values mpi and nccl only).
[[nodiscard]] Result<Algorithm> ParseAlgorithm(const std::string& text);
[[nodiscard]] Result<EnvKind> ParseEnvKind(const std::string& text);
[[nodiscard]] Result<CommBackend> ParseCommBackend(const std::string& text);
[[nodiscard]] Result<LearnerMode> ParseLearnerMode(const std::string& text);
[[nodiscard]] Result<Teacher> ParseTeacher(const std::string& text);

// Where and how tensors live. Device-agnostic: a CUDA libtorch build honours "cuda:N".
struct RuntimeOptions {
  std::string device = "cpu";     // "cpu", "cuda" or "cuda:N"
  std::string dtype = "float32";  // "float32", "bfloat16" or "float16"
  int32_t threads = 0;            // intra-op threads; 0 = all cores given to the process
  uint64_t seed = 1234;           // master seed for weights init, sampling and data order
  // Weights the actor's CPU decode kernel reads (common/model/skinny_gemm.h): "fp32", "bf16"
  // (opt-in: half the bytes, fp32 sums; log-probs then differ slightly from the learner's), or
  // "auto" = MEM1_DECODE_WEIGHTS from the environment, else fp32.
  std::string decode_weights = "auto";
};

// Shape of a freshly initialised Qwen2-family decoder (used when no checkpoint is given).
// The defaults are the small embedded model (~4 layers, d_model 256).
struct ModelInitOptions {
  int64_t vocab_size = 8192;                // tokens, must match the tokenizer
  int64_t hidden_size = 256;                // d_model
  int64_t intermediate_size = 704;          // SwiGLU inner width
  int64_t num_hidden_layers = 4;
  int64_t num_attention_heads = 8;          // query heads
  int64_t num_key_value_heads = 2;          // GQA groups; divides num_attention_heads
  int64_t max_position_embeddings = 4096;   // informational (RoPE has no table)
  double rope_theta = 10000.0;
  double rms_norm_eps = 1e-6;
  bool tie_word_embeddings = true;
  double init_std = 0.02;                   // N(0, std) init for linear/embedding weights
  // Write an analytic copy (induction) circuit into layers 0-1 at init (common/model/
  // copy_circuit.h): needs >= 2 layers, >= 2 KV heads and 4 * head_dim <= hidden_size.
  bool copy_circuit = false;
};

struct ModelOptions {
  std::string checkpoint;   // HF-format directory (config.json + model.safetensors); "" = init
  ModelInitOptions init;    // used when checkpoint is ""
};

struct TokenizerOptions {
  // A HF `tokenizer.json` or a SentencePiece `.model` file; "" = the checkpoint's
  // tokenizer.json / tokenizer.model if present.
  std::string path;
  // none | chatml | auto (default): the chat template around the task prompt; auto reads the
  // checkpoint's tokenizer_config.json (see common/tokenizer/chat_template.h).
  std::string chat_template = "auto";
};

struct RunOptions {
  std::string dir = "runs/default";  // run directory: resolved config, logs, checkpoints
};

// Actor-process settings (the rollout fleet).
struct ActorOptions {
  // Learner endpoints. "" (default) = read them from <run.dir>/rendezvous.json, which rank 0
  // writes (the only way under Slurm, where hosts are known late). Otherwise a comma-separated
  // list of every rank's trajectory endpoint, in rank order, and rank 0's weights endpoint.
  std::string learner_endpoint = "";                      // e.g. tcp://node1:5560,tcp://node1:5561
  std::string weights_endpoint = "";                      // e.g. tcp://node1:5555
  Teacher teacher = Teacher::kNone;                       // none | expert: the scripted expert writes every turn (SFT data)
  int64_t episodes = -1;                                  // stop after this many episodes (-1 = until the learner finishes)
  int32_t spool_capacity = 256;                           // trajectories kept until acked; rollouts pause when full
  double resend_after_s = 10.0;                           // re-send a trajectory not acked within this time
  double heartbeat_s = 1.0;                               // heartbeat / progress interval
  double connect_timeout_s = 300.0;                       // wait this long for the rendezvous file / first ack
  double learner_timeout_s = 600.0;                       // exit when the learner is silent this long (it may be restarting)
  std::string ack_log = "";                               // audit: append "episode_id rank" per acked trajectory to this file
  int32_t max_weight_versions_in_flight = 2;              // incomplete weight versions assembled at once (older chunks dropped)
  int64_t max_weight_version_bytes = int64_t{8} << 30;    // a weight version declaring more bytes is refused (8 GiB)
  // The rollout settings below are the defaults of RolloutOptions too (rollout_engine.h takes
  // them from here: written once).
  int32_t num_envs = 8;                                   // environments driven per process (KV slots)
  int32_t max_turns = 6;                                  // 6 for QA, 10 for WebShop (MEM1)
  int32_t max_new_tokens_per_turn = 128;
  int32_t max_state_tokens = 0;                           // cap on <IS> tokens; 0 = off
  int64_t max_observation_tokens = -1;                    // observation tokens kept (the rest cut); 0 = all; -1 = the preset's (mem1-code: 1000, MEM1's max_obs_length; others: all)
  bool prefill_scripted_turns = true;   // a teacher's whole turn is scored in its context's prefill (with mixed steps: 1.7-2.3x faster expert data, README)
  bool mixed_steps = true;              // one packed forward per step: pending contexts beside the decode rows; false = two-phase reference
  int64_t slot_capacity = 4096;                           // KV tokens per slot
  ContextPolicy policy;                                   // YAML actor.context_policy: mem1 | full | window:K (default mem1)
  TagPreset tag_preset;                                   // YAML actor.preset: paper | mem1-code | mem1-code-eval (default paper)
  double temperature = 1.0;                               // sampling temperature (> 0)
  double top_p = 1.0;                                     // nucleus sampling (1 = off)
  bool end_on_format_error = false;                       // MEM1 reference code: true (always on under mem1-code*)
  // Sampled turns: "auto" (default) = true under mem1-code (MEM1's training rollout samples to
  // EOS, then cuts at the first </answer>, else </search>); true / false force it. Greedy
  // turns always stop at the first closing action tag.
  std::string sample_to_eos = "auto";
};

// Environment settings.
struct QaEnvConfig {
  std::string data_dir = "runs/data/qa";  // corpus.jsonl, train/dev/test.jsonl and index/ (mem1 datagen qa + index build)
  int32_t objectives = 2;                 // questions per task (paper: train on 2)
  std::string split = "train";            // train | dev | test: the questions tasks are drawn from
  int32_t top_k = 3;                      // passages per search (MEM1: 3)
  std::string retriever = "";             // "" = the Xapian index data_dir/index; http://host:port/retrieve = a
                                          // Search-R1 / FlashRAG retrieval server (e.g. `mem1 serve retriever`)
  bool mean_reward = false;               // false: sum of EM over objectives (paper)
  double format_penalty = 0.0;            // for a missing answer block or a wrong answer count
};

struct WebShopEnvConfig {
  std::string data_dir = "runs/data/webshop";  // items_*.json + index/ (mem1 datagen webshop, or WebShop's data + mem1 webshop index)
  bool human_goals = true;        // WebShop's text env default; false: synthetic goals (instruction x options)
  std::string split = "train";    // train | dev | test | all (index ranges per `splits`)
  std::string splits = "webshop"; // webshop: test [0,500), dev [500,1500), train the rest; mem1: test [0,500), train the rest
  int32_t max_steps = 15;         // actions per episode before it ends unbought (reward 0)
  bool list_actions = true;       // observations end with "Available actions: ..."
  bool search_anywhere = false;   // search[...] valid on every page (WebShop's text env accepts it)
  int64_t max_products = -1;      // load only the first N products (-1 = all)
  int64_t catalog_seed = 233;     // simulated prices, price limits, goal shuffle
  // WordNet index files (Debian's wordnet-base) for the reward's title score; loaded once per
  // process by MakeEnvironments. Missing files: a warning and the built-in adjective list.
  std::string wordnet_dir = "/usr/share/wordnet";
};

struct EnvOptions {
  EnvKind name = EnvKind::kQa;  // qa | webshop
  QaEnvConfig qa;
  WebShopEnvConfig webshop;
};

// PPO / GRPO / SFT hyper-parameters. Defaults follow the MEM1 paper's recipe.
struct PpoOptions {
  Algorithm algorithm = Algorithm::kPpo;  // YAML learner.ppo.algorithm: "ppo" | "grpo" | "sft"
  double gamma = 1.0;             // GAE discount (paper: 1)
  double lam = 1.0;               // GAE lambda (paper: 1)
  double clip_ratio = 0.2;        // policy ratio clip (paper: 0.2)
  double value_clip = 0.2;        // clipped value loss range
  double value_coef = 0.5;        // weight of the value loss
  double entropy_coef = 0.001;    // entropy bonus (paper: 0.001)
  double kl_coef = 0.001;         // KL to the frozen initial policy (paper: 0.001); 0 = off
  bool whiten_advantages = true;  // normalise advantages over the global batch's model tokens
  int32_t max_policy_lag = 1;     // admission: trajectories more than this many versions old are dropped (counted)
  double is_weight_cap = 5.0;     // truncated importance weight pi_prox / pi_behaviour (decoupled PPO)
  int32_t group_size = 4;         // GRPO: rollouts per task
  // SFT only: weight of an auxiliary language-model loss on the tokens the agent did not write
  // (prompt, observations, context copies), each predicted from inside its own segment, i.e.
  // from exactly what the agent saw. 0 = plain SFT on model tokens (the reference). A policy
  // trained from scratch learns to copy names from it (what pretraining gives a real checkpoint).
  double sft_lm_weight = 0.0;
};

struct OptimOptions {
  double actor_lr = 1e-6;        // paper: 1e-6
  double critic_lr = 1e-5;       // paper: 1e-5 (value head)
  double weight_decay = 0.0;     // AdamW decoupled decay
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  int32_t warmup_steps = 0;      // linear warm-up from 0
  double min_lr_ratio = 0.1;     // cosine decays to this fraction of the peak lr at total_steps
  double grad_clip = 1.0;        // global grad-norm clip; 0 = off
  // Parameters whose HF name matches this ECMAScript regex are not updated (nor counted in the
  // grad norm) for the first `freeze_steps` steps (0 = the whole run); "" = none. E.g. keep the
  // analytic copy circuit of model.init.copy_circuit: "model\\.layers\\.[01]\\.self_attn\\..*".
  std::string freeze = "";
  int32_t freeze_steps = 0;
};

// Learner-process settings.
struct LearnerOptions {
  // Rank r binds its trajectory ROUTER at bind_endpoint with the port + r ("tcp://*:0" = an
  // ephemeral port per rank); rank 0 binds the weights PUB at publish_endpoint. Endpoints go
  // to <run.dir>/rendezvous.json with the host replaced by advertise_host.
  // Plain sockets (no security.keys_dir) may bind only loopback unless security.insecure.
  std::string bind_endpoint = "tcp://127.0.0.1:0";     // ZeroMQ ROUTER (trajectories, acks); tcp://*:0 = every interface
  std::string publish_endpoint = "tcp://127.0.0.1:0";  // ZeroMQ PUB (weights), rank 0
  std::string advertise_host = "";                // host actors connect to; "" = 127.0.0.1 for a loopback bind, else this node's hostname
  LearnerMode mode = LearnerMode::kSync;          // sync: train only on the current version's data | async: within ppo.max_policy_lag
  std::string offline_store = "";                 // train from this trajectory store (dir or run dir) instead of live actors
  int32_t offline_epochs = 1;                     // passes over offline_store (then training stops)
  std::string heldout_store = "";                 // trajectory store never trained on: its NLL is logged as heldout/nll
  int32_t heldout_every = 10;                     // steps between held-out evaluations (and at the last step)
  int32_t heldout_max = 256;                      // held-out trajectories used (over all ranks)
  int64_t weight_chunk_bytes = 1 << 20;           // weight broadcast chunk size
  int64_t max_message_bytes = 64 << 20;           // a bigger trajectory message is refused (ZMQ_MAXMSGSIZE too)
  int64_t max_trajectory_tokens = 1 << 20;        // a longer trajectory is refused
  int32_t max_segments = 4096;                    // a trajectory with more segments is refused
  int32_t max_rejections_per_actor = 64;          // an actor with this many refused messages is banned (0 = never)
  int32_t store_shard_records = 256;              // trajectory store: records per sealed HDF5 shard
  bool store_fsync = true;                        // fsync every append before the ack (the ack promise)
  double data_timeout_s = 600.0;                  // a step waiting this long for data fails (no actors?)
  int32_t max_backlog = 0;                        // untrained trajectories per rank before actors are told to pause; 0 = 2 x the rank's batch
  CommBackend backend = CommBackend::kMpi;        // "mpi" (CPU; one local rank outside mpirun) or "nccl" (CUDA builds)
  int32_t total_steps = 500;                      // paper: 500
  int32_t global_batch = 128;                     // trajectories per optimizer step (paper: 128 tasks)
  int64_t micro_batch_tokens = 16384;             // padded tokens per forward (B x T budget)
  int32_t checkpoint_every = 10;                  // steps between HDF5 checkpoints; 0 = only at the end
  int32_t keep_checkpoints = 3;                   // last K kept
  PpoOptions ppo;
  OptimOptions optim;
};

// CURVE security of the fleet sockets (common/transport/curve.h; keys from `mem1 keys gen`).
struct SecurityOptions {
  std::string keys_dir = "";        // "" = plain sockets: loopback only, unless insecure
  std::string actor_key = "actor";  // an actor's key pair: <keys_dir>/<actor_key>.key
  bool insecure = false;            // allow plain sockets on a non-loopback address (--insecure)
};

struct Mem1Config {
  RunOptions run;
  SecurityOptions security;
  RuntimeOptions runtime;
  ModelOptions model;
  TokenizerOptions tokenizer;
  ActorOptions actor;
  LearnerOptions learner;
  EnvOptions env;
};

// Parses YAML text (source names it in messages) and applies overrides of the form
// "key.path=value" (value parsed as a YAML scalar or flow node) on top.
// Returns INVALID_ARGUMENT naming source, key path and value for any unknown key, type
// mismatch, out-of-range value or malformed override.
[[nodiscard]] Result<Mem1Config> ParseConfig(const std::string& yaml_text, const std::string& source,
                                             const std::vector<std::string>& overrides);

// Reads `path` (NOT_FOUND if unreadable) then behaves like ParseConfig. An empty path means
// "defaults only" (overrides still apply).
[[nodiscard]] Result<Mem1Config> LoadConfig(const std::string& path,
                                            const std::vector<std::string>& overrides);

// Renders the fully resolved config (every field, defaults included) as YAML that
// ParseConfig accepts and that reproduces `config` exactly.
std::string ConfigToYaml(const Mem1Config& config);

// Creates `config.run.dir` (and parents) and writes ConfigToYaml there as `config.yaml`.
[[nodiscard]] Status WriteResolvedConfig(const Mem1Config& config);

}  // namespace mem1

#endif  // MEM1_COMMON_CONFIG_CONFIG_H_
