"""GraphQL: a schema generated from the live class schemas (parse-server's shape), served at `/graphql`.

Every resolver reads and writes through `data.py`, the one adapter onto the objects/users/cloud path REST uses, so
permissions, hooks and validation are those of REST by construction."""
