"""Hugging Face-layout checkpoints of the tiny reference models, for the fromPretrained tests.

Run once with Debian's PyTorch:  /usr/bin/python3 tools/reference/make_hf_fixtures.py
No `transformers` is installed here (and no network), so the layout is written from the key and
config names of transformers' VideoMAE (models/videomae/modeling_videomae.py and the rename
table of its convert_videomae_to_pytorch.py), applied to the weights of videomae_reference.py
(test/fixtures/models/reference.{bin,json}, official key names). This is a second, independent
spelling of the mapping in src/models/hf_layout.ts: the test loads these folders and must get
the reference's PyTorch logits.

  test/fixtures/hf/classifier/    config.json (VideoMAEForVideoClassification, id2label) +
                                  pytorch_model.bin (torch.save of the bare HF state dict)
  test/fixtures/hf/pretraining/   config.json (VideoMAEForPreTraining, use_mean_pooling false) +
                                  model.safetensors
  test/fixtures/hf/v2_hub/        the Hub's encoder-only VideoMAE V2 layout (remote-code repos):
                                  config.json with official fields under "model_config" +
                                  model.safetensors with "model."-prefixed official keys (no head)

Every tensor is float32 and bit-identical to the reference's.
"""
import json
import os
import struct
from collections import OrderedDict

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "../../test/fixtures")
OUT = os.path.join(FIX, "hf")

from reference_weights import manifest, ref, state_dict  # noqa: E402 (beside this script)


# Inside a block: official name -> transformers name.
BLOCK = [
    ("norm1.", "layernorm_before."),
    ("norm2.", "layernorm_after."),
    ("attn.proj.", "attention.output.dense."),
    ("attn.q_bias", "attention.attention.q_bias"),
    ("attn.v_bias", "attention.attention.v_bias"),
    ("mlp.fc1.", "intermediate.dense."),
    ("mlp.fc2.", "output.dense."),
]


def hf_block(prefix, rest, value, out):
    if rest == "attn.qkv.weight":
        d = value.shape[1]
        for i, part in enumerate(["query", "key", "value"]):
            out[f"{prefix}attention.attention.{part}.weight"] = value[i * d : (i + 1) * d].clone()
        return
    for ours, theirs in BLOCK:
        if rest.startswith(ours):
            out[prefix + theirs + rest[len(ours):]] = value
            return
    raise KeyError(rest)


def to_hf(sd):
    out = OrderedDict()
    for key, value in sd.items():
        k = key[len("encoder."):] if key.startswith("encoder.") else key
        parts = k.split(".")
        if parts[0] == "blocks":
            hf_block(f"videomae.encoder.layer.{parts[1]}.", ".".join(parts[2:]), value, out)
        elif parts[0] == "decoder" and parts[1] == "blocks":
            hf_block(f"decoder.decoder_layers.{parts[2]}.", ".".join(parts[3:]), value, out)
        elif k.startswith("patch_embed.proj."):
            out["videomae.embeddings.patch_embeddings.projection." + k[len("patch_embed.proj."):]] = value
        elif k.startswith("norm."):
            out["videomae.layernorm." + k[len("norm."):]] = value
        elif k.startswith("head."):
            out["classifier." + k[len("head."):]] = value
        else:  # fc_norm.*, encoder_to_decoder.weight, mask_token, decoder.norm.*, decoder.head.*
            out[k] = value
    return out


def hf_config(c, architecture, **extra):
    cfg = {
        "architectures": [architecture],
        "model_type": "videomae",
        "image_size": c["imgSize"],
        "patch_size": c["patchSize"],
        "num_channels": 3,
        "num_frames": c["numFrames"],
        "tubelet_size": c["tubeletSize"],
        "hidden_size": c["embedDim"],
        "num_hidden_layers": c["depth"],
        "num_attention_heads": c["numHeads"],
        "intermediate_size": int(c["embedDim"] * c["mlpRatio"]),
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.0,
        "attention_probs_dropout_prob": 0.0,
        "initializer_range": 0.02,
        # The official models' LayerNorm eps (transformers' default is 1e-12): the same numbers as the reference.
        "layer_norm_eps": 1e-06,
        "qkv_bias": True,
        "use_mean_pooling": True,
        "norm_pix_loss": True,
        "torch_dtype": "float32",
        "transformers_version": "4.46.0",
    }
    cfg.update(extra)
    return cfg


def write_safetensors(path, tensors):
    header, offset, chunks = {"__metadata__": {"format": "pt"}}, 0, []
    for name, t in tensors.items():
        data = t.contiguous().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        chunks.append(data)
    js = json.dumps(header).encode()
    js += b" " * ((8 - len(js) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(js)))
        f.write(js)
        for c in chunks:
            f.write(c)


def save_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def main():
    vit = manifest["cases"]["vit"]["config"]
    pre = manifest["cases"]["pretrain"]["config"]
    labels = ["archery", "bowling", "cycling", "diving", "juggling"][: vit["numClasses"]]

    d = os.path.join(OUT, "classifier")
    os.makedirs(d, exist_ok=True)
    save_json(os.path.join(d, "config.json"), hf_config(vit, "VideoMAEForVideoClassification",
        id2label={str(i): n for i, n in enumerate(labels)}, label2id={n: i for i, n in enumerate(labels)}))
    torch.save(to_hf(state_dict("vit")), os.path.join(d, "pytorch_model.bin"))

    d = os.path.join(OUT, "pretraining")
    os.makedirs(d, exist_ok=True)
    dec_dim = pre["decoderEmbedDim"]
    save_json(os.path.join(d, "config.json"), hf_config(pre, "VideoMAEForPreTraining", use_mean_pooling=False,
        decoder_num_channels=3, decoder_hidden_size=dec_dim, decoder_num_hidden_layers=pre["decoderDepth"],
        decoder_num_attention_heads=pre["decoderNumHeads"], decoder_intermediate_size=int(dec_dim * pre["mlpRatio"])))
    write_safetensors(os.path.join(d, "model.safetensors"), to_hf(state_dict("pretrain")))

    d = os.path.join(OUT, "v2_hub")
    os.makedirs(d, exist_ok=True)
    save_json(os.path.join(d, "config.json"), {
        "architectures": ["VideoMAEv2_Base"],
        "model_type": "VideoMAEv2_Base",
        "model_config": {
            "img_size": vit["imgSize"], "patch_size": vit["patchSize"], "in_chans": 3, "num_classes": 0,
            "embed_dim": vit["embedDim"], "depth": vit["depth"], "num_heads": vit["numHeads"], "mlp_ratio": vit["mlpRatio"],
            "qkv_bias": True, "qk_scale": None, "drop_rate": 0.0, "attn_drop_rate": 0.0, "drop_path_rate": 0.0,
            "norm_layer": "nn.LayerNorm", "layer_norm_eps": 1e-06, "init_values": 0.0, "use_learnable_pos_emb": False,
            "tubelet_size": vit["tubeletSize"], "use_mean_pooling": True, "with_cp": False,
            "num_frames": vit["numFrames"], "cos_attn": False,
        },
    })
    encoder = OrderedDict(("model." + k, v) for k, v in state_dict("vit").items() if not k.startswith("head."))
    write_safetensors(os.path.join(d, "model.safetensors"), encoder)
    print("wrote", OUT)


if __name__ == "__main__":
    main()
