"""Who may do what on the appliance: the staff roles, each capability a staff route needs and the roles that hold it.
Routes name their capability (`needs`), the staff pages hide what a role may not use (`allowed`), and the README's
role matrix is made from this table (`matrix_markdown`), so the three cannot drift apart."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

FRONTLINER, LIBRARIAN, ADMIN = ROLES = ("frontliner", "librarian", "admin")


@dataclass(frozen=True)
class Capability:
    roles: tuple[str, ...]
    covers: str  # what the capability covers, for the README


CAPABILITIES = {
    "desk": Capability(ROLES, "the console and the queue (call, ticket steps, issue), the day's visits, sync and "
                              "alert status, lockers' custody of ID cards and a locker alert's acknowledgement, "
                              "checkout, a visitor's fetch and softcopy requests, recording a visitor's complaint"),
    "library": Capability((LIBRARIAN, ADMIN), "the storage room's fetch queue and its steps (fetched, handed over, "
                                              "returned, not available, cancelled), counting in-house use"),
    "locker_service": Capability((ADMIN,), "taking a locker out of service and back"),
    "complaints": Capability((ADMIN,), "the complaint queue (complainants' contacts) and its answers and status"),
    "reports": Capability((ADMIN,), "the service report, the IKM pages and every export (CSV, XLSX, PDF)"),
    "audit": Capability((ADMIN,), "the audit trail"),
    "privacy": Capability((ADMIN,), "a person's export and erasure"),
}


def needs(capability: str) -> dict:
    """The `opt` of a staff route: `@get(..., guards=[staff_only], opt=needs("reports"))`."""
    if capability not in CAPABILITIES:
        raise KeyError(f"no capability {capability!r}; one of {', '.join(CAPABILITIES)}")
    return {"capability": capability}


def allowed(role: str | None, capability: str | None) -> bool:
    """Whether `role` holds `capability`; a route that names none is refused to everyone."""
    found = CAPABILITIES.get(capability) if capability else None
    return found is not None and role in found.roles


def matrix_markdown(routes: Iterable[tuple[str, str, str]]) -> str:
    """The README's table: one row per capability, a column per role, then its routes ("METHOD path", capability)."""
    by_capability: dict[str, list[str]] = {name: [] for name in CAPABILITIES}
    for method, path, capability in sorted(routes, key=lambda route: (route[1], route[0])):
        by_capability[capability].append(f"`{method} {path}`")
    lines = [f"| capability | {' | '.join(ROLES)} | covers | routes |", f"|---|{'---|' * len(ROLES)}---|---|"]
    for name, capability in CAPABILITIES.items():
        marks = " | ".join("✓" if role in capability.roles else "—" for role in ROLES)
        lines.append(f"| `{name}` | {marks} | {capability.covers} | {', '.join(by_capability[name])} |")
    return "\n".join(lines) + "\n"
