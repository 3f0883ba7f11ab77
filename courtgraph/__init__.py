"""courtgraph: judging with many LLM agents instead of one.

Protocols (single, jury, debate, consultancy, courtroom, panel, cascade) are LangGraph graphs over one
trial; the harness (:mod:`courtgraph.evals`) replays benchmarks through them and compares them with
single-judge baselines. Start with :func:`courtgraph.single` and :func:`courtgraph.judge_case`, or
``courtgraph demo`` on the command line.

Names are imported on first use, so ``import courtgraph.schema`` (or the CLI's ``show``) does not pay
for LangGraph and the SDKs. The exported names are listed once, in :data:`courtgraph._api.PUBLIC_API`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from courtgraph._lazy import package_exports

__version__ = "0.1.0"

if TYPE_CHECKING:
    from courtgraph.errors import InputError as InputError
    from courtgraph.evals import run as run
    from courtgraph.graphs.cascade import cascade as cascade
    from courtgraph.graphs.consultancy import consultancy as consultancy
    from courtgraph.graphs.courtroom import courtroom as courtroom
    from courtgraph.graphs.debate import debate as debate
    from courtgraph.graphs.jury import jury as jury
    from courtgraph.graphs.more import more as more
    from courtgraph.graphs.panel import panel as panel
    from courtgraph.graphs.registry import Roles as Roles
    from courtgraph.graphs.registry import build_protocol as build_protocol
    from courtgraph.graphs.samre import samre as samre
    from courtgraph.graphs.single import single as single
    from courtgraph.graphs.trial import judge_case as judge_case
    from courtgraph.graphs.trial import run_trial as run_trial
    from courtgraph.models import ChatModel as ChatModel
    from courtgraph.models import ConfigError as ConfigError
    from courtgraph.models import ModelError as ModelError
    from courtgraph.models import ScriptedModel as ScriptedModel
    from courtgraph.models import get_model as get_model
    from courtgraph.models import use_cache as use_cache
    from courtgraph.schema import Case as Case
    from courtgraph.schema import Record as Record
    from courtgraph.schema import Trial as Trial
    from courtgraph.schema import TrialResult as TrialResult
    from courtgraph.schema import Turn as Turn
    from courtgraph.schema import Usage as Usage
    from courtgraph.schema import Verdict as Verdict

__getattr__, _names = package_exports(__name__)
__all__ = ["__version__", *_names]
