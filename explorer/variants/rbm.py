"""The restricted Boltzmann machine, trained by contrastive divergence (Hinton 2002) or its
persistent form (Tieleman 2008), and the RBM layer that the deep belief net (dbn_ae) stacks.

CD is written as a loss: the gap between the mean free energy of the data and of the negative
("model") particles, the particles drawn without gradient. Its gradient is minus the CD estimate of
the log-likelihood gradient, so one plain SGD step on it is the CD update
dW = lr (<h v^T>_data - <h v^T>_model), with the same meaning of ``lr`` as scikit-learn's BernoulliRBM.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from explorer import losses
from explorer.config import TrainedConfig, inherit, param
from explorer.registry import register
from explorer.variants.base import Autoencoder, Stage

if TYPE_CHECKING:
    from explorer.data.store import TrainingImages

# The least pixel mean (and 1 - the greatest) a visible bias starts from: a border pixel that is always 0
# gets b = logit(1e-3) = -6.9, P(v = 1) = 0.001, instead of minus infinity.
VISIBLE_P_FLOOR = 1e-3


class BernoulliRBMLayer(nn.Module):
    """Binary visible units v (B, V), binary or linear-Gaussian hidden units h (B, H).

    Energy with binary hidden units: E(v, h) = -b.v - c.h - h.W v  (Hinton 2002).
    ``linear_hidden`` gives the code layer of Hinton & Salakhutdinov (2006): h | v ~ N(W v + c, I),
    i.e. an extra h.h / 2 in the energy.
    """

    def __init__(self, n_visible: int, n_hidden: int, linear_hidden: bool = False):
        super().__init__()
        self.linear_hidden = linear_hidden
        # N(0, 0.01^2) weights and zero biases: Hinton's practical guide (2010) Sec. 8, and scikit-learn's.
        # A layer that sees pixels then starts its visible biases at the data's (init_visible_bias).
        self.weight = nn.Parameter(0.01 * torch.randn(n_hidden, n_visible))  # (H, V)
        self.hidden_bias = nn.Parameter(torch.zeros(n_hidden))  # (H,)
        self.visible_bias = nn.Parameter(torch.zeros(n_visible))  # (V,)

    @torch.no_grad()
    def init_visible_bias(self, images: TrainingImages) -> None:
        """b_i := log(p_i / (1 - p_i)), p_i the mean of pixel i over ``images`` (the training rows): Hinton's practical
        guide (2010) Sec. 8. With zero biases every P(v_i = 1) starts at 1/2, and on mostly-bright images (an
        inverted Fashion-MNIST) the hidden units are spent making every pixel bright before they learn any
        shape: the RBM ended at 5.9x PCA-30's error there, 1.8x with this start (benchmarks/RESULTS.md).
        p is kept in [VISIBLE_P_FLOOR, 1 - VISIBLE_P_FLOOR] so that a constant pixel gets a finite bias."""
        p = images.mean_image().flatten().to(self.visible_bias).clamp(VISIBLE_P_FLOOR, 1 - VISIBLE_P_FLOOR)  # (V,)
        self.visible_bias.copy_(torch.logit(p))

    def hidden_input(self, v: Tensor) -> Tensor:
        """(B, V) -> (B, H): W v + c."""
        return F.linear(v, self.weight, self.hidden_bias)

    def hidden_probs(self, v: Tensor) -> Tensor:
        """(B, V) -> (B, H): E[h | v], i.e. P(h = 1 | v) = sigmoid(W v + c), or W v + c for linear units."""
        activation = self.hidden_input(v)
        return activation if self.linear_hidden else torch.sigmoid(activation)

    def sample_hidden(self, v: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """(B, V) -> (B, H): a sample of h | v (binary, or the mean plus unit-variance Gaussian noise),
        drawn from ``generator`` (torch's global one when None)."""
        mean = self.hidden_probs(v)
        if self.linear_hidden:
            return mean + torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
        return torch.bernoulli(mean, generator=generator)

    def visible_logits(self, h: Tensor) -> Tensor:
        """(B, H) -> (B, V): W^T h + b, the logits of P(v = 1 | h)."""
        return F.linear(h, self.weight.t(), self.visible_bias)

    def visible_probs(self, h: Tensor) -> Tensor:
        return torch.sigmoid(self.visible_logits(h))

    def free_energy(self, v: Tensor) -> Tensor:
        """(B, V) -> (B,): F(v) = -log sum_h exp(-E(v, h)), up to a constant.

        Binary hidden units: F(v) = -b.v - sum_j softplus(x_j), x = W v + c.
        Linear hidden units: the Gaussian integral gives F(v) = -b.v - |x|^2 / 2 (dropping H log sqrt(2 pi)).
        """
        activation = self.hidden_input(v)
        hidden_term = 0.5 * activation.square() if self.linear_hidden else F.softplus(activation)
        return -(v @ self.visible_bias) - hidden_term.sum(1)

    def gibbs_steps(self, h: Tensor, k: int, generator: torch.Generator | None = None
                    ) -> Iterator[tuple[Tensor, Tensor, Tensor]]:
        """``k`` alternating Gibbs steps from hidden states h (B, H); yields (P(v|h), v, h') per step,
        v a binary sample of P(v|h) and h' a sample given v, drawn from ``generator`` (a page's own
        seeded one; torch's global one in training). Under ``torch.no_grad()`` for CD particles."""
        for _ in range(k):
            v_probs = self.visible_probs(h)  # (B, V)
            v = torch.bernoulli(v_probs, generator=generator)
            h = self.sample_hidden(v, generator)  # (B, H)
            yield v_probs, v, h

    def negative_particles(self, h: Tensor, k: int) -> tuple[Tensor, Tensor, Tensor]:
        """The last of ``k`` Gibbs steps from ``h``, without gradient: P(v|h) (B, V), v (B, V), h' (B, H)."""
        with torch.no_grad():
            *_, last = self.gibbs_steps(h, k)
        return last

    def cd_loss(self, v_data: Tensor, v_model: Tensor) -> Tensor:
        """mean F(v_data) - mean F(v_model): minus the CD estimate of the log-likelihood gradient
        (Hinton 2002, eq. 5). Gradients reach only the parameters; ``v_model`` must be detached."""
        return self.free_energy(v_data).mean() - self.free_energy(v_model).mean()

    def cd_k_loss(self, v_data: Tensor, k: int = 1) -> Tensor:
        """CD-k: a chain from a hidden sample given the data (B, V). Its negative statistics use the last
        reconstruction's probabilities P(v|h), not a binary sample (Hinton's practical guide 2010, Sec. 3.2;
        H&S 2006's code): less sampling noise, and grey pixels are reconstructed far better."""
        with torch.no_grad():
            h_data = self.sample_hidden(v_data)
        v_probs, _, _ = self.negative_particles(h_data, k)
        return self.cd_loss(v_data, v_probs)

    def reconstruction_cross_entropy(self, v: Tensor) -> Tensor:
        """The usual CD monitor (Hinton 2010, Sec. 5): cross-entropy of one mean-field up-down pass."""
        return losses.reconstruction(self.visible_logits(self.hidden_probs(v)), v, "bce")


@dataclass
class RBMConfig(TrainedConfig):
    # scikit-learn's BernoulliRBM defaults (learning_rate 0.1, batch_size 10), run for more passes.
    epochs: int = inherit(TrainedConfig, "epochs", 50)
    batch_size: int = inherit(TrainedConfig, "batch_size", 10)
    lr: float = inherit(TrainedConfig, "lr", 0.1)
    cd_k: int = param(1, min=1, max=100, help="How many back-and-forth sampling steps between pixels and hidden "
                                              "units each update takes (CD-k; 1 is Hinton's CD-1).")
    persistent: bool = param(False, help="Persistent CD (Tieleman 2008): keep the negative chains running "
                                         "between updates instead of restarting them at the data.")


@register("rbm", config=RBMConfig,
          description="Bernoulli restricted Boltzmann machine: code = P(h=1|v), trained by (persistent) "
                      "contrastive divergence with plain SGD.",
          paper="Hinton, Training products of experts by minimizing contrastive divergence, Neural Comput. 2002; "
                "Tieleman, Training RBMs using approximations to the likelihood gradient, ICML 2008")
class RBM(Autoencoder):
    """latent_dim hidden units. encode: P(h = 1 | v) (B, K); decode: P(v = 1 | h) (B, C, H, W)."""

    def __init__(self, config: RBMConfig, input_shape, n_classes=0):
        super().__init__(config, input_shape, n_classes)
        self.rbm = BernoulliRBMLayer(self.input_dim, config.latent_dim)
        # PCD's fantasy particles, as hidden samples (N_chains, K); not saved with the weights.
        self.register_buffer("chain", torch.zeros(0, config.latent_dim), persistent=False)

    def fit_data(self, x: TrainingImages, y: Tensor | None) -> None:
        self.rbm.init_visible_bias(x)

    def encode(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        return self.rbm.hidden_probs(x.flatten(1))  # (B, K)

    def decode_logits(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        return self.rbm.visible_logits(z)  # (B, D)

    def free_energy(self, x: Tensor) -> Tensor:
        """(B, C, H, W) -> (B,)."""
        return self.rbm.free_energy(x.flatten(1))

    def loss(self, x: Tensor, y: Tensor | None = None) -> dict[str, Tensor]:
        """The CD (or PCD) loss; with ``persistent`` each call advances the persistent chains."""
        v_data = x.flatten(1)  # (B, D)
        if not self.config.persistent:
            return {"free_energy_gap": self.rbm.cd_k_loss(v_data, self.config.cd_k)}
        # The fantasy particles are binary samples: the chains must be Markov chains of the model (Tieleman 2008).
        _, v_model, h_model = self.rbm.negative_particles(self._persistent_chain(v_data), self.config.cd_k)
        self.chain[:len(v_data)] = h_model
        return {"free_energy_gap": self.rbm.cd_loss(v_data, v_model)}

    def _persistent_chain(self, v_data: Tensor) -> Tensor:
        """The first B fantasy chains as hidden states (B, K). Chains start at h = 0, as in scikit-learn's
        BernoulliRBM, so the first fantasies are v ~ Bernoulli(sigmoid(b))."""
        if len(self.chain) < len(v_data):
            self.chain = v_data.new_zeros(len(v_data), self.latent_dim)
        return self.chain[:len(v_data)]

    def reset_chain(self) -> None:
        self.chain = self.chain.new_zeros(0, self.latent_dim)

    def training_stages(self) -> list[Stage]:
        sgd = torch.optim.SGD(self.parameters(), lr=self.config.lr)
        name = "pcd" if self.config.persistent else "cd"
        return [Stage(name, self.config.epochs, functools.partial(self.cd_step, self.backprop_step(sgd)),
                      on_start=self.reset_chain, optimizers=(sgd,))]

    def cd_step(self, update, x: Tensor, y: Tensor | None) -> dict[str, Tensor]:
        """The CD ``update`` (SGD on the free-energy gap), plus the reconstruction cross-entropy as an
        untrained monitor."""
        terms = update(x, y)
        with torch.no_grad():
            terms["recon_bce"] = self.rbm.reconstruction_cross_entropy(x.flatten(1))
        return terms
