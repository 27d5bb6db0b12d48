"""Credentials beside the user paths: password hashing (passwords.py), reset links (reset.py), `authData`
providers (anonymous built in, more registered by Cloud Code) and log-in / sign-up / linking with `authData`,
`/loginAs`, and the e-mail verification mail and link.

The user paths (users.py) call in here at clearly marked hook points; nothing here imports users.py.
"""
