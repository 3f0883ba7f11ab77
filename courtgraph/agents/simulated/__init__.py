"""Simulated agents (``sim:``): judges, jurors, debaters and witnesses of known competence.

In the spirit of LaaJMeter, a simulated agent is a :class:`~courtgraph.models.base.ChatModel` that
answers from parameters instead of a network. It exists for two reasons: the whole pipeline (prompts,
parsing, re-asks, protocols, runner, report) runs offline, and tests can check the harness against
closed-form answers (a majority of 3 independent jurors of accuracy p is right with probability
p^3 + 3p^2(1-p)). Its numbers mean nothing about real models; every report built on it must say
"simulated".

Spec syntax (after ``sim:``): tokens separated by ``:`` (or ``;``), never by commas. A bare number is
the accuracy, a bare word the agent's name, ``key=value`` sets a parameter; the keys, their ranges
and meanings are the table :data:`~courtgraph.agents.simulated.spec.PARAMETERS`
(``describe_parameters()`` prints it): ``acc``, ``bias``, ``corr``, ``persist``, ``tie``,
``invalid``, ``debate``, ``consult``, ``grow``, the probe susceptibilities ``fooled``, ``verbosity``,
``master_key``, ``authority``, ``bandwagon``, ``distraction``, and ``name``::

    sim:judge                     a judge named "judge" with the defaults (acc 0.75)
    sim:0.7                       accuracy 0.7
    sim:j1:acc=0.7:bias=0.1:corr=0.3:tie=0.05:invalid=0.02
    sim:judge:0.7:debate=0.8:consult=0.65
    sim:judge:0.75:verbosity=0.3:master-key=0.1

Susceptibility. On a case a probe perturbed (``courtgraph.evals.probes``: its ``metadata`` names
the probe, the perturbed candidate and the text it replaced), the agent first forms the opinion it
would hold on the original (its draws are keyed by the original's content), then with probability
s (the probe's key, else ``fooled``) it is fooled and prefers the perturbed candidate instead,
whatever it would have said. Fooled is drawn once per agent and case (the same in both orders),
independently of being right, and correlated between agents by ``corr`` (a Gaussian copula with
its own shared draw). So for one judge, attack success (right on the original, wrong on the
perturbed case) is exactly s, and a majority of n independent always-right jurors is fooled with
probability sum_{k>n/2} C(n,k) s^k (1-s)^(n-k).

How it answers. Each call carries an :class:`~courtgraph.models.Intent`: the trial (the case, with
its gold label, and the order shown), what the caller will parse (a pairwise verdict, a score, or
speech) and the facts of the role (:class:`~courtgraph.agents.base.Facts`). The simulator reads only
those, never the wording of a prompt, so rewording a prompt file cannot change what it does; the
gold label never enters a prompt (the simulator is an oracle by design). A call without a trial (a
sim called by hand) gets a seeded coin flip, and its text says so.

Draws are seeded by the run's seed (:func:`simulation`, a context variable the runner sets; 0
outside a run) and what they are about, never by call order: ``z_case`` by (seed, case content),
shared by all agents and both orders; ``e_agent`` by (seed, agent, case, view, purpose). The agent is
the sim's identity plus the persona its facts name (``juror_2``, the ``safety`` specialist), so the
N jurors of ``jury("sim:0.7", n=N)`` err independently. The view is the order shown (a pairwise
verdict) or the candidate (a score, the same in both orders). One agent holds one opinion per trial:
the same sim as single judge and as debate judge is coupled (a higher ``debate`` accuracy only
corrects some of its errors), and a deliberating juror keeps its vote. ``debate`` applies to judging
a debate or a courtroom, ``consult`` to judging a consultancy (a consultancy judge ignores which side
the consultant took), by the ``setting`` fact. Arguments follow the side or stance their facts give:
right-side ones cite checks, wrong-side ones rhetoric.

Modules: :mod:`.spec` (the parameter table and the parser), :mod:`.context` (the run's seed),
:mod:`.draws` (seeded draws and the scene of a call), :mod:`.speech` (the texts), :mod:`.agent`
(the model and its acts).
"""

from __future__ import annotations

from courtgraph.agents.simulated.agent import SimModel
from courtgraph.agents.simulated.context import Simulation, current_simulation, simulation
from courtgraph.agents.simulated.spec import PARAMETERS, Parameter, SimParams, describe_parameters, parse_spec


def from_spec(rest: str) -> SimModel:
    """The models registry's factory for ``sim:REST``."""
    return SimModel(parse_spec(rest), spec=f"sim:{rest}")


__all__ = ["PARAMETERS", "Parameter", "SimModel", "SimParams", "Simulation", "current_simulation",
           "describe_parameters", "from_spec", "parse_spec", "simulation"]
