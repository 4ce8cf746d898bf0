//! What the store holds, as its operations return it.

use serde::Serialize;

/// A tag.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Tag {
    /// The key (unique per entity, ignoring case).
    pub key: String,
    /// The value.
    pub value: String,
}

/// An IAM user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct User {
    /// The name.
    pub name: String,
    /// The unique ID (`AIDA...`).
    pub id: String,
    /// The path.
    pub path: String,
    /// The ARN.
    pub arn: String,
    /// When it was created (milliseconds since the epoch).
    pub created_at: i64,
    /// The permissions boundary's policy ARN.
    pub permissions_boundary: Option<String>,
    /// The tags, sorted by key.
    pub tags: Vec<Tag>,
}

/// An IAM group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Group {
    /// The name.
    pub name: String,
    /// The unique ID (`AGPA...`).
    pub id: String,
    /// The path.
    pub path: String,
    /// The ARN.
    pub arn: String,
    /// When it was created.
    pub created_at: i64,
}

/// An IAM role (or service-linked role).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Role {
    /// The name.
    pub name: String,
    /// The unique ID (`AROA...`).
    pub id: String,
    /// The path (`/aws-service-role/SERVICE/` for service-linked roles).
    pub path: String,
    /// The ARN.
    pub arn: String,
    /// When it was created.
    pub created_at: i64,
    /// The trust policy, as stored.
    pub trust_policy: String,
    /// The description.
    pub description: Option<String>,
    /// The maximum session duration in seconds.
    pub max_session_duration: i64,
    /// The permissions boundary's policy ARN.
    pub permissions_boundary: Option<String>,
    /// The tags, sorted by key.
    pub tags: Vec<Tag>,
    /// The service principal, for a service-linked role.
    pub service_linked: Option<String>,
}

/// A managed policy, provider- or customer-managed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ManagedPolicy {
    /// The name.
    pub name: String,
    /// The unique ID (`ANPA...`).
    pub id: String,
    /// The ARN (`arn:aws:iam::aws:policy/...` for provider-managed policies).
    pub arn: String,
    /// The path.
    pub path: String,
    /// The default version (`v3`).
    pub default_version_id: String,
    /// Attachments to users, groups and roles (of the asking account, for provider policies).
    pub attachment_count: i64,
    /// Uses as a permissions boundary (of the asking account, for provider policies).
    pub boundary_usage_count: i64,
    /// Whether it can be attached (always true here).
    pub is_attachable: bool,
    /// The description.
    pub description: Option<String>,
    /// When it was created.
    pub created_at: i64,
    /// When its newest version was created.
    pub updated_at: i64,
    /// Whether the provider manages it (read-only to every account).
    pub provider: bool,
    /// The tags, sorted by key (always empty for provider policies).
    pub tags: Vec<Tag>,
}

/// A version of a managed policy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PolicyVersion {
    /// `v1`, `v2`, ...
    pub version_id: String,
    /// The document, when asked for.
    pub document: Option<String>,
    /// Whether it is the default version.
    pub is_default: bool,
    /// When it was created.
    pub created_at: i64,
    /// For provider policies: the published change description.
    pub change_description: Option<String>,
}

/// An access key (the secret only when just created).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AccessKey {
    /// The user it belongs to.
    pub user_name: String,
    /// The key ID (`AKIA...`).
    pub id: String,
    /// `Active` or `Inactive`.
    pub status: String,
    /// The secret, returned once, at creation.
    #[serde(skip)]
    pub secret: Option<String>,
    /// When it was created.
    pub created_at: i64,
}

/// The kind of principal an attachment, inline policy or tag belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum PrincipalKind {
    /// A user.
    User,
    /// A group.
    Group,
    /// A role.
    Role,
}

impl PrincipalKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            PrincipalKind::User => "user",
            PrincipalKind::Group => "group",
            PrincipalKind::Role => "role",
        }
    }

    /// The name field in messages (`userName`).
    pub(crate) fn field(self) -> &'static str {
        match self {
            PrincipalKind::User => "userName",
            PrincipalKind::Group => "groupName",
            PrincipalKind::Role => "roleName",
        }
    }

    pub(crate) fn max_name(self) -> usize {
        match self {
            PrincipalKind::Group => 128,
            _ => 64,
        }
    }

    /// AWS's "cannot be found" message.
    pub(crate) fn not_found(self, name: &str) -> String {
        format!("The {} with name {name} cannot be found.", self.as_str())
    }
}
