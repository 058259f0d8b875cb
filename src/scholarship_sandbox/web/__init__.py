"""The B2C web front end over the same contract: server-rendered pages, small script files.

`router` serves the pages (docs/api-contract.md, "Web pages"); their scripts call the
product API like any browser client (cookie session, CSRF double-submit). Pages are left
out of the OpenAPI document: it describes the API the schemas enforce.
"""

from .pages import router

__all__ = ["router"]
