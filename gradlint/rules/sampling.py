"""Random draws that drop the gradient of their distribution's parameters: ``.sample()`` where ``.rsample()`` exists."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from gradlint import lazy_cst as cst
from gradlint.analysis.values import strongest
from gradlint.rules.base import Invalid, Rule, Valid
from gradlint.rules.syntax import binding, contains, is_method_call, variables_read, walk

if TYPE_CHECKING:
    from gradlint.analysis.context import Context

# The torch.distributions classes with a reparameterised sampler (``has_rsample``).
_REPARAMETERISED = frozenset(
    "Beta Cauchy Chi2 ContinuousBernoulli Dirichlet Exponential FisherSnedecor Gamma GeneralizedPareto Gumbel "
    "HalfCauchy HalfNormal Independent InverseGamma Kumaraswamy Laplace LogNormal LogisticNormal "
    "LowRankMultivariateNormal MultivariateNormal Normal OneHotCategoricalStraightThrough Pareto RelaxedBernoulli "
    "RelaxedOneHotCategorical StudentT TransformedDistribution Uniform Weibull Wishart".split()
)


class SampleWithoutRsample(Rule):
    """`.sample()` of a distribution whose parameters carry gradients and that has `.rsample()`.

    What it does:
        Reports `dist.sample(...)` where `dist` is built in the same function by a `torch.distributions` class
        (or a library's wrapper of one, such as `pyro.distributions`) with a reparameterised sampler
        (`Normal`, `MultivariateNormal`, `Beta`, `Gamma`, `Uniform`...) from
        values computed from differentiable inputs, and the draw goes on into computation.

    Why it cuts gradients:
        `sample()` draws under `torch.no_grad()`: the draw is a constant, and nothing computed from it reaches
        the distribution's parameters. `rsample()` draws `loc + scale * noise` (the reparameterisation trick),
        through which the gradient flows: a VAE that decodes `Normal(mu, sigma).sample()` never trains its
        encoder through the reconstruction loss.

    When it is fine:
        Score-function (REINFORCE) estimators, which differentiate `dist.log_prob(draw)` instead: a draw passed
        to `log_prob` in the same function is not reported. Draws under `torch.no_grad()` (acting, evaluation),
        draws that are only looked at (reported at low confidence, hidden by default), and distributions
        without `rsample` (`Categorical`, `Bernoulli`, `Poisson`).
    """

    code = "GL120"
    name = "sample-without-rsample"
    tokens = (".sample(",)
    INVALID = [
        Invalid(
            """\
import torch
from torch.distributions import Normal

def reconstruct(encoder: torch.nn.Module, decoder: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    mu, log_sigma = encoder(x).chunk(2, dim=-1)
    z = Normal(mu, log_sigma.exp()).sample()
    return ((decoder(z) - x) ** 2).mean()
""",
            line=6,
            column=9,
            fixed="""\
import torch
from torch.distributions import Normal

def reconstruct(encoder: torch.nn.Module, decoder: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    mu, log_sigma = encoder(x).chunk(2, dim=-1)
    z = Normal(mu, log_sigma.exp()).rsample()
    return ((decoder(z) - x) ** 2).mean()
""",
        ),
    ]
    VALID = [
        Valid(
            """\
import torch
from torch.distributions import Normal

def reconstruct(encoder: torch.nn.Module, decoder: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    mu, log_sigma = encoder(x).chunk(2, dim=-1)
    z = Normal(mu, log_sigma.exp()).rsample()
    return ((decoder(z) - x) ** 2).mean()
"""
        ),
        Valid(
            """\
import torch
from torch.distributions import Normal

def policy_loss(policy: torch.nn.Module, state: torch.Tensor, reward_of) -> torch.Tensor:
    mean = policy(state)
    dist = Normal(mean, torch.ones_like(mean))
    action = dist.sample()
    return -(dist.log_prob(action) * reward_of(action)).mean()
"""
        ),
    ]

    def on_call(self, site, ctx):
        if site.method != "sample" or _scored(site.node, ctx):
            return None
        built = _construction(site.node.func.value, ctx)
        if built is None:
            return None
        return ctx.report(
            self,
            site.node,
            receiver=strongest(ctx.value(arg.value).sym for arg in built.args),
            subject=site.node.func.value,
            message="`{subject}.sample()` draws without a gradient: the distribution's parameters get none "
            "through the draw",
            fix="draw with `{subject}.rsample()` (reparameterised); keep `.sample()` with `log_prob` for "
            "score-function estimators",
        )


def _construction(node: cst.BaseExpression, ctx: Context) -> Optional[cst.Call]:
    """The call that builds the reparameterisable distribution ``node`` is or names in this function, if any."""
    body = _function_body(ctx)
    if isinstance(node, cst.Name) and body is not None:
        node = binding(node.value, body)
    if not isinstance(node, cst.Call):
        return None
    module, _, name = (ctx.qualname(node.func) or "").rpartition(".")
    return node if name in _REPARAMETERISED and "distributions" in module.split(".") else None


def _function_body(ctx: Context) -> Optional[cst.CSTNode]:
    function = ctx.function.node
    return function if function is not None else ctx.statement


def _scored(call: cst.Call, ctx: Context) -> bool:
    """A score-function estimator: the draw (or the name it is bound to) is passed to a ``log_prob`` call."""
    statement = ctx.statement
    names = set()
    if isinstance(statement, cst.Assign) and statement.value is call:
        for target in statement.targets:
            names |= variables_read(target.target, ctx.qualname)
    body = _function_body(ctx)
    for node in walk(body) if body is not None else ():
        if is_method_call(node, "log_prob"):
            for arg in node.args:
                if contains(arg.value, call) or names & variables_read(arg.value, ctx.qualname):
                    return True
    return False
