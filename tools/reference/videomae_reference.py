"""Golden values from PyTorch for the model tests (test/models/reference.test.ts).

Run once with Debian's PyTorch (1.13):  /usr/bin/python3 tools/reference/videomae_reference.py
Writes test/fixtures/models/reference.bin (float32, little-endian) and reference.json (manifest:
name -> element offset and shape, the model configs, masks and scalars). The tests never need
Python.

The modules below are a plain PyTorch transcription of the official VideoMAE V2 code
(models/modeling_finetune.py, models/modeling_pretrain.py, engine_for_pretraining.py) as the
spec (§1-§3, §6) describes it: fused qkv without bias + q_bias/v_bias, pre-norm blocks, Conv3d
patch embedding, the numpy float64 sinusoid table, mean pooling + fc_norm, boolean-mask
gathers and the [visible ; mask tokens] decoder, and the per-patch per-channel normalised target.
Weights are random (not the official init) so every parameter matters to the outputs.
"""
import json
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(2)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../test/fixtures/models")

IMAGENET_DEFAULT_MEAN = (0.485, 0.456, 0.406)
IMAGENET_DEFAULT_STD = (0.229, 0.224, 0.225)


# ------------------------------------------------------------------------------------------------
# Modules (official structure and attribute names)


def get_sinusoid_encoding_table(n_position, d_hid):
    def get_position_angle_vec(position):
        return [position / np.power(10000, 2 * (hid_j // 2) / d_hid) for hid_j in range(d_hid)]

    table = np.array([get_position_angle_vec(pos_i) for pos_i in range(n_position)])
    table[:, 0::2] = np.sin(table[:, 0::2])
    table[:, 1::2] = np.cos(table[:, 1::2])
    return torch.FloatTensor(table).unsqueeze(0)


class Mlp(nn.Module):
    def __init__(self, in_features, hidden_features, drop=0.0):
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden_features)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden_features, in_features)
        self.drop = nn.Dropout(drop)

    def forward(self, x):
        return self.drop(self.fc2(self.act(self.fc1(x))))


class Attention(nn.Module):
    def __init__(self, dim, num_heads, qkv_bias=True):
        super().__init__()
        self.num_heads = num_heads
        head_dim = dim // num_heads
        all_head_dim = head_dim * num_heads
        self.scale = head_dim**-0.5
        self.qkv = nn.Linear(dim, all_head_dim * 3, bias=False)
        if qkv_bias:
            self.q_bias = nn.Parameter(torch.zeros(all_head_dim))
            self.v_bias = nn.Parameter(torch.zeros(all_head_dim))
        else:
            self.q_bias = None
            self.v_bias = None
        self.attn_drop = nn.Dropout(0.0)
        self.proj = nn.Linear(all_head_dim, dim)
        self.proj_drop = nn.Dropout(0.0)

    def forward(self, x):
        B, N, C = x.shape
        qkv_bias = None
        if self.q_bias is not None:
            qkv_bias = torch.cat((self.q_bias, torch.zeros_like(self.v_bias, requires_grad=False), self.v_bias))
        qkv = F.linear(input=x, weight=self.qkv.weight, bias=qkv_bias)
        qkv = qkv.reshape(B, N, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        q = q * self.scale
        attn = q @ k.transpose(-2, -1)
        attn = self.attn_drop(attn.softmax(dim=-1))
        x = (attn @ v).transpose(1, 2).reshape(B, N, -1)
        return self.proj_drop(self.proj(x))


class CosAttention(nn.Module):
    def __init__(self, dim, num_heads, qkv_bias=True):
        super().__init__()
        self.num_heads = num_heads
        all_head_dim = (dim // num_heads) * num_heads
        self.scale = nn.Parameter(torch.log(10 * torch.ones((num_heads, 1, 1))), requires_grad=True)
        self.qkv = nn.Linear(dim, all_head_dim * 3, bias=False)
        if qkv_bias:
            self.q_bias = nn.Parameter(torch.zeros(all_head_dim))
            self.v_bias = nn.Parameter(torch.zeros(all_head_dim))
        else:
            self.q_bias = None
            self.v_bias = None
        self.attn_drop = nn.Dropout(0.0)
        self.proj = nn.Linear(all_head_dim, dim)
        self.proj_drop = nn.Dropout(0.0)

    def forward(self, x):
        B, N, C = x.shape
        qkv_bias = None
        if self.q_bias is not None:
            qkv_bias = torch.cat((self.q_bias, torch.zeros_like(self.v_bias, requires_grad=False), self.v_bias))
        qkv = F.linear(input=x, weight=self.qkv.weight, bias=qkv_bias)
        qkv = qkv.reshape(B, N, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = F.normalize(q, dim=-1) @ F.normalize(k, dim=-1).transpose(-2, -1)
        logit_scale = torch.clamp(self.scale, max=4.6052).exp()
        attn = attn * logit_scale
        attn = self.attn_drop(attn.softmax(dim=-1))
        x = (attn @ v).transpose(1, 2).reshape(B, N, -1)
        return self.proj_drop(self.proj(x))


class Block(nn.Module):
    def __init__(self, dim, num_heads, mlp_ratio=4.0, qkv_bias=True, init_values=0.0, cos_attn=False):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = (CosAttention if cos_attn else Attention)(dim, num_heads, qkv_bias)
        self.drop_path = nn.Identity()  # drop_path_rate 0 in every reference config
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))
        if init_values > 0:
            self.gamma_1 = nn.Parameter(init_values * torch.ones((dim)), requires_grad=True)
            self.gamma_2 = nn.Parameter(init_values * torch.ones((dim)), requires_grad=True)
        else:
            self.gamma_1, self.gamma_2 = None, None

    def forward(self, x):
        if self.gamma_1 is None:
            x = x + self.drop_path(self.attn(self.norm1(x)))
            x = x + self.drop_path(self.mlp(self.norm2(x)))
        else:
            x = x + self.drop_path(self.gamma_1 * self.attn(self.norm1(x)))
            x = x + self.drop_path(self.gamma_2 * self.mlp(self.norm2(x)))
        return x


class PatchEmbed(nn.Module):
    def __init__(self, img_size, patch_size, in_chans, embed_dim, num_frames, tubelet_size):
        super().__init__()
        self.img_size = img_size
        self.num_patches = (img_size // patch_size) ** 2 * (num_frames // tubelet_size)
        self.proj = nn.Conv3d(in_chans, embed_dim, kernel_size=(tubelet_size, patch_size, patch_size), stride=(tubelet_size, patch_size, patch_size))

    def forward(self, x):
        B, C, T, H, W = x.shape
        assert H == self.img_size and W == self.img_size
        return self.proj(x).flatten(2).transpose(1, 2)


class VisionTransformer(nn.Module):
    def __init__(self, c):
        super().__init__()
        D = c["embedDim"]
        self.patch_embed = PatchEmbed(c["imgSize"], c["patchSize"], 3, D, c["numFrames"], c["tubeletSize"])
        n = self.patch_embed.num_patches
        if c.get("useLearnablePosEmb", False):
            self.pos_embed = nn.Parameter(torch.zeros(1, n, D))
        else:
            self.pos_embed = get_sinusoid_encoding_table(n, D)
        self.pos_drop = nn.Dropout(0.0)
        self.blocks = nn.ModuleList(
            [Block(D, c["numHeads"], c["mlpRatio"], True, c.get("initValues", 0.0), c.get("cosAttn", False)) for _ in range(c["depth"])]
        )
        mean_pool = c.get("useMeanPooling", True)
        self.norm = nn.Identity() if mean_pool else nn.LayerNorm(D, eps=1e-6)
        self.fc_norm = nn.LayerNorm(D, eps=1e-6) if mean_pool else None
        self.head_dropout = nn.Dropout(0.0)
        self.head = nn.Linear(D, c["numClasses"]) if c["numClasses"] > 0 else nn.Identity()

    def forward_features(self, x):
        B = x.size(0)
        x = self.patch_embed(x)
        x = x + self.pos_embed.expand(B, -1, -1).type_as(x).to(x.device).clone().detach()
        x = self.pos_drop(x)
        for blk in self.blocks:
            x = blk(x)
        x = self.norm(x)
        if self.fc_norm is not None:
            return self.fc_norm(x.mean(1))
        return x[:, 0]

    def forward(self, x):
        return self.head(self.head_dropout(self.forward_features(x)))


class PretrainVisionTransformerEncoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        D = c["embedDim"]
        self.patch_embed = PatchEmbed(c["imgSize"], c["patchSize"], 3, D, c["numFrames"], c["tubeletSize"])
        self.pos_embed = get_sinusoid_encoding_table(self.patch_embed.num_patches, D)
        self.blocks = nn.ModuleList([Block(D, c["numHeads"], c["mlpRatio"]) for _ in range(c["depth"])])
        self.norm = nn.LayerNorm(D, eps=1e-6)
        self.head = nn.Identity()

    def forward(self, x, mask):
        x = self.patch_embed(x)
        x = x + self.pos_embed.type_as(x).to(x.device).clone().detach()
        B, _, C = x.shape
        x_vis = x[~mask].reshape(B, -1, C)
        for blk in self.blocks:
            x_vis = blk(x_vis)
        return self.head(self.norm(x_vis))


class PretrainVisionTransformerDecoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        Dd = c["decoderEmbedDim"]
        self.blocks = nn.ModuleList([Block(Dd, c["decoderNumHeads"], c["mlpRatio"]) for _ in range(c["decoderDepth"])])
        self.norm = nn.LayerNorm(Dd, eps=1e-6)
        self.head = nn.Linear(Dd, 3 * c["tubeletSize"] * c["patchSize"] ** 2)

    def forward(self, x, return_token_num):
        for blk in self.blocks:
            x = blk(x)
        if return_token_num > 0:
            return self.head(self.norm(x[:, -return_token_num:]))
        return self.head(self.norm(x))


class PretrainVisionTransformer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.encoder = PretrainVisionTransformerEncoder(c)
        self.decoder = PretrainVisionTransformerDecoder(c)
        self.encoder_to_decoder = nn.Linear(c["embedDim"], c["decoderEmbedDim"], bias=False)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, c["decoderEmbedDim"]))
        self.pos_embed = get_sinusoid_encoding_table(self.encoder.patch_embed.num_patches, c["decoderEmbedDim"])

    def forward(self, x, mask, decode_mask=None):
        decode_vis = mask if decode_mask is None else ~decode_mask
        x_vis = self.encoder(x, mask)
        x_vis = self.encoder_to_decoder(x_vis)
        B, N_vis, C = x_vis.shape
        expand_pos_embed = self.pos_embed.expand(B, -1, -1).type_as(x).to(x.device).clone().detach()
        pos_emd_vis = expand_pos_embed[~mask].reshape(B, -1, C)
        pos_emd_mask = expand_pos_embed[decode_vis].reshape(B, -1, C)
        x_full = torch.cat([x_vis + pos_emd_vis, self.mask_token + pos_emd_mask], dim=1)
        return self.decoder(x_full, pos_emd_mask.shape[1])


# ------------------------------------------------------------------------------------------------
# Target and loss (engine_for_pretraining.py), with the einops rearrange written out as an index map


def rearrange_to_patches(v, tubelet, p):
    """'b c (t p0) (h p1) (w p2) -> b (t h w) (p0 p1 p2) c' by explicit index arithmetic."""
    B, C, T, H, W = v.shape
    t, h, w = T // tubelet, H // p, W // p
    tt, hh, ww, p0, p1, p2 = np.meshgrid(np.arange(t), np.arange(h), np.arange(w), np.arange(tubelet), np.arange(p), np.arange(p), indexing="ij")
    frame = torch.from_numpy((tt * tubelet + p0).reshape(t * h * w, tubelet * p * p))
    row = torch.from_numpy((hh * p + p1).reshape(t * h * w, tubelet * p * p))
    col = torch.from_numpy((ww * p + p2).reshape(t * h * w, tubelet * p * p))
    out = v[:, :, frame, row, col]  # (B, C, N, P)
    return out.permute(0, 2, 3, 1)  # (B, N, P, C)


def pretrain_loss(videos, outputs, bool_masked_pos, decode_masked_pos, c, normlize_target=True):
    with torch.no_grad():
        mean = torch.as_tensor(IMAGENET_DEFAULT_MEAN)[None, :, None, None, None]
        std = torch.as_tensor(IMAGENET_DEFAULT_STD)[None, :, None, None, None]
        unnorm_videos = videos * std + mean
        squeeze = rearrange_to_patches(unnorm_videos, c["tubeletSize"], c["patchSize"])
        if normlize_target:
            norm = (squeeze - squeeze.mean(dim=-2, keepdim=True)) / (squeeze.var(dim=-2, unbiased=True, keepdim=True).sqrt() + 1e-6)
            videos_patch = norm.reshape(norm.shape[0], norm.shape[1], -1)  # 'b n p c -> b n (p c)'
        else:
            videos_patch = squeeze.reshape(squeeze.shape[0], squeeze.shape[1], -1)
        B, N, C = videos_patch.shape
        labels = videos_patch[~decode_masked_pos].reshape(B, -1, C)
    loss = ((outputs - labels) ** 2).mean(dim=-1)
    cal_loss_mask = bool_masked_pos[~decode_masked_pos].reshape(B, -1)
    loss = (loss * cal_loss_mask).sum() / cal_loss_mask.sum()
    return loss, labels, videos_patch


# ------------------------------------------------------------------------------------------------
# Masks (dataset/masking_generator.py), numpy RNG


def tube_mask(rng, window, ratio):
    frames, h, w = window
    per_frame = h * w
    k = int(ratio * per_frame)
    m = np.hstack([np.zeros(per_frame - k), np.ones(k)])
    rng.shuffle(m)
    return np.tile(m, (frames, 1)).flatten()


def running_cell_volumes(window, ratio):
    frames, h, w = window
    num_masks = int(4 * ratio)
    queue = np.hstack([np.ones(num_masks), np.zeros(4 - num_masks)])
    volumes = []
    for start in range(4):
        ptr = start
        maps = []
        for _ in range(frames):
            ptr += 1
            unit = queue[(np.arange(4) + ptr) % 4].reshape(2, 2)
            maps.append(np.tile(unit, [h // 2, w // 2]).flatten())
        volumes.append(np.stack(maps, 0).flatten())
    return volumes


# ------------------------------------------------------------------------------------------------
# Dump helpers

blob = []
offset = 0
manifest = {"format": "float32 little-endian; offsets and sizes in elements", "tensors": {}, "cases": {}}


def put(name, t):
    global offset
    a = t.detach().to(torch.float32).contiguous().numpy().reshape(-1)
    manifest["tensors"][name] = {"offset": offset, "shape": list(t.shape)}
    blob.append(a.astype("<f4"))
    offset += a.size


def randomize(model, gen):
    """Random weights with O(1) activations: weights ~ N(0, 1/fan_in), biases/LN/q,v-bias ~ 0.1 N(0,1)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm1.weight") or name.endswith("norm2.weight") or name.endswith("norm.weight") or name.endswith("fc_norm.weight"):
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=gen))
            elif name.endswith("attn.scale"):
                p.copy_(torch.log(torch.tensor(10.0)) + 0.3 * torch.randn(p.shape, generator=gen))
            elif p.dim() >= 2 and not name.endswith("pos_embed") and not name.endswith("mask_token"):
                fan_in = int(np.prod(p.shape[1:]))
                p.copy_(torch.randn(p.shape, generator=gen) / np.sqrt(fan_in))
            elif name.endswith("gamma_1") or name.endswith("gamma_2"):
                p.copy_(0.5 + 0.2 * torch.randn(p.shape, generator=gen))
            else:
                p.copy_(0.2 * torch.randn(p.shape, generator=gen))


def dump_state_dict(prefix, model):
    for k, v in model.state_dict().items():
        put(f"{prefix}/sd/{k}", v)


def dump_grads(prefix, model, names):
    params = dict(model.named_parameters())
    for n in names:
        put(f"{prefix}/grad/{n}", params[n].grad)


gen = torch.Generator().manual_seed(1234)

# ------------------------------------------------------------------------------------------------
# Case "vit": the standard structure (q/v bias, mean pooling + fc_norm, head), 16×16 px, 4 frames,
# patch 4, tubelet 2 → 2×4×4 = 32 tokens, D 32, depth 2, 4 heads, 5 classes.
vit_cfg = dict(imgSize=16, numFrames=4, tubeletSize=2, patchSize=4, embedDim=32, depth=2, numHeads=4, mlpRatio=4, numClasses=5)
vit = VisionTransformer(vit_cfg)
randomize(vit, gen)
x = torch.randn((2, 3, 4, 16, 16), generator=gen).requires_grad_()
features = vit.forward_features(x)
logits = vit.head(features)
targets = torch.tensor([1, 3])
ce = F.cross_entropy(logits, targets)
ce.backward()
dump_state_dict("vit", vit)
put("vit/input", x)
put("vit/features", features)
put("vit/logits", logits)
put("vit/pos_embed", vit.pos_embed)
put("vit/grad/input", x.grad)
vit_grads = ["patch_embed.proj.weight", "blocks.0.attn.q_bias", "blocks.0.attn.v_bias", "blocks.1.attn.qkv.weight", "blocks.1.mlp.fc1.bias", "fc_norm.weight", "head.weight"]
dump_grads("vit", vit, vit_grads)
manifest["cases"]["vit"] = {"config": vit_cfg, "targets": targets.tolist(), "loss": ce.item(), "grads": vit_grads}

# ------------------------------------------------------------------------------------------------
# Case "variant": the unused options together — CosAttention, layer scale (init_values), learnable
# pos embed, no mean pooling (norm on token 0), the giant's float mlp ratio 48/11, a non-power-of-two
# patch (6) and head dim (11): 12×12 px, 4 frames → 2×2×2 = 8 tokens, D 22, 2 heads, MLP 96.
var_cfg = dict(
    imgSize=12, numFrames=4, tubeletSize=2, patchSize=6, embedDim=22, depth=2, numHeads=2, mlpRatio=48 / 11, numClasses=3,
    cosAttn=True, initValues=0.1, useLearnablePosEmb=True, useMeanPooling=False,
)
var = VisionTransformer(var_cfg)
randomize(var, gen)
with torch.no_grad():
    var.pos_embed.copy_(0.5 * torch.randn(var.pos_embed.shape, generator=gen))
xv = torch.randn((2, 3, 4, 12, 12), generator=gen).requires_grad_()
lv = var(xv)
cev = F.cross_entropy(lv, torch.tensor([2, 0]))
cev.backward()
dump_state_dict("variant", var)
put("variant/input", xv)
put("variant/logits", lv)
put("variant/grad/input", xv.grad)
var_grads = ["blocks.0.attn.scale", "blocks.0.gamma_1", "blocks.1.gamma_2", "norm.weight", "blocks.1.mlp.fc2.weight"]
dump_grads("variant", var, var_grads)
assert var.pos_embed.grad is None  # detached in the official forward
manifest["cases"]["variant"] = {"config": var_cfg, "targets": [2, 0], "loss": cev.item(), "grads": var_grads}

# ------------------------------------------------------------------------------------------------
# Case "pretrain": 16×16 px, 8 frames, patch 4 → grid 4×4×4 = 64 tokens (T' = 4 runs the whole
# running-cell cycle), encoder D 32 depth 2 heads 4, decoder D 16 depth 2 heads 2, out 3·2·4² = 96.
# Tube 0.75 (4 visible per slice → N_vis 16), running cell 0.5 (N_keep 32), batch 2.
pre_cfg = dict(imgSize=16, numFrames=8, tubeletSize=2, patchSize=4, embedDim=32, depth=2, numHeads=4, mlpRatio=4,
               decoderEmbedDim=16, decoderDepth=2, decoderNumHeads=2)
pre = PretrainVisionTransformer(pre_cfg)
randomize(pre, gen)
with torch.no_grad():
    pre.mask_token.copy_(0.5 * torch.randn(pre.mask_token.shape, generator=gen))
window = (4, 4, 4)
rng = np.random.RandomState(7)
enc = np.stack([tube_mask(rng, window, 0.75) for _ in range(2)]).astype(bool)
vols = running_cell_volumes(window, 0.5)
starts = [1, 2]
dec = np.stack([vols[s] for s in starts]).astype(bool)
enc_t, dec_t = torch.from_numpy(enc), torch.from_numpy(dec)

xp = torch.randn((2, 3, 8, 16, 16), generator=gen)
enc_feat = pre.encoder(xp, enc_t)
pred = pre(xp, enc_t, dec_t)
loss, labels, target = pretrain_loss(xp, pred, enc_t, dec_t, pre_cfg)
loss.backward()
dump_state_dict("pretrain", pre)
put("pretrain/input", xp)
put("pretrain/encoder", enc_feat)
put("pretrain/pred", pred)
put("pretrain/labels", labels)
put("pretrain/decoder_pos_embed", pre.pos_embed)
pre_grads = [
    "mask_token", "encoder.patch_embed.proj.weight", "encoder.blocks.0.attn.q_bias", "encoder.blocks.0.attn.v_bias",
    "encoder.blocks.1.attn.qkv.weight", "encoder.norm.weight", "encoder_to_decoder.weight", "decoder.blocks.0.attn.qkv.weight",
    "decoder.blocks.1.mlp.fc1.weight", "decoder.norm.bias", "decoder.head.weight", "decoder.head.bias",
]
dump_grads("pretrain", pre, pre_grads)

with torch.no_grad():
    loss_raw, _, _ = pretrain_loss(xp, pred, enc_t, dec_t, pre_cfg, normlize_target=False)
    # V1: no decoder mask -> the decoder reconstructs exactly the encoder-masked tokens.
    pred_v1 = pre(xp, enc_t, None)
    loss_v1, _, _ = pretrain_loss(xp, pred_v1, enc_t, ~enc_t, pre_cfg)
put("pretrain/pred_v1", pred_v1)

manifest["cases"]["pretrain"] = {
    "config": pre_cfg,
    "window": list(window),
    "encoder_mask": enc.astype(int).reshape(-1).tolist(),
    "decoder_mask": dec.astype(int).reshape(-1).tolist(),
    "running_cell_starts": starts,
    "loss": loss.item(),
    "loss_raw": loss_raw.item(),
    "loss_v1": loss_v1.item(),
    "loss_tokens": int((enc & ~dec).sum()),
    "grads": pre_grads,
}

# Stochastic-depth schedules: [x.item() for x in torch.linspace(0, rate, depth)] (float32 values).
manifest["drop_path_rates"] = [
    {"rate": r, "depth": d, "values": [v.item() for v in torch.linspace(0, r, d)]}
    for r, d in [(0.1, 12), (0.2, 24), (0.3, 32), (0.35, 40), (0.1, 4), (0.0, 4)]
]

# ------------------------------------------------------------------------------------------------
os.makedirs(OUT, exist_ok=True)
np.concatenate(blob).tofile(os.path.join(OUT, "reference.bin"))
with open(os.path.join(OUT, "reference.json"), "w") as f:
    json.dump(manifest, f, indent=1)
print(f"wrote {offset} floats ({offset * 4 / 1e6:.2f} MB) to {OUT}")
for k, c in manifest["cases"].items():
    print(k, "loss", c["loss"])
