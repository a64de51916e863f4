"""The Studio: Atelier's web interface, server-drawn pages over the same services, roles
and tokens as the REST API (``atelier server start`` serves it at ``/``; ``atelier
studio`` serves it for a local home).

- :mod:`atelier.studio.site` — ``create_site`` / ``mount_studio`` / ``serve_local``
- :mod:`atelier.studio.security` — who a page acts for: Bearer header or session cookie,
  the route's rule, CSRF, and the security headers of every answer
"""

from __future__ import annotations

__all__: list[str] = []
