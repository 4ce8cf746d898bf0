//! The request: who calls, what action on what resource, and the context keys.

use std::fmt;

use smallvec::SmallVec;

use crate::value::Value;

/// The kind of principal that makes a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum PrincipalType {
    /// The account's root user (`arn:aws:iam::ACCOUNT:root`).
    Root,
    /// An IAM user.
    User,
    /// An IAM role acting as itself (as the simulator evaluates a role).
    Role,
    /// A session of a role (`arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`).
    AssumedRole,
    /// A federated user session (`arn:aws:sts::ACCOUNT:federated-user/NAME`).
    FederatedUser,
    /// A service principal (`q.amazonaws.com`).
    Service,
    /// An unauthenticated caller.
    Anonymous,
}

impl PrincipalType {
    /// The value of `aws:PrincipalType`.
    pub fn context_value(self) -> Option<&'static str> {
        match self {
            PrincipalType::Root => Some("Account"),
            PrincipalType::User => Some("User"),
            PrincipalType::Role | PrincipalType::AssumedRole => Some("AssumedRole"),
            PrincipalType::FederatedUser => Some("FederatedUser"),
            PrincipalType::Anonymous => Some("Anonymous"),
            PrincipalType::Service => None,
        }
    }

    /// Whether the principal is a temporary session (session policies apply to it).
    pub fn is_session(self) -> bool {
        matches!(
            self,
            PrincipalType::AssumedRole | PrincipalType::FederatedUser
        )
    }
}

/// A principal that cannot be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrincipalError {
    /// The text that was given.
    pub text: String,
}

impl fmt::Display for PrincipalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot read principal {:?}: expected arn:aws:iam::ACCOUNT:root, an IAM user or role \
             ARN, arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION, \
             arn:aws:sts::ACCOUNT:federated-user/NAME, a service principal such as \
             q.amazonaws.com, or anonymous",
            self.text
        )
    }
}

impl std::error::Error for PrincipalError {}

/// The principal of a request, read from its ARN.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestPrincipal {
    kind: PrincipalType,
    arn: Box<str>,
    partition: Box<str>,
    account: Box<str>,
    /// User name, role name, federated user name, or service name.
    name: Box<str>,
    /// For sessions: the session name.
    session: Box<str>,
    /// For roles and sessions: the role's ARN (`aws:PrincipalArn`).
    role_arn: Option<Box<str>>,
    /// The path of a user or role (`/` when not known).
    path: Box<str>,
    id: Option<Box<str>>,
}

