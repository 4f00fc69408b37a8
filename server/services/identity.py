"""Use cases of identity and tenancy: jurisdictions, enterprises, users and their permissions.

Who may create what:
- admin: everything;
- supervisor: enterprises, inspectors, supervisors and enterprise users inside their own
  jurisdiction;
- enterprise manager: workers of their own enterprise;
- inspector, worker: nobody.
Anything referenced outside the caller's scope is "not found", never "forbidden".

Every change is audited (server.services.audit) once it is written, in the chain of the
object's jurisdiction (admins: the system chain).
"""

from __future__ import annotations

from datetime import datetime

from mongoengine import NotUniqueError

from checklists.regime import REGIMES, industries
from server.actor import ENTERPRISE_ROLES, REGULATOR_ROLES, Actor, Role
from server.errors import Conflict, Forbidden, RuleViolation
from server.models.enterprise import Enterprise
from server.models.jurisdiction import Jurisdiction
from server.models.scoping import get_or_404, parse_object_id
from server.models.updates import set_changes
from server.models.user import User
from server.services import credit_code
from server.services.audit import record
from server.services.auth import revoke_all
from server.services.login_throttle import LoginThrottle
from server.services.passwords import hash_password, verify_password

#: NIST SP 800-63B: at least 8 characters; no composition rules. The cap bounds hashing cost.
PASSWORD_LENGTH = (8, 256)

#: Roles each role may create (admins: all).
CREATABLE_ROLES = {
    Role.SUPERVISOR: frozenset(Role) - {Role.ADMIN},
    Role.ENTERPRISE_MANAGER: frozenset({Role.WORKER}),
}


def create_jurisdiction(actor: Actor, *, code: str, name: str, now: datetime) -> Jurisdiction:
    _require(actor.is_admin, "only an admin creates jurisdictions")
    try:
        jurisdiction = Jurisdiction(code=code, name=name, created_at=now).save(force_insert=True)
    except NotUniqueError:
        raise Conflict(f"jurisdiction {code} exists already") from None
    record.record(
        actor,
        "jurisdiction.create",
        "jurisdiction",
        jurisdiction.id,
        before=None,
        after=jurisdiction,
        now=now,
        chain=jurisdiction.id,
        key=f"jurisdiction.create:{jurisdiction.id}",
    )
    return jurisdiction


def create_enterprise(actor: Actor, *, jurisdiction_id, now: datetime, **fields) -> Enterprise:
    """Register an enterprise; its credit code is validated including the check character."""
    _require(
        actor.is_admin or actor.role is Role.SUPERVISOR,
        "only an admin or a supervisor registers enterprises",
    )
    jurisdiction = get_or_404(
        Jurisdiction.objects.for_actor(actor), jurisdiction_id, "jurisdiction"
    )
    fields["credit_code"] = _valid_credit_code(fields["credit_code"])
    _check_industry(fields.get("industry_code"))
    if fields.get("poisoning_risk") is not None:
        _require(actor.is_admin, "only an admin sets the poisoning risk")
        fields.update(poisoning_risk_stated=fields["poisoning_risk"], poisoning_risk_from="admin")
    enterprise = Enterprise(
        jurisdiction_id=jurisdiction.id,
        created_at=now,
        updated_at=now,
        regime=industries().regime_of(fields.get("industry_code")),
        **fields,
    )
    try:
        enterprise.save(force_insert=True)
    except NotUniqueError:
        raise Conflict(f"an enterprise with credit code {fields['credit_code']} exists") from None
    record.record(
        actor,
        "enterprise.create",
        "enterprise",
        enterprise.id,
        before=None,
        after=enterprise,
        now=now,
        chain=enterprise.jurisdiction_id,
        key=f"enterprise.create:{enterprise.id}",
    )
    return enterprise


