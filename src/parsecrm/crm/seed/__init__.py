"""Demo data (`crm seed --demo`, `crm serve --demo`) and benchmark data (`crm seed --scale N`).

The demo is written the way the app writes: every object is created, and every deal moved through its stages, by
`objects.create`/`objects.update` running as the user who owns it, so the CRM's hooks stamp `createdBy`, compute the
ACLs and record the stage history exactly as they do for real clients. Only timestamps are rewritten afterwards, so
the demo reads like months of work (and pipeline analytics have durations to average) rather than one second's.

The benchmark data is too large for that path, so it is written with COPY, bypassing the hooks; the rows are built
the way the hooks build them (the rules' own ACL function, `createdBy`/`assignedTo`, one stage-change row per move),
so reads, permissions and analytics behave on it exactly as on data written through the API.

Both are deterministic: one seeded `random.Random` decides every name, amount, date and owner.
"""

from .content import DEMO_SEED
from .demo import count_rows, has_deals, run_demo_if_empty, seed_demo, with_backend
from .scale import scale_counts, scale_password, seed_scale

__all__ = [
    "DEMO_SEED",
    "count_rows",
    "has_deals",
    "run_demo_if_empty",
    "scale_counts",
    "scale_password",
    "seed_demo",
    "seed_scale",
    "with_backend",
]
