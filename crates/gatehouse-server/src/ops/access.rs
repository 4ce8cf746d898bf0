//! Last-accessed details: GenerateServiceLastAccessedDetails records a job for a user, group
//! or role; GetServiceLastAccessedDetails answers it from the activity the server recorded
//! (every decision it made), for every service the identity's policies allow.

use super::{Call, Reply, enum_error};
use crate::xml::Element;

pub(crate) async fn generate_service_last_accessed_details(call: &Call<'_>) -> Reply {
    let arn = call.required("Arn")?;
    let granularity = match call.get("Granularity") {
        None | Some("SERVICE_LEVEL") => "SERVICE_LEVEL",
        Some("ACTION_LEVEL") => "ACTION_LEVEL",
        Some(other) => {
            return Err(enum_error(
                "granularity",
                other,
                "[SERVICE_LEVEL, ACTION_LEVEL]",
            ));
        }
    };
    call.allow(arn).await?;
    let id = call
        .store()
        .create_access_job(call.account(), arn, granularity)
        .await?;
    let mut out = Element::new();
    out.text("JobId", &id);
    Ok(Some(out))
}

pub(crate) async fn get_service_last_accessed_details(call: &Call<'_>) -> Reply {
    let id = call.required("JobId")?;
    call.allow("*").await?;
    let job = call.store().access_job(call.account(), id).await?;
    let services = call.store().last_accessed(call.account(), &job.arn).await?;
    let page = call.page(&services)?;
    let action_level = job.granularity == "ACTION_LEVEL";
    let mut out = Element::new();
    out.text("JobStatus", "COMPLETED");
    out.text("JobType", &job.granularity);
    out.time("JobCreationDate", job.created_at);
    out.list("ServicesLastAccessed", page.items, |e, s| {
        e.text("ServiceName", &s.name);
        if let Some(t) = s.last_authenticated {
            e.time("LastAuthenticated", t);
        }
        e.text("ServiceNamespace", &s.namespace);
        e.opt("LastAuthenticatedEntity", s.last_entity.as_deref());
        if s.last_authenticated.is_some() {
            e.text("LastAuthenticatedRegion", "us-east-1");
        }
        e.int("TotalAuthenticatedEntities", s.entities);
        if action_level {
            e.list(
                "TrackedActionsLastAccessed",
                &s.actions,
                |a, (name, t, who)| {
                    a.text("ActionName", name);
                    a.text("LastAccessedEntity", who);
                    a.time("LastAccessedTime", *t);
                    a.text("LastAccessedRegion", "us-east-1");
                },
            );
        }
    });
    out.time("JobCompletionDate", job.created_at);
    page.write(&mut out);
    Ok(Some(out))
}