def update_enterprise(
    actor: Actor, enterprise: Enterprise, *, now: datetime, **changes
) -> Enterprise:
    """Change an enterprise's details; refuses to overwrite a concurrent change."""
    _require(
        actor.is_admin or actor.role is Role.SUPERVISOR,
        "only an admin or a supervisor edits enterprises",
    )
    if "credit_code" in changes:
        changes["credit_code"] = _valid_credit_code(changes["credit_code"])
    if "poisoning_risk" in changes:
        _require(actor.is_admin, "only an admin sets the poisoning risk")
        if enterprise.poisoning_risk_from == "ledger":
            raise Conflict(
                "the poisoning risk follows the gases of the spaces in its ledger; "
                "change the spaces' gases instead"
            )
        stated = changes["poisoning_risk"]
        changes["poisoning_risk_stated"] = stated
        changes["poisoning_risk_from"] = None if stated is None else "admin"
    _check_industry(changes.get("industry_code"))
    if "industry_code" in changes and not enterprise.regime_override:
        changes["regime"] = industries().regime_of(changes["industry_code"])
    updates = set_changes(changes)
    try:
        n = Enterprise.objects(id=enterprise.id, version=enterprise.version).update_one(
            **updates, set__updated_at=now, inc__version=1
        )
    except NotUniqueError:
        raise Conflict(f"an enterprise with credit code {changes['credit_code']} exists") from None
    if n != 1:
        raise Conflict("the enterprise was changed by someone else; reload and retry")
    updated = Enterprise.objects.get(id=enterprise.id)
    # `enterprise` is the state the compare-and-set matched on `version`: the state before.
    record.record(
        actor,
        "enterprise.update",
        "enterprise",
        updated.id,
        before=enterprise,
        after=updated,
        now=now,
        chain=updated.jurisdiction_id,
    )
    if effective_regime(updated) != effective_regime(enterprise):
        _audit_regime(actor, enterprise, updated, now)
    return updated


def classify_industries(*, now: datetime) -> tuple[int, list[Enterprise]]:
    """Give every enterprise registered before the controlled list its industry code where
    its free-text industry names one exactly (`Industries.match`), and its regime with it
    unless an admin overrode that; audited as a system `enterprise.update`. Returns how many
    were classified and the enterprises left for an admin to classify (they are inspected
    under the default regime, their majors "to be confirmed"). Idempotent: `init-db` runs it."""
    listed = industries()
    classified, left = 0, []
    for enterprise in Enterprise.objects(industry_code=None):
        industry = listed.match(enterprise.industry)
        if industry is None:
            left.append(enterprise)
            continue
        changes = {"industry_code": industry.code}
        if not enterprise.regime_override:
            changes["regime"] = industry.regime
        n = Enterprise.objects(id=enterprise.id, version=enterprise.version).update_one(
            **set_changes(changes), set__updated_at=now, inc__version=1
        )
        if n != 1:
            continue  # changed meanwhile: the next run looks again
        classified += 1
        record.record(
            None,
            "enterprise.update",
            "enterprise",
            enterprise.id,
            before=enterprise,
            after=Enterprise.objects.get(id=enterprise.id),
            now=now,
            chain=enterprise.jurisdiction_id,
        )
    return classified, left


def effective_regime(enterprise: Enterprise) -> str:
    """The regime an enterprise is inspected under (legacy records: their industry's)."""
    return enterprise.regime or industries().regime_of(enterprise.industry_code)


def set_regime(
    actor: Actor, enterprise: Enterprise, *, regime: str | None, reason: str, now: datetime
) -> Enterprise:
    """An admin's override of the regime its industry gives (None: back to the industry's),
    with the reason; audited as `enterprise.regime`. Inspections already made keep theirs."""
    _require(actor.is_admin, "only an admin overrides an enterprise's regime")
    if regime is not None and regime not in REGIMES:
        raise _field_error("regime", f"must be one of {', '.join(REGIMES)}")
    if not reason.strip():
        raise _field_error("reason", "say why the regime differs from the industry's")
    default = industries().regime_of(enterprise.industry_code)
    override = (
        None
        if regime is None
        else {"regime": regime, "reason": reason, "by": str(actor.user_id), "at": now}
    )
    n = Enterprise.objects(id=enterprise.id, version=enterprise.version).update_one(
        set__regime=regime or default,
        set__regime_override=override,
        set__updated_at=now,
        inc__version=1,
    )
    if n != 1:
        raise Conflict("the enterprise was changed by someone else; reload and retry")
    updated = Enterprise.objects.get(id=enterprise.id)
    _audit_regime(actor, enterprise, updated, now)
    return updated