impl RequestPrincipal {
    /// Reads a principal: an IAM ARN (root, user, role, assumed-role session, federated user),
    /// a service principal (`name.amazonaws.com`), or `anonymous` / `*`.
    pub fn parse(text: &str) -> Result<RequestPrincipal, PrincipalError> {
        let err = || PrincipalError { text: text.into() };
        let t = text.trim();
        let base = |kind, arn: &str, partition: &str, account: &str, name: &str| RequestPrincipal {
            kind,
            arn: arn.into(),
            partition: partition.into(),
            account: account.into(),
            name: name.into(),
            session: "".into(),
            role_arn: None,
            path: "/".into(),
            id: None,
        };
        if t == "*" || t.eq_ignore_ascii_case("anonymous") {
            return Ok(base(PrincipalType::Anonymous, "anonymous", "aws", "", ""));
        }
        if !t.starts_with("arn:") {
            if t.contains('.') && !t.contains(':') && !t.contains('/') {
                return Ok(base(PrincipalType::Service, t, "aws", "", t));
            }
            return Err(err());
        }
        let mut fields = t.splitn(6, ':');
        let (_, partition, service, region, account, resource) = (
            fields.next(),
            fields.next().ok_or_else(err)?,
            fields.next().ok_or_else(err)?,
            fields.next().ok_or_else(err)?,
            fields.next().ok_or_else(err)?,
            fields.next().ok_or_else(err)?,
        );
        if !region.is_empty() || account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(err());
        }
        let rest = resource.split_once('/').map_or("", |(_, rest)| rest);
        let (path, name) = match rest.rfind('/') {
            Some(i) => (
                format!("/{}", rest.get(..=i).unwrap_or("")),
                rest.get(i + 1..).unwrap_or("").to_string(),
            ),
            None => ("/".to_string(), rest.to_string()),
        };
        let name_ok = !name.is_empty();
        match (service, resource.split_once('/')) {
            ("iam", None) if resource == "root" => {
                Ok(base(PrincipalType::Root, t, partition, account, ""))
            }
            ("iam", Some(("user", _))) if name_ok => {
                let mut p = base(PrincipalType::User, t, partition, account, &name);
                p.path = path.into();
                Ok(p)
            }
            ("iam", Some(("role", _))) if name_ok => {
                let mut p = base(PrincipalType::Role, t, partition, account, &name);
                p.path = path.into();
                p.role_arn = Some(t.into());
                Ok(p)
            }
            ("sts", Some(("assumed-role", rest))) => {
                let (role, session) = rest.split_once('/').ok_or_else(err)?;
                if role.is_empty() || session.is_empty() || session.contains('/') {
                    return Err(err());
                }
                let mut p = base(PrincipalType::AssumedRole, t, partition, account, role);
                p.session = session.into();
                p.role_arn = Some(format!("arn:{partition}:iam::{account}:role/{role}").into());
                Ok(p)
            }
            ("sts", Some(("federated-user", rest))) if !rest.is_empty() && !rest.contains('/') => {
                Ok(base(
                    PrincipalType::FederatedUser,
                    t,
                    partition,
                    account,
                    rest,
                ))
            }
            _ => Err(err()),
        }
    }

    /// Gives the role's ARN for a session, when it has a path that the session ARN does not
    /// show (`arn:aws:iam::ACCOUNT:role/path/NAME`).
    pub fn with_role_arn(mut self, role_arn: &str) -> RequestPrincipal {
        if let Some(i) = role_arn.find(":role/") {
            let after = role_arn.get(i + 6..).unwrap_or("");
            if let Some(slash) = after.rfind('/') {
                self.path = format!("/{}", after.get(..=slash).unwrap_or("")).into();
            }
        }
        self.role_arn = Some(role_arn.into());
        self
    }

    /// Gives the unique ID (`AIDA...`, `AROA...`), which `aws:userid` is built from.
    pub fn with_id(mut self, id: &str) -> RequestPrincipal {
        self.id = Some(id.into());
        self
    }

    /// The kind of principal.
    pub fn kind(&self) -> PrincipalType {
        self.kind
    }

    /// The ARN as given (the session ARN for sessions).
    pub fn arn(&self) -> &str {
        &self.arn
    }

    /// The account the principal belongs to (empty for services and anonymous callers).
    pub fn account(&self) -> &str {
        &self.account
    }

    /// The partition (`aws`, `aws-cn`, ...).
    pub fn partition(&self) -> &str {
        &self.partition
    }

    /// The user, role, federated user or service name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The role ARN of a role or a role session.
    pub fn role_arn(&self) -> Option<&str> {
        self.role_arn.as_deref()
    }

    /// The unique ID, when known.
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// Whether this is a service-linked role or a session of one (path `/aws-service-role/`).
    pub fn is_service_linked_role(&self) -> bool {
        matches!(self.kind, PrincipalType::Role | PrincipalType::AssumedRole)
            && self.path.starts_with("/aws-service-role/")
    }

    /// `aws:PrincipalArn`: the role ARN for sessions, the ARN otherwise.
    pub fn principal_arn(&self) -> Option<&str> {
        match self.kind {
            PrincipalType::Anonymous => None,
            PrincipalType::Service => None,
            PrincipalType::Role | PrincipalType::AssumedRole => self.role_arn.as_deref(),
            _ => Some(&self.arn),
        }
    }

    /// `aws:userid`.
    fn userid(&self) -> Option<String> {
        match self.kind {
            PrincipalType::Root => Some(self.account.to_string()),
            PrincipalType::Anonymous => Some("anonymous".into()),
            PrincipalType::FederatedUser => Some(format!("{}:{}", self.account, self.name)),
            // The role's unique ID and the session name; an ID that already has the session
            // (`AROA...:name`) is taken as the whole `aws:userid`.
            PrincipalType::AssumedRole => self.id.as_ref().map(|id| {
                if id.contains(':') {
                    id.to_string()
                } else {
                    format!("{id}:{}", self.session)
                }
            }),
            PrincipalType::User | PrincipalType::Role => self.id.as_ref().map(|id| id.to_string()),
            PrincipalType::Service => None,
        }
    }
}

/// The values of one context key.
#[derive(Clone, Debug, PartialEq)]
pub enum Values {
    /// A single-valued key.
    Single(Value),
    /// A multivalued key (possibly with no values).
    Multi(Vec<Value>),
}

