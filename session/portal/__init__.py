"""The Help + Support service (`pep serve --portal HOST:PORT`): its JSON API, sign-in and the page.

On the session floor beside the PSRP listener; only pep/ and session/listener/server.py import it.
session/portal/service.py is the entry point (Portal, PortalThread, parse_address).
"""