def _audit_regime(actor: Actor, before: Enterprise, after: Enterprise, now: datetime) -> None:
    record.record(
        actor,
        "enterprise.regime",
        "enterprise",
        after.id,
        before=before,
        after=after,
        now=now,
        chain=after.jurisdiction_id,
        key=f"enterprise.regime:{after.id}:{after.version}",
    )


def create_user(
    actor: Actor,
    *,
    username: str,
    password: str,
    display_name: str,
    role: str,
    now: datetime,
    password_profile: str,
    jurisdiction_id=None,
    enterprise_id=None,
) -> User:
    """Create a user anchored in a jurisdiction or an enterprise, as their role requires."""
    role = Role(role)
    allowed = frozenset(Role) if actor.is_admin else CREATABLE_ROLES.get(actor.role, frozenset())
    _require(role in allowed, f"a {actor.role} may not create {role} users")
    _check_password(password)
    jurisdiction, enterprise = _anchor(actor, role, jurisdiction_id, enterprise_id)
    user = User(
        username=username.strip().lower(),
        display_name=display_name,
        role=role.value,
        password_hash=hash_password(password, password_profile),
        jurisdiction_id=jurisdiction,
        enterprise_id=enterprise,
        created_at=now,
        updated_at=now,
    )
    try:
        user.save(force_insert=True)
    except NotUniqueError:
        raise Conflict(f"username {user.username} is taken") from None
    record.record(
        actor,
        "user.create",
        "user",
        user.id,
        before=None,
        after=user,
        now=now,
        chain=user.jurisdiction_id,
        key=f"user.create:{user.id}",
    )
    return user


def update_user(actor: Actor, user: User, *, now: datetime, **changes) -> User:
    """Rename or disable/enable a user in the caller's scope; disabling revokes all their
    tokens at once. Passwords change only through `change_password` and `reset_password`."""
    if actor.user_id != user.id:
        _require_manages(actor, user)
    elif "active" in changes:
        raise Forbidden("you cannot disable or enable your own account")
    updates = {}
    if "display_name" in changes:
        updates["set__display_name"] = changes["display_name"]
    if "active" in changes:
        updates["set__active"] = changes["active"]
    n = User.objects(id=user.id, version=user.version).update_one(
        **updates, set__updated_at=now, inc__version=1
    )
    if n != 1:
        raise Conflict("the user was changed by someone else; reload and retry")
    updated = User.objects.get(id=user.id)
    record.record(
        actor,
        "user.update",
        "user",
        user.id,
        before=user,
        after=updated,
        now=now,
        chain=user.jurisdiction_id,
    )
    if changes.get("active") is False:
        revoke_all(updated, actor=actor, now=now)
    return updated


def change_password(
    actor: Actor,
    user: User,
    *,
    current_password: str,
    new_password: str,
    now: datetime,
    password_profile: str,
    throttle: LoginThrottle,
    client_ip: str,
) -> User:
    """A user chooses a new password, proving they know the current one: a stolen bearer
    token alone never becomes a lasting takeover. Wrong guesses count against the same
    throttle as failed logins. Every token of the user is revoked (they log in again)."""
    _require(actor.user_id == user.id, "a password is changed by its own user; others reset it")
    # Counted before the check, atomically, as a login is: a burst gets no more guesses.
    attempt = throttle.reserve(user.username, client_ip, now=now)
    if not verify_password(user.password_hash, current_password):
        raise Forbidden(
            "the current password is wrong",
            reasons=[{"code": "CURRENT_PASSWORD_WRONG"}],
        )
    attempt.succeeded()
    if new_password == current_password:
        raise _field_error("new_password", "choose a password different from the current one")
    return _set_password(
        actor,
        user,
        new_password,
        now=now,
        profile=password_profile,
        must_change=False,
        action="user.password_change",
    )


