"""rulesengine: evaluate organization-work information events under yearly YAML policies.

The public API:

- :func:`rulesengine.policy.load_policy` / :func:`load_policy_set` read and check policies;
- :func:`rulesengine.events.parse_event_lines` turns JSON Lines into checked events;
- :func:`rulesengine.evaluate.evaluate` is the pure evaluator;
- :mod:`rulesengine.render` prints results as JSON or as a table.
"""

from rulesengine.errors import Diagnostic, RulesEngineError

__all__ = ["Diagnostic", "RulesEngineError"]
__version__ = "0.1.0"
