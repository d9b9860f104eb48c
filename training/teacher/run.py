"""The teacher run, on an accelerator: all-mpnet-base-v2 fine-tuned in 4 folds, its logits out.

Standalone (torch, transformers, scikit-learn; no claimtag), for the device machine, whose
Python has these. Reads ``.gpu/data`` (training.teacher.export), ``.gpu/mp*`` (the int8 chunks
of training.teacher.pack) and ``.gpu/cfg/{mpnet,minilm}`` (config and tokenizer files).
1. Teacher: the labelled training sentences are cut into 4 folds by document; a teacher per
   fold (3 epochs, learning rate 3e-5, batch 32, bf16) predicts the fold it did not see
   (out-of-fold logits, so soft targets are not memorised labels) and, averaged over the four,
   the dev sets and the unlabelled sentences.
2. Students: MiniLM first stages (4 epochs, 8e-5), with and without the teacher, two seeds each,
   scored on the real dev split and pool v3 (the selection table of training/README.md).
Writes ``$OUT/teacher_logits.jsonl``, ``results.json`` and ``log.txt``. SMALL=1: a CPU smoke
test on 300 sentences. On one H200 the whole run took 441 s.
"""
import hashlib
import json
import os
import random
import shutil
import time
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from sklearn.metrics import accuracy_score, f1_score
from transformers import (
    AutoModelForSequenceClassification,
    AutoTokenizer,
    get_linear_schedule_with_warmup,
)

G = Path(".gpu")
OUT = Path(os.environ.get("OUT") or "/tmp/gpu_out")
OUT.mkdir(parents=True, exist_ok=True)
SMALL = bool(os.environ.get("SMALL"))
LABELS = ["forecast", "denial", "claim", "fact", "other"]
L2I = {n: i for i, n in enumerate(LABELS)}
DEV = torch.device("cuda" if torch.cuda.is_available() else "cpu")
T0 = time.time()


def log(*a):
    s = f"[{time.time() - T0:7.1f}s] " + " ".join(str(x) for x in a)
    print(s, flush=True)
    with (OUT / "log.txt").open("a") as fh:
        fh.write(s + "\n")


def read(name):
    rows = [json.loads(x) for x in (G / "data" / name).open()]
    return rows[:300] if SMALL else rows


def unpack(prefix):
    sd = {}
    for f in sorted(G.glob(f"{prefix}*/{prefix}.part*.safetensors")):
        sd.update(load_file(str(f)))
    out = {}
    for k, v in sd.items():
        if k.endswith(".__q"):
            base = k[:-4]
            out[base] = v.float() * sd[base + ".__s"]
        elif not k.endswith(".__s"):
            out[k] = v
    return out


def model_dir(prefix, cfg):
    d = Path("/tmp") / f"base_{prefix}"
    d.mkdir(exist_ok=True)
    for f in (G / "cfg" / cfg).iterdir():
        shutil.copy(f, d / f.name)
    save_file(unpack(prefix), str(d / "model.safetensors"))
    return d


def encode(tok, rows, max_length=128):
    return tok([r["text"] for r in rows], truncation=True, max_length=max_length)["input_ids"]


def batches(n_lens, size, rng):
    order = list(range(len(n_lens)))
    rng.shuffle(order)
    out = []
    for b in range(0, len(order), size * 50):
        part = sorted(order[b:b + size * 50], key=lambda i: n_lens[i])
        out += [part[i:i + size] for i in range(0, len(part), size)]
    rng.shuffle(out)
    return out


def pad(ids_list, pad_id):
    w = max(len(x) for x in ids_list)
    ids = torch.full((len(ids_list), w), pad_id, dtype=torch.long)
    mask = torch.zeros((len(ids_list), w), dtype=torch.long)
    for r, x in enumerate(ids_list):
        ids[r, :len(x)] = torch.tensor(x)
        mask[r, :len(x)] = 1
    return ids.to(DEV), mask.to(DEV)