def reset_password(
    actor: Actor, user: User, *, temporary_password: str, now: datetime, password_profile: str
) -> User:
    """Someone who manages a user (an admin; a supervisor for their jurisdiction's people; a
    manager for their workers) gives them a temporary password, which they must replace at
    their next login. Every token of the user is revoked."""
    _require(actor.user_id != user.id, "change your own password with your current one")
    _require_manages(actor, user)
    return _set_password(
        actor,
        user,
        temporary_password,
        now=now,
        profile=password_profile,
        must_change=True,
        action="user.password_reset",
    )


def _set_password(actor, user, password, *, now, profile, must_change, action) -> User:
    _check_password(password)
    n = User.objects(id=user.id, version=user.version).update_one(
        set__password_hash=hash_password(password, profile),
        set__must_change_password=must_change,
        set__password_changed_at=now,
        set__updated_at=now,
        inc__version=1,
    )
    if n != 1:
        raise Conflict("the user was changed by someone else; reload and retry")
    updated = User.objects.get(id=user.id)
    record.record(
        actor,
        action,
        "user",
        user.id,
        before=user,
        after=updated,
        now=now,
        chain=user.jurisdiction_id,
    )
    revoke_all(updated, actor=actor, now=now)
    return updated


def _require_manages(actor: Actor, user: User) -> None:
    allowed = frozenset(Role) if actor.is_admin else CREATABLE_ROLES.get(actor.role, frozenset())
    _require(Role(user.role) in allowed, f"a {actor.role} may not change {user.role} users")


def _anchor(actor: Actor, role: Role, jurisdiction_id, enterprise_id):
    """The (jurisdiction, enterprise) ids a new user of `role` belongs to, checked in scope."""
    if role is Role.ADMIN:
        return None, None
    if role in REGULATOR_ROLES:
        if enterprise_id is not None:
            raise _field_error("enterprise_id", f"a {role} belongs to a jurisdiction, not a firm")
        if jurisdiction_id is None:
            jurisdiction_id = actor.jurisdiction_id
        if jurisdiction_id is None:
            raise _field_error("jurisdiction_id", f"a {role} needs a jurisdiction")
        found = get_or_404(Jurisdiction.objects.for_actor(actor), jurisdiction_id, "jurisdiction")
        return found.id, None
    assert role in ENTERPRISE_ROLES
    if enterprise_id is None:
        enterprise_id = actor.enterprise_id
    if enterprise_id is None:
        raise _field_error("enterprise_id", f"a {role} needs an enterprise")
    enterprise = get_or_404(Enterprise.objects.for_actor(actor), enterprise_id, "enterprise")
    if (
        jurisdiction_id is not None
        and parse_object_id(jurisdiction_id) != enterprise.jurisdiction_id
    ):
        raise _field_error("jurisdiction_id", "does not match the enterprise's jurisdiction")
    return enterprise.jurisdiction_id, enterprise.id


def _check_password(password: str) -> None:
    low, high = PASSWORD_LENGTH
    if not low <= len(password) <= high:
        raise _field_error("password", f"must be {low} to {high} characters")


def _valid_credit_code(code: str) -> str:
    try:
        return credit_code.validate(code)
    except credit_code.InvalidCreditCode as exc:
        raise _field_error("credit_code", str(exc)) from None


def _check_industry(code: str | None) -> None:
    if code is not None and industries().get(code) is None:
        raise _field_error("industry_code", f"{code!r} is not in the industry list")


def _field_error(field: str, message: str) -> RuleViolation:
    return RuleViolation(f"{field}: {message}", errors=[{"field": field, "messages": [message]}])


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise Forbidden(message)
