#!/usr/bin/env python3
"""The plain-PyTorch peer of `mem1 bench model --peer` (issue #14's baseline).

A straightforward Qwen2 decoder written with torch.nn ops, the way a researcher would write it
in a notebook: RMSNorm, RoPE, grouped-query attention (keys/values repeated per head), SwiGLU,
tied or untied LM head, and a KV cache grown with torch.cat each decode step. It reads the HF
checkpoint the C++ bench wrote (config.json + model.safetensors, fp32; the safetensors reader
below is the format's documented layout: an 8-byte little-endian header length, a JSON header,
raw tensor bytes) and the prompt ids, runs the same prefill + greedy decode loop as the C++
bench with the same thread count, and prints one JSON line: prefill and decode timings, the
greedy ids of every row, and the first decode step's logits summary so the caller can check
both implementations compute the same thing.

Usage: peer_qwen2.py CHECKPOINT_DIR PROMPT_IDS_FILE DECODE_STEPS THREADS      (bench model --peer)
       peer_qwen2.py train CHECKPOINT_DIR BATCH_DIR STEPS THREADS            (bench learner --peer)
PROMPT_IDS_FILE: one row per line, space-separated token ids (all rows the same length).
BATCH_DIR: index.json ([{"file", "T"}]) and per sequence int64 tokens[T], int64 positions[T],
uint8 loss_mask[T], uint8 visible[T*T] (row-major), little-endian, back to back.
"""
import json
import math
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32}


def load_safetensors(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] == "BF16":
            lo, hi = info["data_offsets"]
            raw = np.frombuffer(data[lo:hi], dtype=np.uint16).astype(np.uint32) << 16
            arr = raw.view(np.float32).reshape(info["shape"])
        else:
            lo, hi = info["data_offsets"]
            arr = np.frombuffer(data[lo:hi], dtype=DTYPES[info["dtype"]]).reshape(info["shape"])
        out[name] = torch.from_numpy(arr.astype(np.float32, copy=True))
    return out


