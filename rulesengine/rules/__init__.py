"""Rule kinds: each module holds one kind's model, its builder (from checked YAML) and its
evaluation. The kinds are generic: points, tally, deadline, ranking, share."""
