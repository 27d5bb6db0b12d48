"""Who is calling (caller.py), what they may do (policy.py: CLP + ACL compiled into SQL), and the caches behind it."""
