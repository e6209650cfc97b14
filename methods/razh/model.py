"""The RAZH network: ViT encoder, shared MAE-style decoder, Attribute Embedding Module, hash and class layers.

Equations are the paper's (Jiang et al., arXiv 2503.07037); see README.md for the fidelity table.

* `RAZHNet.patches`: patchify + linear projection to d_v (the ViT's patch embedding) -> P (B, M, d_v);
* `RAZHNet.random_keep` (eq. 5): the reconstruction branch's random selection P_m (M_m = (1 - mask ratio) M);
* `RAZHNet.mix` (eq. 1-3, 6): batched K-means of each image's patch embeddings into K' parts, part centres J
  mapped by F_m into the attribute space, attribute word vectors mapped by F_a, cosine similarity of each part
  with the image's own attributes T^(i), most similar attribute -> F_i -> attribute patch P_a, which replaces
  the patches of the part where the similarity >= threshold -> Z. With ``mix_scope="unselected"`` (default,
  Fig. 2) only the patches the reconstruction branch did NOT select may be replaced, so the two branches' sets
  are complementary and the mask ratio bounds the number of attribute patches; ``"all"`` reads eq. 3 alone;
* `RAZHNet.encode_tokens`: the ViT on all or a subset of the positions (positional embeddings added before the
  subset is taken, as in MAE) -> pooled feature f (class token, or the mean patch token with pool=avg) and the
  patch tokens;
* `RAZHNet.decode` (eq. 4-5): the shared decoder; missing positions are filled with a learnable mask token;
* `RAZHNet.hash` (eq. 7-8): h = tanh(W_h^T f + o_h); `RAZHNet.classify` (eq. 12): W~^T h + o~ over the seen classes;
* `RAZHNet.train_losses`: one training step's losses (eq. 10-18), for every variant and loss ablation.

One choice per class (labels as attributes: digits, cifar10, every RAZH-T run): T^(i) holds one entry, so the
choice of eq. 6 is fixed and nothing differentiable depends on F_m (the threshold of eq. 3 has no gradient);
F_m is then frozen at its initialisation (``RAZHNet.f_m_learns`` is False) and the replacement gate is a fixed
random projection of the part centres compared with the learned class embedding.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from zshbench.methods.razh import losses as L
from zshbench.methods.razh.kmeans import batched_kmeans
from zshbench.train.images import prepare_images

__all__ = ["RAZHNet", "MAEDecoder", "build_encoder"]


def build_encoder(p: dict[str, Any]) -> nn.Module:
    """The ViT encoder of a resolved profile ``p`` (random init; pretrained weights are loaded by the hasher)."""
    if p["encoder"] == "timm":
        import timm

        return timm.create_model(p["timm_name"], pretrained=False, num_classes=0, img_size=p["img_size"])
    from timm.models.vision_transformer import VisionTransformer

    return VisionTransformer(
        img_size=p["img_size"],
        patch_size=p["patch_size"],
        in_chans=3,
        num_classes=0,
        embed_dim=p["dim"],
        depth=p["depth"],
        num_heads=p["heads"],
        mlp_ratio=4.0,
        qkv_bias=True,
        class_token=True,
        global_pool="token",
    )


class MAEDecoder(nn.Module):
    """Lightweight transformer decoder (MAE): encoder tokens -> d_dec, mask tokens at missing positions,
    learnable positional embeddings, blocks, norm, linear prediction of pixel patches."""

    def __init__(self, n_patches: int, enc_dim: int, dim: int, depth: int, heads: int, out_dim: int):
        super().__init__()
        from timm.models.vision_transformer import Block

        self.embed = nn.Linear(enc_dim, dim)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos = nn.Parameter(torch.zeros(1, n_patches, dim))
        self.blocks = nn.Sequential(*[Block(dim, heads, mlp_ratio=4.0, qkv_bias=True) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)
        self.pred = nn.Linear(dim, out_dim)
        nn.init.trunc_normal_(self.pos, std=0.02)
        nn.init.normal_(self.mask_token, std=0.02)

    def forward(self, tokens: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
        """``tokens`` (B, M_keep, enc_dim) at positions ``keep`` (B, M_keep) (all positions when None)."""
        x = self.embed(tokens)
        if keep is not None:
            b, _, d = x.shape
            full = self.mask_token.to(x.dtype).expand(b, self.pos.shape[1], d).clone()
            x = full.scatter(1, keep.unsqueeze(-1).expand(-1, -1, d), x)
        x = self.blocks(x + self.pos)
        return self.pred(self.norm(x))


class RAZHNet(nn.Module):
    """RAZH's modules. ``p`` is a resolved profile (see profiles.py).

    Args:
        p: resolved hyper-parameters (img_size, patch_size, dims, n_parts, mask_ratio, threshold, ...).
        n_bits: code length.
        word_vectors: (A, d_w) vectors of the vocabulary (attribute or class names).
        allowed: (S, A) bool, T^(i) of each seen class (the attributes a class has).
    """

    def __init__(self, p: dict[str, Any], n_bits: int, word_vectors: torch.Tensor, allowed: torch.Tensor):
        super().__init__()
        self.p = dict(p)
        self.encoder = build_encoder(p)
        d_v = self.encoder.embed_dim
        grid = self.encoder.patch_embed.grid_size
        self.n_patches = int(grid[0] * grid[1])
        self.patch = int(self.encoder.patch_embed.patch_size[0])
        self.decoder = MAEDecoder(
            self.n_patches, d_v, p["decoder_dim"], p["decoder_depth"], p["decoder_heads"], self.patch * self.patch * 3
        )
        d_w = word_vectors.shape[1]
        self.f_m = nn.Linear(d_v, p["attr_dim"])  # part centre -> attribute space (eq. 2)
        self.f_a = nn.Linear(d_w, p["attr_dim"])  # word vector -> attribute embedding (eq. 6)
        self.f_i = nn.Linear(p["attr_dim"], d_v)  # attribute embedding -> attribute patch
        self.hash_layer = nn.Linear(d_v, n_bits)  # eq. 7
        self.cls_layer = nn.Linear(n_bits, allowed.shape[0])  # eq. 12: W~ and the bias o~
        self.register_buffer("wordvec", word_vectors.float().clone())
        self.register_buffer("allowed", allowed.bool().clone())
        self.register_buffer("mean", torch.tensor(p["mean"]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(p["std"]).view(1, 3, 1, 1))
        # one allowed attribute per class: the arg-max of eq. 6 and its straight-through softmax are constant, so
        # no loss reaches F_m (module docstring); freeze it so that this is explicit, not a silent zero gradient
        self.f_m_learns = not bool((self.allowed.sum(1) <= 1).all())
        if not self.f_m_learns:
            self.f_m.requires_grad_(False)

    # -- inputs ----------------------------------------------------------------------------------------
    def prepare(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 (B, H, W, C) -> normalised float (B, 3, S, S): grey repeated to 3 channels, resized to S."""
        return prepare_images(images, self.p["img_size"], self.mean, self.std)

    def patches(self, x: torch.Tensor) -> torch.Tensor:
        """Patch embeddings P (B, M, d_v) (patchify + linear projection; no positional embedding yet)."""
        return self.encoder.patch_embed(x)

    # -- encoder / decoder / heads ---------------------------------------------------------------------
    def encode_tokens(
        self, tokens: torch.Tensor, keep: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """ViT on patch embeddings ``tokens`` (B, M, d_v), restricted to positions ``keep`` (B, M_keep).

        Returns:
            pooled feature f (B, d_v) (class token) and the patch tokens (B, M_keep, d_v).
        """
        enc = self.encoder
        pos = enc.pos_embed
        n_pre = 0 if enc.no_embed_class else enc.num_prefix_tokens
        x = tokens + pos[:, n_pre:]
        if keep is not None:
            x = torch.gather(x, 1, keep.unsqueeze(-1).expand(-1, -1, x.shape[-1]))
        prefix = []
        if enc.cls_token is not None:
            cls = enc.cls_token + (pos[:, :1] if n_pre else 0)
            prefix.append(cls.expand(x.shape[0], -1, -1))
        if getattr(enc, "reg_token", None) is not None:
            reg = enc.reg_token + (pos[:, 1:n_pre] if n_pre > 1 else 0)
            prefix.append(reg.expand(x.shape[0], -1, -1))
        x = torch.cat(prefix + [x], dim=1)
        x = enc.norm_pre(enc.pos_drop(x))
        x = enc.norm(enc.blocks(x))
        k = enc.num_prefix_tokens
        if self.p.get("pool", "token") == "avg" or enc.cls_token is None:
            pooled = x[:, k:].mean(1)  # mean of the patch tokens
        else:
            pooled = x[:, 0]  # class token
        return pooled, x[:, k:]

    def decode(self, tokens: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
        return self.decoder(tokens, keep)

    def hash(self, f: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.hash_layer(f))

    def classify(self, h: torch.Tensor) -> torch.Tensor:
        return self.cls_layer(h)

    @torch.no_grad()
    def encode(self, images_uint8: torch.Tensor) -> torch.Tensor:
        """Inference (eq. 8 before the sign): every patch, no masking, no mixing -> h (B, n_bits)."""
        x = self.prepare(images_uint8)
        f, _ = self.encode_tokens(self.patches(x))
        return self.hash(f)

    # -- the mixing branch (eq. 1-3, 6) ----------------------------------------------------------------
    def attribute_embeddings(self) -> torch.Tensor:
        """A = F_a(word vectors) (A, d_a) (eq. 6)."""
        return self.f_a(self.wordvec)

    def mix(
        self,
        P: torch.Tensor,
        labels: torch.Tensor,
        generator: torch.Generator | None = None,
        cluster: bool = True,
        candidates: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """Replace image parts by their most similar attribute patch.

        Args:
            P: patch embeddings (B, M, d_v).
            labels: (B,) seen-class indices (select T^(i)).
            generator: seeds the K-means initialisation.
            cluster: False gives RAZH-C (each patch is its own part).
            candidates: (B, M) bool, the positions that may be replaced (the reconstruction branch's unselected
                patches, Fig. 2); None = every position (eq. 3 read alone). Parts are still clustered over all
                M patches (eq. 1 clusters P).

        Returns:
            dict with Z (B, M, d_v), replaced (B, M) bool, parts (B, M) part index of each patch, sim (B, K, A)
            cosine similarities, best (B, K) chosen attribute.
        """
        b, m, d = P.shape
        if cluster:
            k = min(int(self.p["n_parts"]), m)
            _, parts = batched_kmeans(P, k, self.p["kmeans_iters"], generator=generator)
            onehot = F.one_hot(parts, k).to(P.dtype)  # (B, M, K)
            counts = onehot.sum(1).clamp_min(1.0)  # an empty part owns no patch: its centre is never used
            J = onehot.transpose(1, 2) @ P / counts.unsqueeze(-1)  # differentiable centres (eq. 1)
        else:
            k = m
            parts = torch.arange(m, device=P.device).expand(b, m)
            J = P
        q = F.normalize(self.f_m(J).float(), dim=-1)  # eq. 2
        A = self.attribute_embeddings().float()
        sim = q @ F.normalize(A, dim=-1).t()  # (B, K, A) cosine similarity
        allowed = self.allowed[labels].unsqueeze(1)  # (B, 1, A): T^(i)
        masked = sim.masked_fill(~allowed, float("-inf"))
        best_sim, best = masked.max(-1)  # most similar attribute of the image's own set
        # straight-through: forward = the hard choice of eq. 3, backward = softmax over T^(i) (F_m, F_a learn)
        soft = torch.softmax(masked / self.p["st_temperature"], dim=-1)
        hard = F.one_hot(best, A.shape[0]).to(soft.dtype)
        w = hard + soft - soft.detach()
        P_a = self.f_i(w @ A).to(P.dtype)  # (B, K, d_v) attribute patches
        replace_part = best_sim >= self.p["threshold"]  # (B, K) eq. 3
        replaced = torch.gather(replace_part, 1, parts)
        if candidates is not None:
            replaced = replaced & candidates.bool()
        P_a_patch = torch.gather(P_a, 1, parts.unsqueeze(-1).expand(-1, -1, d))
        Z = torch.where(replaced.unsqueeze(-1), P_a_patch, P)
        return {"Z": Z, "replaced": replaced, "parts": parts, "sim": sim, "best": best}

    # -- training --------------------------------------------------------------------------------------
    def random_keep(self, b: int, generator: torch.Generator | None, device) -> tuple[torch.Tensor, torch.Tensor]:
        """MAE random masking: (B, n_keep) kept positions and a (B, M) 0/1 mask (1 = masked)."""
        m = self.n_patches
        n_keep = min(m - 1, max(1, int(round(m * (1.0 - self.p["mask_ratio"])))))  # >= 1 kept, >= 1 masked
        ids = torch.rand(b, m, generator=generator).argsort(dim=1)[:, :n_keep].to(device)
        mask = torch.ones(b, m, device=device).scatter_(1, ids, 0.0)
        return ids, mask

    def train_losses(
        self,
        images_uint8: torch.Tensor,
        labels: torch.Tensor,
        generator: torch.Generator | None,
        variant: str = "full",
        terms: str = "all",
        alpha: float = 1.0,
        beta: float = 1.0,
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Losses of one step (eq. 16): L = L_cls + alpha L_h + beta (L_r + L_hal).

        Args:
            variant: "full", "no-cluster" (RAZH-C), "no-attr" (RAZH-A: reconstruction branch only),
                "random-branches" (RAZH-D: the mixing branch replaced by a second reconstruction branch on the
                complementary patches, or, with mix_scope="all", on an independent random selection).
            terms: "all", "cls", "hash", "cls+hash" (Table IV); without the beta terms no decoder runs.

        The profile's ``loss_scale`` ("mean" or "paper") is the losses' reduction; ``mix_scope`` ("unselected"
        or "all") the positions the mixing branch may replace.
        """
        red = self.p.get("loss_scale", "mean")
        scope = self.p.get("mix_scope", "unselected")
        x = self.prepare(images_uint8)
        target = L.patchify(x, self.patch)
        P = self.patches(x)
        b = P.shape[0]
        keep, mask = self.random_keep(b, generator, P.device)
        f_x, tok_x = self.encode_tokens(P, keep)  # reconstruction branch (eq. 5)
        h = self.hash(f_x)
        parts: dict[str, torch.Tensor] = {}
        l_cls = L.classification_loss(self.classify(h), labels, red) if terms in ("all", "cls", "cls+hash") else None
        l_h = L.hash_loss(h, labels, self.p["hash_scale"], red) if terms in ("all", "hash", "cls+hash") else None
        l_r = l_hal = None
        if terms == "all":
            norm_pix = self.p["norm_pix"]
            l_r = L.reconstruction_loss(self.decode(tok_x, keep), target, mask, norm_pix, red)
            if variant in ("full", "no-cluster"):
                cand = mask.bool() if scope == "unselected" else None
                mixed = self.mix(P, labels, generator, cluster=(variant == "full"), candidates=cand)
                f_z, tok_z = self.encode_tokens(mixed["Z"])  # mixing branch (eq. 4)
                g_z = self.decode(tok_z)
                l_r = l_r + L.reconstruction_loss(g_z, target, mixed["replaced"], norm_pix, red)
                l_hal = L.alignment_loss(self.hash(f_z), h, red)
                parts["replaced"] = mixed["replaced"].float().mean().detach()
            elif variant == "random-branches":
                if scope == "unselected":  # "two ... branches with different patches": the complement of P_m
                    keep2 = mask.bool().nonzero()[:, 1].view(b, -1)
                    mask2 = 1.0 - mask
                else:
                    keep2, mask2 = self.random_keep(b, generator, P.device)
                f_2, tok_2 = self.encode_tokens(P, keep2)
                l_r = l_r + L.reconstruction_loss(self.decode(tok_2, keep2), target, mask2, norm_pix, red)
                l_hal = L.alignment_loss(self.hash(f_2), h, red)
        total = L.total_loss(l_cls, l_h, l_r, l_hal, alpha, beta)
        for name, v in (("cls", l_cls), ("hash", l_h), ("rec", l_r), ("hal", l_hal)):
            if v is not None:
                parts[name] = v.detach()
        return total, parts
