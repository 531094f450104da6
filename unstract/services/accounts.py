"""Organizations, users, memberships and API keys (the models of org_user.py; the CLI's commands)."""

from __future__ import annotations

from sqlalchemy import Select, delete, select
from werkzeug.security import check_password_hash, generate_password_hash

from unstract import errors
from unstract.extensions import db
from unstract.models import ApiKey, ApiKeyPermission, Organization, OrgMembership, OrgRole, User
from unstract.models.org_user import KEY_NAME_MAX
from unstract.policy import ORG_ID_PATTERN, Requester, generate_api_key, hash_api_key
from unstract.services import user_sessions

MIN_PASSWORD_LENGTH = 8
PASSWORD_METHOD = "scrypt"
# Checked against when the email is unknown, so both paths cost one KDF evaluation.
_DUMMY_HASH = generate_password_hash("timing-equaliser-not-a-password")


def password_hash(password: str, method: str = PASSWORD_METHOD) -> str:
    """scrypt by default; the test fixtures pass a cheaper method to keep their setup fast."""
    return generate_password_hash(password, method=method)


def normalize_email(email: str) -> str:
    return email.strip().lower()


def create_org(org_id: str, name: str | None = None) -> Organization:
    if not ORG_ID_PATTERN.match(org_id or ""):
        raise errors.ValidationFailed(f"Invalid organization id '{org_id}'.", attr="org_id")
    if db.session.scalar(select(Organization).where(Organization.org_id == org_id)):
        raise errors.Conflict(f"Organization '{org_id}' already exists.")
    org = Organization(org_id=org_id, name=name or org_id)
    db.session.add(org)
    db.session.commit()
    return org


def get_org(org_id: str) -> Organization:
    org = db.session.scalar(select(Organization).where(Organization.org_id == org_id))
    if org is None:
        raise errors.NotFound(f"Organization '{org_id}' does not exist.")
    return org


def find_user(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalize_email(email)))


def check_password_length(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise errors.ValidationFailed(f"Password must have at least {MIN_PASSWORD_LENGTH} characters.")


def add_user(email: str, password: str, org_id: str, role: str = OrgRole.MEMBER, *,
             commit: bool = True, password_method: str = PASSWORD_METHOD) -> User:
    """New email: user + membership. Existing non-member: membership only (password unchanged)."""
    check_password_length(password)
    if role not in (OrgRole.ADMIN, OrgRole.MEMBER):
        raise errors.ValidationFailed(f'"{role}" is not a valid choice.', code="invalid_choice", attr="role")
    org = get_org(org_id)
    user = find_user(email)
    if user is None:
        user = User(email=normalize_email(email), password_hash=password_hash(password, password_method))
        db.session.add(user)
        db.session.flush()
    elif db.session.scalar(select(OrgMembership).where(
            OrgMembership.user_id == user.id, OrgMembership.organization_id == org.id)):
        raise errors.Conflict(f"User '{user.email}' is already a member of '{org_id}'.")
    db.session.add(OrgMembership(organization_id=org.id, user_id=user.id, role=role))
    if commit:
        db.session.commit()
    return user


def existing_user(email: str) -> User:
    user = find_user(email)
    if user is None:
        raise errors.NotFound(f"User '{email}' does not exist.")
    return user


def set_password(email: str, password: str, *, password_method: str = PASSWORD_METHOD) -> User:
    """Replace the user's password and end every session they have (a stolen cookie dies with the old
    password)."""
    check_password_length(password)
    user = existing_user(email)
    user.password_hash = password_hash(password, password_method)
    user_sessions.revoke_all(user)
    db.session.commit()
    return user


def remove_member(org_id: str, email: str) -> None:
    """Take the user out of the organization: the membership and the user's API keys there go, and every
    session of the user ends (a session could otherwise keep acting in the org until it expires)."""
    org = get_org(org_id)
    user = existing_user(email)
    member = membership(user, org)
    if member is None:
        raise errors.NotFound(f"User '{user.email}' is not a member of '{org_id}'.")
    db.session.delete(member)
    # Keys are tied to the org; left in place they would work again if the user were added back.
    db.session.execute(delete(ApiKey).where(ApiKey.user_id == user.id, ApiKey.organization_id == org.id))
    user_sessions.revoke_all(user)
    db.session.commit()


def create_api_key(org_id: str, email: str, permission: str = ApiKeyPermission.READ_WRITE, name: str = "") -> str:
    """Store the key's digest (and its optional name) and return the plaintext, which is never shown again."""
    if permission not in tuple(ApiKeyPermission):
        raise errors.ValidationFailed(f'"{permission}" is not a valid choice.', code="invalid_choice")
    name = clean_key_name(name)
    org = get_org(org_id)
    user = find_user(email)
    if user is None or membership(user, org) is None:
        raise errors.NotFound(f"User '{email}' is not a member of '{org_id}'.")
    plaintext = generate_api_key()
    db.session.add(ApiKey(organization_id=org.id, user_id=user.id, permission=permission, name=name,
                          key_hash=hash_api_key(plaintext), key_prefix=plaintext[:8]))
    db.session.commit()
    return plaintext


def clean_key_name(name: str | None) -> str:
    """An API key's name trimmed; too long or with control characters -> 400 on `name`."""
    text = (name or "").strip()
    if len(text) > KEY_NAME_MAX:
        raise errors.field_error("name", "max_length", f"Ensure this field has no more than {KEY_NAME_MAX} characters.")
    if any(ord(char) < 32 or ord(char) == 127 for char in text):
        raise errors.field_error("name", "invalid", "A key name cannot contain control characters.")
    return text


def verify_password(email: str, password: str) -> User | None:
    user = find_user(email)
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    return user if check_password_hash(user.password_hash, password) else None


def membership(user: User, org: Organization) -> OrgMembership | None:
    return db.session.scalar(select(OrgMembership).where(
        OrgMembership.user_id == user.id, OrgMembership.organization_id == org.id))


def memberships_of(user: User) -> list[OrgMembership]:
    query = (select(OrgMembership).join(Organization)
             .where(OrgMembership.user_id == user.id).order_by(Organization.org_id))
    return list(db.session.scalars(query))


def default_requester(user: User, org_id: str | None = None) -> Requester | None:
    """The user acting in `org_id`, or in their first organization when none is named."""
    for row in memberships_of(user):
        if org_id is None or row.organization.org_id == org_id:
            return Requester(user=user, org=row.organization, role=row.role)
    return None


MEMBER_ORDERING = {"email": User.email, "created_at": OrgMembership.created_at}


def members_query(who: Requester) -> Select:
    """Members of the requester's org as (User, OrgMembership) rows; the caller orders them (MEMBER_ORDERING)."""
    return (select(User, OrgMembership).join(OrgMembership, OrgMembership.user_id == User.id)
            .where(OrgMembership.organization_id == who.org.id))


def present_member(row) -> dict:
    user, member = row
    return {"id": user.id, "email": user.email, "role": member.role}
