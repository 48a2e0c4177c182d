"""Who may change places — every rule of the domain in one place. The use cases call these
(so GraphQL, the import and the CLI share them); README "Permissions" lists them."""

from __future__ import annotations

from backend.accounts.permissions import require_region_editor, require_user
from backend.accounts.principal import Forbidden, Principal
from backend.places.models import Place


def require_place_editor(principal: Principal, place: Place) -> str:
    """Change, archive, restore a place or the items it handles: editors of a region holding
    it (a province covers its cities and counties, a city its counties) and admins."""
    return require_region_editor(principal, [place.county_code, place.city_code,
                                             place.province_code])


def require_county_editor(principal: Principal, county_code: str) -> str:
    """Put a place in a county (create it there, or move it there): editors of a region
    covering the county, and admins."""
    return require_region_editor(principal, [county_code])


def require_some_editor(principal: Principal) -> str:
    """Create a place (the county it names then decides): an editor of some region, or an
    admin."""
    uid = require_user(principal)
    if not principal.is_admin and not principal.edited_regions():
        raise Forbidden("只有内容编辑可以新建地点")
    return uid
