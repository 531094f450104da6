"""The service. `unstract` is shared with Unstract's own client (`unstract-client` installs
`unstract.api_deployments`), so the package path is extended to find such portions too."""

from pkgutil import extend_path

__path__ = extend_path(__path__, __name__)