@torch.no_grad()
def predict(model, ids, pad_id):
    model.eval()
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    out = np.zeros((len(ids), len(LABELS)), dtype=np.float32)
    for b in range(0, len(order), 256):
        idx = order[b:b + 256]
        x, m = pad([ids[i] for i in idx], pad_id)
        with torch.autocast(DEV.type, dtype=torch.bfloat16, enabled=DEV.type == "cuda"):
            lg = model(input_ids=x, attention_mask=m).logits
        out[idx] = lg.float().cpu().numpy()
    return out


def scores(logits, gold):
    p = logits.argmax(1)
    return round(float(f1_score(gold, p, average="macro", labels=range(5))), 4), \
        round(float(accuracy_score(gold, p)), 4)


def fit(base, ids, gold, soft, evals, pad_id, *, epochs, lr, bs, seed, alpha=0.0, temp=2.0,
        select="dev_all"):
    """gold: label id or -1 (unlabelled); soft: teacher logits or None per row (array NxC with
    NaN rows for none). Returns (model with the best epoch's weights, history)."""
    torch.manual_seed(seed)
    rng = random.Random(seed)
    model = AutoModelForSequenceClassification.from_pretrained(
        base, num_labels=5, id2label=dict(enumerate(LABELS)), label2id=L2I,
        ignore_mismatched_sizes=True, dtype=torch.float32).to(DEV)
    steps = epochs * -(-len(ids) // bs)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    sch = get_linear_schedule_with_warmup(opt, int(0.1 * steps), steps)
    gold_t = torch.tensor(gold)
    has_soft = None if soft is None else ~np.isnan(soft[:, 0])
    soft_t = None if soft is None else torch.tensor(np.nan_to_num(soft), dtype=torch.float32)
    lens = [len(x) for x in ids]
    hist, best, best_state = [], -1.0, None
    for ep in range(epochs):
        model.train()
        for b in batches(lens, bs, rng):
            x, m = pad([ids[i] for i in b], pad_id)
            g = gold_t[b].to(DEV)
            with torch.autocast(DEV.type, dtype=torch.bfloat16, enabled=DEV.type == "cuda"):
                lg = model(input_ids=x, attention_mask=m).logits.float()
            lab = g >= 0
            ce = torch.nn.functional.cross_entropy(lg, g.clamp_min(0), reduction="none")
            if soft is None:
                loss = (ce * lab).sum() / lab.sum().clamp_min(1)
            else:
                hs = torch.tensor(has_soft[b], device=DEV)
                t = soft_t[b].to(DEV)
                kl = torch.nn.functional.kl_div(torch.log_softmax(lg / temp, -1),
                                                torch.log_softmax(t / temp, -1), log_target=True,
                                                reduction="none").sum(-1) * temp * temp
                w_ce = lab.float() * torch.where(hs, 1 - alpha, 1.0)
                w_kd = hs.float() * torch.where(lab, alpha, 1.0)
                loss = (w_ce * ce + w_kd * kl).sum() / len(b)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sch.step()
        rec = {"epoch": ep + 1}
        for name, (eids, egold) in evals.items():
            rec[name] = scores(predict(model, eids, pad_id), egold)
        hist.append(rec)
        log("  ", rec)
        if select and rec[select][0] > best:
            best = rec[select][0]
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    if best_state is not None:
        model.load_state_dict(best_state)
    return model, hist


def main():
    log("device", DEV, torch.__version__, torch.cuda.get_device_name() if DEV.type == "cuda" else "")
    train = read("train.jsonl")
    sets = {n: read(f"{n}.jsonl") for n in ("dev_syn", "dev_real", "pool3")}
    unlab = read("unlab.jsonl")
    gold = np.array([L2I[r["label"]] for r in train])
    results = {"sizes": {"train": len(train), "unlab": len(unlab), **{k: len(v) for k, v in sets.items()}}}

    # --- teacher: 4 folds by document group ---
    mp = model_dir("mp", "mpnet")
    tok = AutoTokenizer.from_pretrained(mp)
    t_ids = encode(tok, train)
    t_sets = {k: encode(tok, v) for k, v in sets.items()}
    t_unlab = encode(tok, unlab)
    fold = np.array([int(hashlib.md5(r["group"].encode()).hexdigest(), 16) % 4 for r in train])
    oof = np.full((len(train), 5), np.nan, dtype=np.float32)
    acc = {k: np.zeros((len(v), 5), np.float32) for k, v in sets.items()}
    acc_u = np.zeros((len(unlab), 5), np.float32)
    gold_sets = {k: np.array([L2I[r["label"]] for r in v]) for k, v in sets.items()}
    t_epochs = 1 if SMALL else 3
    nf = 2 if SMALL else 4
    for f in range(nf):
        tr = np.where(fold != f)[0]
        ho = np.where(fold == f)[0]
        log(f"teacher fold {f}: train {len(tr)} held {len(ho)}")
        evals = {"dev_real": (t_sets["dev_real"], gold_sets["dev_real"])}
        m, hist = fit(mp, [t_ids[i] for i in tr], gold[tr], None, evals, tok.pad_token_id,
                      epochs=t_epochs, lr=3e-5, bs=32, seed=100 + f, select=None)
        oof[ho] = predict(m, [t_ids[i] for i in ho], tok.pad_token_id)
        for k in sets:
            acc[k] += predict(m, t_sets[k], tok.pad_token_id) / nf
        acc_u += predict(m, t_unlab, tok.pad_token_id) / nf
        results[f"teacher_fold{f}"] = hist
        del m
        torch.cuda.empty_cache() if DEV.type == "cuda" else None
    ok = ~np.isnan(oof[:, 0])
    results["teacher_oof"] = scores(oof[ok], gold[ok])
    for k in sets:
        results[f"teacher_ens_{k}"] = scores(acc[k], gold_sets[k])
    log("teacher", {k: v for k, v in results.items() if k.startswith("teacher_") and "fold" not in k})
    with (OUT / "teacher_logits.jsonl").open("w") as fh:
        for name, rows, logits in [("train", train, oof), *((k, sets[k], acc[k]) for k in sets),
                                   ("unlab", unlab, acc_u)]:
            for r, lg in zip(rows, logits):
                fh.write(json.dumps({"key": r["key"], "set": name,
                                     "logits": [round(float(x), 3) for x in lg]}) + "\n")
    (OUT / "results.json").write_text(json.dumps(results, indent=1))

    # --- students ---
    ml = model_dir("ml", "minilm")
    stok = AutoTokenizer.from_pretrained(ml)
    s_ids = encode(stok, train)
    s_u = encode(stok, unlab)
    s_evals = {k: (encode(stok, v), gold_sets[k]) for k, v in sets.items()}
    all_ids = s_evals["dev_syn"][0] + s_evals["dev_real"][0]
    s_evals["dev_all"] = (all_ids, np.concatenate([gold_sets["dev_syn"], gold_sets["dev_real"]]))
    soft_lab = np.where(ok[:, None], oof, np.nan)
    variants = {
        "S0_ce": (s_ids, gold, None, 0.0),
        "S1_kd": (s_ids, gold, soft_lab, 0.5),
        "S2_kd_unlab": (s_ids + s_u, np.concatenate([gold, -np.ones(len(s_u), int)]),
                        np.concatenate([soft_lab, acc_u]), 0.5),
    }
    s_epochs = 1 if SMALL else 4
    for name, (ids, g, soft, alpha) in variants.items():
        for seed in ((13,) if SMALL else (13, 7)):
            log(f"student {name} seed {seed}")
            _, hist = fit(ml, ids, g, soft, s_evals, stok.pad_token_id, epochs=s_epochs,
                          lr=8e-5, bs=32, seed=seed, alpha=alpha)
            results[f"{name}_s{seed}"] = hist
            (OUT / "results.json").write_text(json.dumps(results, indent=1))
    log("done")


if __name__ == "__main__":
    main()