impl Values {
    /// The values as a slice.
    pub fn as_slice(&self) -> &[Value] {
        match self {
            Values::Single(v) => std::slice::from_ref(v),
            Values::Multi(vs) => vs,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
struct Entry {
    key: Box<str>,
    lower: Box<str>,
    values: Values,
}

/// The context keys of a request. Key names are case-insensitive.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Context {
    entries: Vec<Entry>,
}

impl Context {
    /// An empty context.
    pub fn new() -> Context {
        Context::default()
    }

    /// Sets a key to one value, replacing any earlier values.
    pub fn set(&mut self, key: &str, value: impl Into<Value>) -> &mut Context {
        self.put(key, Values::Single(value.into()))
    }

    /// Sets a multivalued key, replacing any earlier values.
    pub fn set_multi<V: Into<Value>>(
        &mut self,
        key: &str,
        values: impl IntoIterator<Item = V>,
    ) -> &mut Context {
        self.put(
            key,
            Values::Multi(values.into_iter().map(Into::into).collect()),
        )
    }

    /// Sets a key to the given values.
    pub fn put(&mut self, key: &str, values: Values) -> &mut Context {
        let lower = key.to_ascii_lowercase();
        match self.entries.iter_mut().find(|e| *e.lower == *lower) {
            Some(e) => e.values = values,
            None => self.entries.push(Entry {
                key: key.into(),
                lower: lower.into(),
                values,
            }),
        }
        self
    }

    /// Whether the key is present (case-insensitive).
    pub fn contains(&self, key: &str) -> bool {
        self.entries.iter().any(|e| e.key.eq_ignore_ascii_case(key))
    }

    /// The values of a key given in lower case.
    pub(crate) fn get_lower(&self, lower: &str) -> Option<&Values> {
        self.entries
            .iter()
            .find(|e| e.lower.len() == lower.len() && *e.lower == *lower)
            .map(|e| &e.values)
    }

    /// The values of a key (case-insensitive).
    pub fn get(&self, key: &str) -> Option<&Values> {
        self.get_lower(&key.to_ascii_lowercase())
    }

    /// The keys and their values, in the order they were added.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Values)> {
        self.entries.iter().map(|e| (&*e.key, &e.values))
    }
}

/// Where patterns read the values of policy variables: a context, or a request (whose keys
/// derived from the principal are only worked out when a variable or condition asks).
pub(crate) trait Lookup {
    /// The values of a key given in lower case.
    fn lookup(&self, lower: &str) -> Option<&Values>;
}

impl Lookup for Context {
    fn lookup(&self, lower: &str) -> Option<&Values> {
        self.get_lower(lower)
    }
}

impl Lookup for Request {
    fn lookup(&self, lower: &str) -> Option<&Values> {
        self.context().get_lower(lower)
    }
}

/// A request to decide: principal, action, resource and context.
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    principal: RequestPrincipal,
    action: Box<str>,
    action_lower: Box<str>,
    resource: Option<Box<str>>,
    resource_account: Box<str>,
    /// The context as given (with the principal's tags).
    context: Context,
    /// The context with the keys AWS derives from the principal, made on first use: most
    /// decisions meet no condition and no variable, and never need it.
    full: std::sync::OnceLock<Context>,
    principal_has_boundary: bool,
    /// Whether the caller's context gave `aws:ResourceAccount` (else it is derived).
    resource_account_given: bool,
}

