"""Weights fingerprints after 200 steps with seed 0 on one thread (issue 9: the redesign must not change them).

Recorded on main before the redesign (torch 2.13.0, CPU):
  ring8 gan mlp 43500c7790127a53, ring8 vae mlp 64591bdc9dbb536b, mnist5k gan mlp 4a1ce4474e70609d,
  mnist5k gan conv cd272a9158db8972, mnist5k vae mlp df873204f7e1b8c5, mnist5k vae conv 37e881a46255db99
The hash covers the keys the networks had then: state added since (the GAN's moving average of its generator and
its counters, the vectors' standardisation) is left out, so these values still say that the trained weights are
unchanged. Changed on purpose since: ring8 gan mlp (2026-12-03: vectors standardised for the discriminator and
a plain ReLU generator for vectors, docs/guide.md "25 Gaussians"), now 70a31a5bf35abcb3 (ring8 vae mlp unchanged). The conv GAN's discriminator has BatchNorm by default since
2026-12-03 (docs/performance.md); the recording had none, so the GANs are pinned to --d-norm none here, and to
--reuse-fakes off (on by default since 2026-12-04: one batch of fakes for both phases of a step), and to --lr 2e-4
(the conv GAN's default is 6e-4 since 2026-12-04).
"""
import hashlib, torch
torch.set_num_threads(1)
import ganvae
ADDED_SINCE = ("nets.generator_ema.", "ema_updates", "augment_on", "vector_offset", "vector_scale")  # key prefixes not in the recorded hashes
for data in ("ring8", "mnist5k"):
    for fam in ("gan", "vae"):
        for arch in (("mlp",) if data == "ring8" else ("mlp", "conv")):
            cls = ganvae.GAN if fam == "gan" else ganvae.VAE
            # The settings of the recording, pinned: later releases changed some defaults on purpose.
            m = cls(arch=arch, steps=200, seed=0, device="cpu", precision="fp32", batch_size=128,
                    hidden=64 if arch == "conv" else None, **({"d_norm": "none", "reuse_fakes": "off", "lr": 2e-4} if fam == "gan" else {})).fit(data)
            h = hashlib.sha256()
            for k, v in sorted(m.family_.state_dict().items()):
                if k.startswith(ADDED_SINCE):
                    continue
                h.update(k.encode()); h.update(v.detach().cpu().contiguous().numpy().tobytes())
            print(f"{data} {fam} {arch} {h.hexdigest()[:16]}", flush=True)
