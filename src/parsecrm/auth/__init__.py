"""Users without a password and email verification: `authData` providers (anonymous built in, more registered by
Cloud Code), log-in / sign-up / linking with `authData`, `/loginAs`, and the verification mail and link.

The user paths (users.py) call in here at clearly marked hook points; nothing here imports users.py.
"""