impl Request {
    /// A request for an action on a resource ARN (`None` or `*` for an action that has no
    /// resource). The resource account is the resource ARN's account when that is a 12-digit
    /// account ID, else the principal's.
    /// Keys AWS derives from the principal are added to the context unless it has them.
    pub fn new(
        principal: RequestPrincipal,
        action: &str,
        resource: Option<&str>,
        context: Context,
    ) -> Request {
        let resource = resource.filter(|r| *r != "*").map(Box::<str>::from);
        // Only a 12-digit account field names an owner account: AWS-owned resources (`aws`,
        // or an empty field) and patterns (`*`) are not another account's.
        let resource_account = resource
            .as_deref()
            .and_then(|r| r.split(':').nth(4))
            .filter(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))
            .unwrap_or(principal.account())
            .into();
        Request {
            action_lower: action.to_ascii_lowercase().into(),
            action: action.into(),
            resource,
            resource_account,
            principal,
            resource_account_given: context.contains("aws:ResourceAccount"),
            context,
            full: std::sync::OnceLock::new(),
            principal_has_boundary: false,
        }
    }

    /// Sets the account that owns the resource.
    pub fn with_resource_account(mut self, account: &str) -> Request {
        self.resource_account = account.into();
        if !self.resource_account_given {
            self.context.set("aws:ResourceAccount", account);
        }
        self.full = std::sync::OnceLock::new();
        self
    }

    /// Adds the principal's tags (`aws:PrincipalTag/KEY`), unless the context has them.
    pub fn with_principal_tags<'t>(
        mut self,
        tags: impl IntoIterator<Item = (&'t str, &'t str)>,
    ) -> Request {
        for (k, v) in tags {
            let key = format!("aws:PrincipalTag/{k}");
            if !self.context.contains(&key) {
                self.context.set(&key, v);
            }
        }
        self.full = std::sync::OnceLock::new();
        self
    }

    /// Says whether the principal has a permissions boundary (a `Deny` with `NotPrincipal`
    /// always applies to such principals).
    pub fn with_boundary(mut self, has_boundary: bool) -> Request {
        self.principal_has_boundary = has_boundary;
        self
    }

    /// The given context plus the keys AWS derives from the principal (unless given).
    fn derive_keys(&self) -> Context {
        let mut context = self.context.clone();
        let p = &self.principal;
        let mut derived: SmallVec<[(&str, String); 6]> = SmallVec::new();
        if let Some(arn) = p.principal_arn() {
            derived.push(("aws:PrincipalArn", arn.to_string()));
        }
        if !p.account().is_empty() {
            derived.push(("aws:PrincipalAccount", p.account().to_string()));
        }
        if let Some(t) = p.kind().context_value() {
            derived.push(("aws:PrincipalType", t.to_string()));
        }
        if p.kind() == PrincipalType::User {
            derived.push(("aws:username", p.name().to_string()));
        }
        if let Some(id) = p.userid() {
            derived.push(("aws:userid", id));
        }
        if p.kind() == PrincipalType::Service {
            derived.push(("aws:PrincipalServiceName", p.name().to_string()));
        }
        derived.push((
            "aws:PrincipalIsAWSService",
            (p.kind() == PrincipalType::Service).to_string(),
        ));
        if !self.resource_account.is_empty() {
            derived.push(("aws:ResourceAccount", self.resource_account.to_string()));
        }
        for (k, v) in derived {
            if !context.contains(k) {
                context.set(k, v);
            }
        }
        context
    }

    /// The principal.
    pub fn principal(&self) -> &RequestPrincipal {
        &self.principal
    }

    /// The action as given.
    pub fn action(&self) -> &str {
        &self.action
    }

    pub(crate) fn action_lower(&self) -> &str {
        &self.action_lower
    }

    /// The resource ARN, `None` for an action without a resource.
    pub fn resource(&self) -> Option<&str> {
        self.resource.as_deref()
    }

    /// The account that owns the resource.
    pub fn resource_account(&self) -> &str {
        &self.resource_account
    }

    /// The context keys, including those derived from the principal.
    pub fn context(&self) -> &Context {
        self.full.get_or_init(|| self.derive_keys())
    }

    /// Whether the principal has a permissions boundary.
    pub fn principal_has_boundary(&self) -> bool {
        self.principal_has_boundary
    }

    /// Whether the principal and the resource are in different accounts.
    pub fn is_cross_account(&self) -> bool {
        match self.principal.kind() {
            PrincipalType::Service | PrincipalType::Anonymous => false,
            _ => {
                !self.resource_account.is_empty()
                    && *self.resource_account != *self.principal.account()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn principals_read_from_arns() {
        let u = RequestPrincipal::parse("arn:aws:iam::111122223333:user/team/dev").unwrap();
        assert_eq!(
            (u.kind(), u.name(), &*u.path),
            (PrincipalType::User, "dev", "/team/")
        );
        let s = RequestPrincipal::parse("arn:aws:sts::111122223333:assumed-role/R/s1").unwrap();
        assert_eq!(s.principal_arn(), Some("arn:aws:iam::111122223333:role/R"));
        let slr = RequestPrincipal::parse(
            "arn:aws:iam::111122223333:role/aws-service-role/q.amazonaws.com/AWSServiceRoleForAmazonQDeveloper",
        )
        .unwrap();
        assert!(slr.is_service_linked_role());
        assert_eq!(
            RequestPrincipal::parse("q.amazonaws.com").unwrap().kind(),
            PrincipalType::Service
        );
        assert!(RequestPrincipal::parse("arn:aws:iam::12:user/x").is_err());
        assert!(RequestPrincipal::parse("arn:aws:sts::111122223333:assumed-role/R").is_err());
    }

    #[test]
    fn derived_keys() {
        let p = RequestPrincipal::parse("arn:aws:iam::111122223333:user/dev")
            .unwrap()
            .with_id("AIDAEXAMPLE");
        let r = Request::new(p, "q:SendMessage", None, Context::new());
        let get = |k: &str| {
            r.context()
                .get(k)
                .map(|v| v.as_slice()[0].text().to_string())
        };
        assert_eq!(get("AWS:USERNAME").as_deref(), Some("dev"));
        assert_eq!(get("aws:userid").as_deref(), Some("AIDAEXAMPLE"));
        assert_eq!(get("aws:PrincipalType").as_deref(), Some("User"));
        assert_eq!(get("aws:ResourceAccount").as_deref(), Some("111122223333"));
        let r = r.with_resource_account("444455556666");
        let get = |k: &str| {
            r.context()
                .get(k)
                .map(|v| v.as_slice()[0].text().to_string())
        };
        assert_eq!(get("aws:ResourceAccount").as_deref(), Some("444455556666"));
        assert!(r.is_cross_account());
    }
}