class Qwen2:
    def __init__(self, cfg, w):
        self.cfg = cfg
        self.w = w
        self.d = cfg["hidden_size"]
        self.h = cfg["num_attention_heads"]
        self.kvh = cfg["num_key_value_heads"]
        self.hd = self.d // self.h
        self.eps = cfg.get("rms_norm_eps", 1e-6)
        self.L = cfg["num_hidden_layers"]
        inv = 1.0 / (cfg.get("rope_theta", 10000.0) ** (torch.arange(0, self.hd, 2, dtype=torch.float32) / self.hd))
        self.inv_freq = inv
        self.lm_head = w["lm_head.weight"] if "lm_head.weight" in w else w["model.embed_tokens.weight"]

    def rms(self, x, weight):
        var = x.pow(2).mean(-1, keepdim=True)
        return x * torch.rsqrt(var + self.eps) * weight

    def rope(self, x, pos):  # x [B, H, T, hd], pos [B, T]
        freqs = pos.to(torch.float32).unsqueeze(-1) * self.inv_freq  # [B, T, hd/2]
        emb = torch.cat([freqs, freqs], dim=-1).unsqueeze(1)  # [B, 1, T, hd]
        cos, sin = emb.cos(), emb.sin()
        x1, x2 = x[..., : self.hd // 2], x[..., self.hd // 2:]
        rot = torch.cat([-x2, x1], dim=-1)
        return x * cos + rot * sin

    def forward(self, ids, pos, cache):
        """ids, pos [B, T]; cache: list of (k, v) per layer or None; returns logits of the last position."""
        h, new_cache = self.hidden(ids, pos, cache, None, last_only=True)
        return F.linear(h[:, 0, :], self.lm_head), new_cache

    def hidden(self, ids, pos, cache, mask, last_only=False):
        """Final-norm hidden states [B, T, D] (or of the last position); mask: [T, S] bool (True =
        visible) or None for causal."""
        w = self.w
        x = F.embedding(ids, w["model.embed_tokens.weight"])
        B, T, _ = x.shape
        new_cache = []
        for i in range(self.L):
            p = f"model.layers.{i}."
            h = self.rms(x, w[p + "input_layernorm.weight"])
            q = F.linear(h, w[p + "self_attn.q_proj.weight"], w.get(p + "self_attn.q_proj.bias"))
            k = F.linear(h, w[p + "self_attn.k_proj.weight"], w.get(p + "self_attn.k_proj.bias"))
            v = F.linear(h, w[p + "self_attn.v_proj.weight"], w.get(p + "self_attn.v_proj.bias"))
            q = q.view(B, T, self.h, self.hd).transpose(1, 2)
            k = k.view(B, T, self.kvh, self.hd).transpose(1, 2)
            v = v.view(B, T, self.kvh, self.hd).transpose(1, 2)
            q, k = self.rope(q, pos), self.rope(k, pos)
            if cache is not None:
                k = torch.cat([cache[i][0], k], dim=2)
                v = torch.cat([cache[i][1], v], dim=2)
            new_cache.append((k, v))
            rep = self.h // self.kvh
            kk = k.repeat_interleave(rep, dim=1)
            vv = v.repeat_interleave(rep, dim=1)
            S = kk.shape[2]
            att = torch.matmul(q, kk.transpose(-1, -2)) / math.sqrt(self.hd)
            if mask is not None:
                att = att.masked_fill(~mask, float("-inf"))
            elif T > 1:
                att = att + torch.full((T, S), float("-inf")).triu(S - T + 1)
            att = att.softmax(-1)
            o = torch.matmul(att, vv).transpose(1, 2).reshape(B, T, self.d)
            x = x + F.linear(o, w[p + "self_attn.o_proj.weight"])
            h = self.rms(x, w[p + "post_attention_layernorm.weight"])
            g = F.linear(h, w[p + "mlp.gate_proj.weight"])
            u = F.linear(h, w[p + "mlp.up_proj.weight"])
            x = x + F.linear(F.silu(g) * u, w[p + "mlp.down_proj.weight"])
        if last_only:
            x = x[:, -1:, :]
        return self.rms(x, w["model.norm.weight"]), new_cache


def train(ckpt, batch_dir, steps, threads):
    """The learner peer: forward + backward + AdamW over the stitched sequences the C++ bench
    wrote (tokens, generation-time positions, loss mask, dense [T, T] visibility mask), one
    sequence at a time, objective sum(log p of loss tokens) + sum(value^2) at the predicting
    rows (row i - 1 predicts loss token i), exactly mem1's `bench learner` objective."""
    torch.set_num_threads(threads)
    cfg = json.load(open(ckpt + "/config.json"))
    w = load_safetensors(ckpt + "/model.safetensors")
    w.update(load_safetensors(ckpt + "/value_head.safetensors"))
    for t in w.values():
        t.requires_grad_(True)
    model = Qwen2(cfg, w)
    opt = torch.optim.AdamW(list(w.values()), lr=1e-5, weight_decay=0.0)
    seqs = []
    for item in json.load(open(batch_dir + "/index.json")):
        T = item["T"]
        raw = open(batch_dir + "/" + item["file"], "rb").read()
        tokens = torch.from_numpy(np.frombuffer(raw, dtype=np.int64, count=T, offset=0).copy())
        pos = torch.from_numpy(np.frombuffer(raw, dtype=np.int64, count=T, offset=8 * T).copy())
        loss = np.frombuffer(raw, dtype=np.uint8, count=T, offset=16 * T)
        mask = torch.from_numpy(np.frombuffer(raw, dtype=np.uint8, count=T * T, offset=17 * T).reshape(T, T) != 0)
        idx = torch.from_numpy(np.nonzero(loss)[0].astype(np.int64))
        seqs.append((tokens.view(1, T), pos.view(1, T), mask, idx))
    tokens_per_step = sum(s[0].shape[1] for s in seqs)
    times, losses = [], []
    for step in range(steps + 1):  # step 0: warm-up, not timed
        t0 = time.perf_counter()
        total = 0.0
        for ids, pos, mask, idx in seqs:
            h, _ = model.hidden(ids, pos, None, mask)
            rows = h[0, idx - 1]
            logp = F.log_softmax(F.linear(rows, model.lm_head), dim=-1).gather(1, ids[0, idx].view(-1, 1)).squeeze(1)
            values = F.linear(rows, w["value_head.weight"], w.get("value_head.bias")).squeeze(-1)
            loss = logp.sum() + values.pow(2).sum()
            loss.backward()
            total += loss.item()
        opt.step()
        opt.zero_grad(set_to_none=True)
        if step > 0:
            times.append(time.perf_counter() - t0)
        losses.append(total)
    mean = sum(times) / len(times)
    print(json.dumps({
        "threads": torch.get_num_threads(), "torch": torch.__version__,
        "sequences": len(seqs), "tokens_per_step": tokens_per_step, "steps": steps,
        "step_s": mean, "tokens_per_s": tokens_per_step / mean, "first_loss": losses[0],
    }))


def main():
    if sys.argv[1] == "train":
        train(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
        return
    ckpt, prompt_file, steps, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    torch.set_num_threads(threads)
    cfg = json.load(open(ckpt + "/config.json"))
    model = Qwen2(cfg, load_safetensors(ckpt + "/model.safetensors"))
    rows = [[int(t) for t in line.split()] for line in open(prompt_file) if line.strip()]
    ids = torch.tensor(rows, dtype=torch.long)
    B, T = ids.shape
    pos = torch.arange(T).unsqueeze(0).expand(B, T)
    with torch.no_grad():
        t0 = time.perf_counter()
        logits, cache = model.forward(ids, pos, None)
        prefill_s = time.perf_counter() - t0
        nxt = logits.argmax(-1)
        first_logits = logits
        out = [nxt]
        # One warm-up decode step outside the timing, as the C++ bench does.
        logits, cache = model.forward(nxt.view(B, 1), torch.full((B, 1), T), cache)
        nxt = logits.argmax(-1)
        out.append(nxt)
        t1 = time.perf_counter()
        for s in range(1, steps):
            logits, cache = model.forward(nxt.view(B, 1), torch.full((B, 1), T + s), cache)
            nxt = logits.argmax(-1)
            out.append(nxt)
        decode_s = time.perf_counter() - t1
    ids_out = torch.stack(out, dim=1).tolist()
    top2 = first_logits.topk(2, dim=-1).values
    print(json.dumps({
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "batch": B, "prompt": T, "decode_steps": steps,
        "prefill_s": prefill_s, "decode_s": decode_s,
        "prefill_tokens_per_s": B * T / prefill_s,
        "decode_tokens_per_s": B * (steps - 1) / decode_s if steps > 1 else 0.0,
        "greedy_ids": ids_out,
        "first_logits_top2_gap": (top2[:, 0] - top2[:, 1]).tolist(),
        "first_logits_row0_head": first_logits[0, :8].tolist(),
    }))


if __name__ == "__main__":
    main()
