"""`python -m leadclock.api [--host H] [--port P] [--db URL] [--create-token ROLE --name N]`.

Serves the API with uvicorn over LEADCLOCK_DATABASE_URL (or --db); settings come from LEADCLOCK_*
variables (`ApiSettings.from_env`). `--create-token` prints a new token and exits: the first admin
token has to come from somewhere other than the API.
"""

from __future__ import annotations

import argparse

from leadclock.api.app import create_app
from leadclock.api.auth import create_token
from leadclock.api.settings import ApiSettings
from leadclock.store import Store, database_url


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m leadclock.api", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--db", default=None, help="SQLite path or database URL (default: LEADCLOCK_DATABASE_URL)")
    parser.add_argument("--create-token", metavar="ROLE", help="print a new token of this role and exit")
    parser.add_argument("--name", default="", help="the new token's name")
    parser.add_argument("--team", default=None)
    parser.add_argument("--rep", default=None)
    args = parser.parse_args(argv)
    url = database_url(args.db)
    if args.create_token:
        with Store(url) as store:
            store.upgrade()
            print(create_token(store, args.create_token, team=args.team, rep=args.rep, name=args.name))
        return
    import uvicorn

    from leadclock.service.heap import settle_heap

    app = create_app(url, settings=ApiSettings.from_env())
    settle_heap()  # start-up is over: see service/heap.py
    uvicorn.run(app, host=args.host, port=args.port)


if __name__ == "__main__":
    main()
